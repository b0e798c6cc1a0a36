'use strict';
// Parse.Config through the JS SDK: save with the master key (with master-key-only params),
// get as a client and as the master, values of Parse types. (Parse.Config.save always sends
// the master key; a client's PUT /config is refused in tests/config.rs.)

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer } = require('../helpers/parse');

useServer({ before, after });

describe('Parse.Config', () => {
  it('save, then get as a client and with the master key', async () => {
    const when = new Date('2021-02-03T04:05:06.789Z');
    const saved = await Parse.Config.save(
      { greeting: 'hello', limit: 7, when, place: new Parse.GeoPoint(10, 20), secret: 'x' },
      { secret: true },
    );
    assert.equal(saved.get('greeting'), 'hello');

    const config = await Parse.Config.get();
    assert.equal(config.get('greeting'), 'hello');
    assert.equal(config.get('limit'), 7);
    assert.equal(config.get('when').toISOString(), when.toISOString());
    assert.equal(config.get('place').latitude, 10);
    assert.equal(config.get('secret'), undefined, 'master-key-only params are hidden');

    const master = await Parse.Config.get({ useMasterKey: true });
    assert.equal(master.get('secret'), 'x');
  });
});
