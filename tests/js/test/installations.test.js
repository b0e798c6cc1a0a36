'use strict';
// Parse.Installation through the JS SDK: the current installation saved under the SDK's
// installation id and updated by the client, save/fetch/update of others, a second save of the same installation id merging into the first, queries with the
// master key, and a client's find refused (119), as in Parse Server.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Parse, useServer, rest, rejectsWithCode, OBJECT_ID_RE } = require('../helpers/parse');

const ctx = useServer({ before, after });

const TOKEN = '0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef';

describe('Parse.Installation', () => {
  // First: every Parse.Installation save becomes the SDK's current installation afterwards.
  it('the current installation saves under the SDK installation id', async () => {
    const current = await Parse.Installation.currentInstallation();
    await current.save();
    assert.match(current.id, OBJECT_ID_RE);
    const stored = await new Parse.Query(Parse.Installation).get(current.id, { useMasterKey: true });
    assert.equal(stored.get('installationId'), current.get('installationId'));
    assert.equal(stored.get('deviceType'), 'web');

    // A client updates its own installation.
    current.addUnique('channels', 'Giants');
    current.increment('badge');
    await current.save();
    const again = await new Parse.Query(Parse.Installation).get(current.id, { useMasterKey: true });
    assert.deepEqual(again.get('channels'), ['Giants']);
    assert.equal(again.get('badge'), 1);
    await rejectsWithCode(current.save({ deviceType: 'android' }), 136);
  });

  it('save, fetch and update', async () => {
    const iid = crypto.randomUUID();
    const inst = new Parse.Installation();
    await inst.save({ installationId: iid.toUpperCase(), deviceType: 'ios', deviceToken: TOKEN, channels: [''] });
    assert.match(inst.id, OBJECT_ID_RE);

    const fetched = await Parse.Installation.createWithoutData(inst.id).fetch();
    assert.equal(fetched.get('installationId'), iid, 'installationId lowercased');
    assert.equal(fetched.get('deviceToken'), TOKEN.toLowerCase(), '64-character token lowercased');
    assert.deepEqual(fetched.get('channels'), ['']);

    // The SDK sends its own installation id with every request; Parse Server then saves to
    // the installation holding that id, so another installation is updated with the master key.
    fetched.addUnique('channels', 'Giants');
    await fetched.save(null, { useMasterKey: true });
    const again = await new Parse.Query(Parse.Installation).get(inst.id, { useMasterKey: true });
    assert.deepEqual(again.get('channels'), ['', 'Giants']);
  });

  it('a second save of the same installation id updates the first', async () => {
    const iid = crypto.randomUUID();
    const first = await new Parse.Installation().save({ installationId: iid, deviceType: 'android' });
    const second = await new Parse.Installation().save({ installationId: iid, appVersion: '2.0' });
    assert.equal(second.get('appVersion'), '2.0');
    const found = await new Parse.Query(Parse.Installation)
      .equalTo('installationId', iid)
      .find({ useMasterKey: true });
    assert.equal(found.length, 1);
    assert.equal(found[0].id, first.id);
    assert.equal(found[0].get('appVersion'), '2.0');
  });

  it('queries need the master key', async () => {
    const iid = crypto.randomUUID();
    await new Parse.Installation().save({ installationId: iid, deviceType: 'ios', channels: ['Mets'] });
    const err = await rejectsWithCode(new Parse.Query(Parse.Installation).find(), 119);
    assert.equal(err.message, "Clients aren't allowed to perform the find operation on the installation collection.");
    await rejectsWithCode(new Parse.Query(Parse.Installation).count(), 119);

    const subscribers = await new Parse.Query(Parse.Installation)
      .equalTo('channels', 'Mets')
      .find({ useMasterKey: true });
    assert.deepEqual(subscribers.map(i => i.get('installationId')), [iid]);
    assert.equal(await new Parse.Query(Parse.Installation).equalTo('channels', 'Mets').count({ useMasterKey: true }), 1);

    const res = await rest(ctx.server, 'GET', '/installations', undefined, { master: true });
    assert.equal(res.status, 200);
    assert.ok(res.body.results.length >= 1);
  });

  it('a client may not destroy an installation; the master key may', async () => {
    const inst = await new Parse.Installation().save({ installationId: crypto.randomUUID(), deviceType: 'ios' });
    await rejectsWithCode(inst.destroy(), 119);
    await inst.destroy({ useMasterKey: true });
    await rejectsWithCode(new Parse.Query(Parse.Installation).get(inst.id, { useMasterKey: true }), 101);
  });
});
