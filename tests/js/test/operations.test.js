'use strict';
// Update operations through the JS SDK: Increment, Add, AddUnique, Remove, Delete (unset), set.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, rest, createClass } = require('../helpers/parse');

const ctx = useServer({ before, after });
const sleep = ms => new Promise(r => setTimeout(r, ms));

/** A second, independent SDK instance of the same stored object (no local data). */
function sameObject(o) {
  return Parse.Object.fromJSON({ className: o.className, objectId: o.id });
}

async function serverValue(o, key) {
  const got = await new Parse.Query(o.className).get(o.id);
  return got.get(key);
}

describe('operations: increment', () => {
  before(async () => {
    await createClass('Counter');
  });

  it('positive, negative, default and fractional amounts', async () => {
    const o = new Parse.Object('Counter');
    await o.save({ n: 5 });

    o.increment('n', 10);
    await o.save();
    assert.equal(o.get('n'), 15);
    assert.equal(await serverValue(o, 'n'), 15);

    o.increment('n', -20);
    await o.save();
    assert.equal(o.get('n'), -5);
    assert.equal(await serverValue(o, 'n'), -5);

    o.increment('n');
    await o.save();
    assert.equal(o.get('n'), -4);

    o.decrement('n', 2);
    await o.save();
    assert.equal(o.get('n'), -6);

    o.increment('n', 0.5);
    await o.save();
    assert.equal(o.get('n'), -5.5);
    assert.equal(await serverValue(o, 'n'), -5.5);
  });

  it('after save the local value is the server value, not the local estimate', async () => {
    const a = new Parse.Object('Counter');
    await a.save({ n: 1 });

    const b = sameObject(a); // knows nothing about n: its local estimate would be 100
    b.increment('n', 100);
    await b.save();
    assert.equal(b.get('n'), 101);

    a.increment('n', -1); // a's local estimate would be 0
    await a.save();
    assert.equal(a.get('n'), 100);
    assert.equal(await serverValue(a, 'n'), 100);
  });

  it('increment of a missing field starts from 0, also on create', async () => {
    const created = new Parse.Object('Counter');
    created.increment('fresh', 3);
    await created.save();
    assert.equal(created.get('fresh'), 3);
    assert.equal(await serverValue(created, 'fresh'), 3);

    const o = new Parse.Object('Counter');
    await o.save({ other: 'x' });
    const b = sameObject(o);
    b.increment('later', -7);
    await b.save();
    assert.equal(b.get('later'), -7);
    assert.equal(await serverValue(o, 'later'), -7);
  });

  it('20 parallel increments on separate instances end exact, each response distinct', async () => {
    const o = new Parse.Object('Counter');
    await o.save({ n: 1000 });
    const instances = Array.from({ length: 20 }, () => {
      const x = sameObject(o);
      x.increment('n', 1);
      return x;
    });
    await Promise.all(instances.map(x => x.save()));
    assert.equal(await serverValue(o, 'n'), 1020);
    // Each atomic increment answers with the value it produced.
    const returned = instances.map(x => x.get('n')).sort((p, q) => p - q);
    assert.deepEqual(returned, Array.from({ length: 20 }, (_, i) => 1001 + i));
  });

  it('parallel increments with mixed amounts sum exactly', async () => {
    const o = new Parse.Object('Counter');
    await o.save({ n: 0 });
    const amounts = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? -4 : i));
    await Promise.all(
      amounts.map(amount => {
        const x = sameObject(o);
        x.increment('n', amount);
        return x.save();
      }),
    );
    const expected = amounts.reduce((s, v) => s + v, 0);
    assert.equal(await serverValue(o, 'n'), expected);
    await o.fetch();
    assert.equal(o.get('n'), expected);
  });
});

describe('operations: arrays', () => {
  before(async () => {
    await createClass('Lists');
  });

  async function expectTags(o, expected) {
    assert.deepEqual(o.get('tags'), expected, 'local value after save');
    assert.deepEqual(await serverValue(o, 'tags'), expected, 'value fetched from the server');
  }

  it('add, addAll, addUnique, remove, removeAll', async () => {
    const o = new Parse.Object('Lists');
    await o.save({ tags: ['a', 'b'] });

    o.add('tags', 'c');
    await o.save();
    await expectTags(o, ['a', 'b', 'c']);

    o.add('tags', 'a'); // add keeps duplicates
    await o.save();
    await expectTags(o, ['a', 'b', 'c', 'a']);

    o.addUnique('tags', 'b'); // already present: no change
    await o.save();
    await expectTags(o, ['a', 'b', 'c', 'a']);

    o.addAllUnique('tags', ['d', 'c', 'e']);
    await o.save();
    await expectTags(o, ['a', 'b', 'c', 'a', 'd', 'e']);

    o.addAll('tags', ['e', 'f']);
    await o.save();
    await expectTags(o, ['a', 'b', 'c', 'a', 'd', 'e', 'e', 'f']);

    o.remove('tags', 'a'); // removes every occurrence
    await o.save();
    await expectTags(o, ['b', 'c', 'd', 'e', 'e', 'f']);

    o.removeAll('tags', ['e', 'not-there', 'b']);
    await o.save();
    await expectTags(o, ['c', 'd', 'f']);
  });

  it('array ops on a missing field and on create', async () => {
    const created = new Parse.Object('Lists');
    created.add('tags', 'x');
    created.addUnique('other', 1);
    await created.save();
    assert.deepEqual(await serverValue(created, 'tags'), ['x']);
    assert.deepEqual(await serverValue(created, 'other'), [1]);

    const o = new Parse.Object('Lists');
    await o.save({ name: 'no tags yet' });
    const b = sameObject(o);
    b.addUnique('tags', 'u');
    await b.save();
    assert.deepEqual(b.get('tags'), ['u']);

    const c = sameObject(o);
    c.remove('never', 'z');
    await c.save();
    const got = await new Parse.Query('Lists').get(o.id);
    assert.deepEqual(got.get('tags'), ['u']);
    assert.deepEqual(got.get('never') ?? [], []);
  });

  it('numbers and objects inside arrays: remove and addUnique compare by value', async () => {
    const o = new Parse.Object('Lists');
    await o.save({ nums: [1, 2, 3, 2], objs: [{ k: 1 }, { k: 2 }] });
    o.remove('nums', 2);
    await o.save();
    assert.deepEqual(await serverValue(o, 'nums'), [1, 3]);
    o.addUnique('objs', { k: 1 });
    await o.save();
    assert.deepEqual(await serverValue(o, 'objs'), [{ k: 1 }, { k: 2 }]);
    o.remove('objs', { k: 2 });
    await o.save();
    assert.deepEqual(await serverValue(o, 'objs'), [{ k: 1 }]);
  });

  it('the server array wins over the local estimate after concurrent adds', async () => {
    const a = new Parse.Object('Lists');
    await a.save({ tags: ['x'] });
    const b = sameObject(a);
    b.add('tags', 'y');
    await b.save();
    assert.deepEqual(b.get('tags'), ['x', 'y']);
    a.add('tags', 'z'); // a still believes tags == ['x']
    await a.save();
    assert.deepEqual(a.get('tags'), ['x', 'y', 'z']);
  });

  it('parallel adds from separate instances all land', async () => {
    const o = new Parse.Object('Lists');
    await o.save({ tags: [] });
    const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
    await Promise.all(
      values.map(v => {
        const x = sameObject(o);
        x.add('tags', v);
        return x.save();
      }),
    );
    const tags = await serverValue(o, 'tags');
    assert.deepEqual([...tags].sort(), [...values].sort());
  });
});

describe('operations: unset and set', () => {
  before(async () => {
    await createClass('Thing');
  });

  it('unset removes the field', async () => {
    const o = new Parse.Object('Thing');
    await o.save({ label: 'here', keep: 1 });
    o.unset('label');
    await o.save();
    assert.equal(o.has('label'), false);

    const got = await new Parse.Query('Thing').get(o.id);
    assert.equal(got.has('label'), false);
    assert.equal(got.get('keep'), 1);

    const fetched = sameObject(o);
    await fetched.fetch();
    assert.equal(fetched.has('label'), false);
    assert.equal(fetched.get('keep'), 1);

    const raw = await rest(ctx.server, 'GET', `/classes/Thing/${o.id}`);
    assert.equal(raw.status, 200);
    assert.equal(Object.hasOwn(raw.body, 'label'), false, `raw body still has label: ${raw.text}`);
  });

  it('setting a field to a new value (scalar, object, array) replaces it', async () => {
    const o = new Parse.Object('Thing');
    await o.save({ label: 'old', meta: { a: 1, b: 2 }, list: [1, 2, 3] });
    const createdAt = o.createdAt;
    await sleep(5);
    o.set('label', 'new');
    o.set('meta', { c: 3 });
    o.set('list', ['only']);
    await o.save();
    assert.ok(o.updatedAt.getTime() > createdAt.getTime(), 'updatedAt moves forward');

    const got = await new Parse.Query('Thing').get(o.id);
    assert.equal(got.get('label'), 'new');
    assert.deepEqual(got.get('meta'), { c: 3 });
    assert.deepEqual(got.get('list'), ['only']);
    assert.equal(got.createdAt.getTime(), createdAt.getTime(), 'createdAt never changes');
    assert.equal(got.updatedAt.getTime(), o.updatedAt.getTime());
  });

  it('a field can be set again after being unset', async () => {
    const o = new Parse.Object('Thing');
    await o.save({ label: 'one' });
    o.unset('label');
    await o.save();
    o.set('label', 'two');
    await o.save();
    assert.equal(await serverValue(o, 'label'), 'two');
  });

  it('fetch picks up changes made by another instance', async () => {
    const a = new Parse.Object('Thing');
    await a.save({ label: 'mine', n: 1 });
    const b = sameObject(a);
    b.set('label', 'theirs');
    b.unset('n');
    await b.save();
    await a.fetch();
    assert.equal(a.get('label'), 'theirs');
    assert.equal(a.has('n'), false);
  });
});
