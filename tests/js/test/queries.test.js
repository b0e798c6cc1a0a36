'use strict';
// Parse.Query through the JS SDK: constraints, ordering, paging, first, count.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, createClass } = require('../helpers/parse');

useServer({ before, after });

const PEOPLE = [
  { name: 'alice', age: 30, team: 'red', nick: 'al', born: '1994-03-01T00:00:00.000Z' },
  { name: 'bob', age: 25, team: 'blue', nick: 'bobby', born: '1999-07-15T12:00:00.000Z' },
  { name: 'carol', age: 35, team: 'red', born: '1989-01-20T08:30:00.000Z' },
  { name: 'dave', age: 25, team: 'green', born: '1999-11-02T00:00:00.000Z' },
  { name: 'erin', age: 40, team: 'blue', nick: 'e', born: '1984-05-05T05:05:05.005Z' },
  { name: 'frank', age: 30, team: 'red', born: '1994-12-31T23:59:59.999Z' },
  { name: 'grace', age: 22, team: 'green', born: '2002-02-02T00:00:00.000Z' },
  { name: 'heidi', age: 35, team: 'blue', born: '1989-06-06T00:00:00.000Z' },
  { name: 'ivan', age: 50, team: 'red', nick: 'iv', born: '1974-04-04T00:00:00.000Z' },
  { name: 'judy', age: 28, team: 'green', born: '1996-08-08T00:00:00.000Z' },
  { name: 'mallory', age: 45, team: 'blue', born: '1979-09-09T00:00:00.000Z' },
  { name: 'oscar', age: 30, team: 'red', born: '1994-10-10T00:00:00.000Z' },
];

const CLS = 'Person';
const q = () => new Parse.Query(CLS);
const names = results => results.map(o => o.get('name')).sort();
const orderedNames = results => results.map(o => o.get('name'));
const expectNames = pred => PEOPLE.filter(pred).map(p => p.name).sort();

async function findNames(query) {
  return names(await query.limit(1000).find());
}

describe('queries', () => {
  const saved = new Map();

  before(async () => {
    await createClass(CLS);
    // Saved one after another so that createdAt follows the array order.
    for (const p of PEOPLE) {
      const o = new Parse.Object(CLS);
      o.set({ ...p, born: new Date(p.born) });
      await o.save();
      saved.set(p.name, o);
    }
  });

  describe('find / first / count', () => {
    it('find returns every object with its fields', async () => {
      const all = await q().find();
      assert.equal(all.length, PEOPLE.length);
      assert.deepEqual(names(all), PEOPLE.map(p => p.name).sort());
      const alice = all.find(o => o.get('name') === 'alice');
      assert.equal(alice.id, saved.get('alice').id);
      assert.equal(alice.get('age'), 30);
      assert.equal(alice.get('team'), 'red');
      assert.ok(alice.get('born') instanceof Date);
      assert.equal(alice.get('born').toISOString(), '1994-03-01T00:00:00.000Z');
      assert.ok(alice.createdAt instanceof Date);
    });

    it('first returns one matching object, or undefined', async () => {
      const first = await q().ascending('name').first();
      assert.ok(first instanceof Parse.Object);
      assert.equal(first.get('name'), 'alice');
      const oldest = await q().descending('age').first();
      assert.equal(oldest.get('name'), 'ivan');
      const none = await q().equalTo('name', 'nobody').first();
      assert.equal(none, undefined);
    });

    it('count counts matching objects', async () => {
      assert.equal(await q().count(), 12);
      assert.equal(await q().equalTo('team', 'red').count(), 5);
      assert.equal(await q().greaterThan('age', 100).count(), 0);
    });

    it('withCount: count ignores limit and skip', async () => {
      const res = await q().ascending('name').limit(2).skip(1).withCount().find();
      assert.equal(res.count, 12);
      assert.deepEqual(orderedNames(res.results), ['bob', 'carol']);
    });

    it('get by objectId and equalTo objectId', async () => {
      const id = saved.get('heidi').id;
      const got = await q().get(id);
      assert.equal(got.get('name'), 'heidi');
      const byEq = await q().equalTo('objectId', id).find();
      assert.deepEqual(names(byEq), ['heidi']);
      const ids = [saved.get('bob').id, saved.get('judy').id, 'zzzzzzzzzz'];
      assert.deepEqual(await findNames(q().containedIn('objectId', ids)), ['bob', 'judy']);
    });
  });

  describe('constraints', () => {
    it('equalTo on a string field', async () => {
      assert.deepEqual(await findNames(q().equalTo('team', 'red')), expectNames(p => p.team === 'red'));
      assert.deepEqual(await findNames(q().equalTo('name', 'grace')), ['grace']);
      assert.deepEqual(await findNames(q().equalTo('team', 'purple')), []);
    });

    it('equalTo on a number field and on two fields at once', async () => {
      assert.deepEqual(await findNames(q().equalTo('age', 30)), ['alice', 'frank', 'oscar']);
      assert.deepEqual(await findNames(q().equalTo('age', 35).equalTo('team', 'blue')), ['heidi']);
    });

    it('equalTo on a Date field', async () => {
      const d = new Date('1999-11-02T00:00:00.000Z');
      assert.deepEqual(await findNames(q().equalTo('born', d)), ['dave']);
    });

    it('lessThan / lessThanOrEqualTo', async () => {
      assert.deepEqual(await findNames(q().lessThan('age', 28)), expectNames(p => p.age < 28));
      assert.deepEqual(await findNames(q().lessThanOrEqualTo('age', 28)), expectNames(p => p.age <= 28));
    });

    it('greaterThan / greaterThanOrEqualTo', async () => {
      assert.deepEqual(await findNames(q().greaterThan('age', 40)), expectNames(p => p.age > 40));
      assert.deepEqual(await findNames(q().greaterThanOrEqualTo('age', 40)), expectNames(p => p.age >= 40));
    });

    it('range: greaterThan and lessThan on the same key', async () => {
      const got = await findNames(q().greaterThan('age', 25).lessThan('age', 35));
      assert.deepEqual(got, expectNames(p => p.age > 25 && p.age < 35));
    });

    it('comparisons on strings and Dates', async () => {
      assert.deepEqual(await findNames(q().lessThan('name', 'c')), ['alice', 'bob']);
      assert.deepEqual(await findNames(q().greaterThanOrEqualTo('name', 'judy')), ['judy', 'mallory', 'oscar']);
      const cut = new Date('1990-01-01T00:00:00.000Z');
      assert.deepEqual(await findNames(q().lessThan('born', cut)), expectNames(p => new Date(p.born) < cut));
      assert.deepEqual(
        await findNames(q().greaterThanOrEqualTo('born', new Date('1999-07-15T12:00:00.000Z'))),
        ['bob', 'dave', 'grace'],
      );
    });

    it('comparisons on createdAt', async () => {
      const t = saved.get('grace').createdAt;
      const expected = [...saved.entries()].filter(([, o]) => o.createdAt.getTime() >= t.getTime()).map(([n]) => n).sort();
      assert.ok(expected.includes('oscar'));
      assert.deepEqual(await findNames(q().greaterThanOrEqualTo('createdAt', t)), expected);
      const older = await findNames(q().lessThan('createdAt', saved.get('alice').createdAt));
      assert.deepEqual(older, []);
    });

    it('notEqualTo (also matches objects without the field)', async () => {
      assert.deepEqual(await findNames(q().notEqualTo('team', 'red')), expectNames(p => p.team !== 'red'));
      assert.deepEqual(await findNames(q().notEqualTo('nick', 'al')), expectNames(p => p.nick !== 'al'));
      assert.equal((await findNames(q().notEqualTo('nick', 'al'))).length, 11);
    });

    it('containedIn', async () => {
      assert.deepEqual(
        await findNames(q().containedIn('team', ['blue', 'green'])),
        expectNames(p => p.team === 'blue' || p.team === 'green'),
      );
      assert.deepEqual(await findNames(q().containedIn('age', [22, 50, 99])), ['grace', 'ivan']);
      assert.deepEqual(await findNames(q().containedIn('name', ['nobody'])), []);
    });

    it('notContainedIn', async () => {
      assert.deepEqual(await findNames(q().notContainedIn('team', ['red', 'blue'])), ['dave', 'grace', 'judy']);
      assert.deepEqual(await findNames(q().notContainedIn('age', [25, 30, 35])), expectNames(p => ![25, 30, 35].includes(p.age)));
    });

    it('notContainedIn also matches objects without the field', async () => {
      assert.deepEqual(await findNames(q().notContainedIn('nick', ['al', 'e'])), expectNames(p => !['al', 'e'].includes(p.nick)));
      assert.equal(await q().notContainedIn('nick', ['al', 'e']).count(), 10);
    });

    it('exists / doesNotExist', async () => {
      assert.deepEqual(await findNames(q().exists('nick')), ['alice', 'bob', 'erin', 'ivan']);
      assert.deepEqual(await findNames(q().doesNotExist('nick')), expectNames(p => p.nick === undefined));
      assert.equal(await q().doesNotExist('nick').count(), 8);
    });

    it('Parse.Query.or', async () => {
      const got = await findNames(Parse.Query.or(q().equalTo('team', 'green'), q().greaterThanOrEqualTo('age', 45)));
      assert.deepEqual(got, expectNames(p => p.team === 'green' || p.age >= 45));
      assert.deepEqual(got, ['dave', 'grace', 'ivan', 'judy', 'mallory']);
    });

    it('Parse.Query.or combined with another constraint', async () => {
      const either = Parse.Query.or(q().equalTo('name', 'alice'), q().equalTo('name', 'bob'), q().equalTo('name', 'carol'));
      either.equalTo('team', 'red');
      assert.deepEqual(await findNames(either), ['alice', 'carol']);
    });

    it('Parse.Query.and', async () => {
      const got = await findNames(Parse.Query.and(q().equalTo('team', 'red'), q().lessThan('age', 35)));
      assert.deepEqual(got, ['alice', 'frank', 'oscar']);
    });

    it('Parse.Query.nor', async () => {
      const got = await findNames(Parse.Query.nor(q().equalTo('team', 'red'), q().lessThan('age', 30)));
      assert.deepEqual(got, expectNames(p => !(p.team === 'red' || p.age < 30)));
      assert.deepEqual(got, ['erin', 'heidi', 'mallory']);
    });

    it('Parse.Query.and of an or', async () => {
      const young = Parse.Query.or(q().lessThan('age', 26), q().exists('nick'));
      const got = await findNames(Parse.Query.and(young, q().notEqualTo('team', 'blue')));
      assert.deepEqual(got, expectNames(p => (p.age < 26 || p.nick !== undefined) && p.team !== 'blue'));
    });
  });

  describe('array fields', () => {
    before(async () => {
      await createClass('Tagged');
      const rows = [
        ['t1', ['x', 'y']],
        ['t2', ['y', 'z']],
        ['t3', ['z']],
        ['t4', []],
      ];
      for (const [name, tags] of rows) {
        const o = new Parse.Object('Tagged');
        await o.save({ name, tags });
      }
    });
    const tq = () => new Parse.Query('Tagged');

    it('equalTo a scalar on an array field means "array contains"', async () => {
      assert.deepEqual(await findNames(tq().equalTo('tags', 'y')), ['t1', 't2']);
      assert.deepEqual(await findNames(tq().equalTo('tags', 'z')), ['t2', 't3']);
      assert.deepEqual(await findNames(tq().equalTo('tags', 'nope')), []);
    });

    it('containedIn on an array field matches any element', async () => {
      assert.deepEqual(await findNames(tq().containedIn('tags', ['x', 'z'])), ['t1', 't2', 't3']);
    });

    it('containsAll on an array field', async () => {
      assert.deepEqual(await findNames(tq().containsAll('tags', ['y', 'z'])), ['t2']);
    });
  });

  describe('ordering and paging', () => {
    const sortBy = (...keys) => [...PEOPLE].sort((a, b) => {
      for (const k of keys) {
        const desc = k.startsWith('-');
        const f = desc ? k.slice(1) : k;
        if (a[f] < b[f]) return desc ? 1 : -1;
        if (a[f] > b[f]) return desc ? -1 : 1;
      }
      return 0;
    }).map(p => p.name);

    it('ascending / descending on one key', async () => {
      assert.deepEqual(orderedNames(await q().ascending('name').find()), sortBy('name'));
      assert.deepEqual(orderedNames(await q().descending('name').find()), sortBy('-name'));
    });

    it('several keys: ascending + addAscending, descending + addAscending', async () => {
      assert.deepEqual(orderedNames(await q().ascending('age').addAscending('name').find()), sortBy('age', 'name'));
      assert.deepEqual(orderedNames(await q().descending('age').addAscending('name').find()), sortBy('-age', 'name'));
      assert.deepEqual(orderedNames(await q().ascending('team').addDescending('age').addAscending('name').find()), sortBy('team', '-age', 'name'));
    });

    it('ascending(a, b) with several keys in one call', async () => {
      assert.deepEqual(orderedNames(await q().ascending('team', 'name').find()), sortBy('team', 'name'));
    });

    it('ordering by a Date field and by createdAt', async () => {
      assert.deepEqual(orderedNames(await q().ascending('born').find()), sortBy('born'));
      const byCreated = await q().ascending('createdAt').find();
      const times = byCreated.map(o => o.createdAt.getTime());
      for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] <= times[i], 'createdAt ascending');
      const byCreatedDesc = await q().descending('createdAt').find();
      const timesDesc = byCreatedDesc.map(o => o.createdAt.getTime());
      for (let i = 1; i < timesDesc.length; i++) assert.ok(timesDesc[i - 1] >= timesDesc[i], 'createdAt descending');
    });

    it('limit', async () => {
      assert.deepEqual(orderedNames(await q().ascending('name').limit(3).find()), ['alice', 'bob', 'carol']);
      assert.equal((await q().limit(5).find()).length, 5);
      assert.equal((await q().limit(1).find()).length, 1);
    });

    it('skip', async () => {
      assert.deepEqual(orderedNames(await q().ascending('name').skip(3).limit(3).find()), ['dave', 'erin', 'frank']);
      assert.deepEqual(orderedNames(await q().ascending('name').skip(10).find()), ['mallory', 'oscar']);
      assert.deepEqual(await q().ascending('name').skip(20).find(), []);
    });

    it('pages with skip/limit cover everything exactly once', async () => {
      const seen = [];
      for (let skip = 0; skip < 12; skip += 5) {
        const page = await q().descending('age').addAscending('name').skip(skip).limit(5).find();
        seen.push(...orderedNames(page));
      }
      assert.deepEqual(seen, sortBy('-age', 'name'));
    });

    it('constraints combine with order and limit', async () => {
      const got = await q().equalTo('team', 'blue').descending('age').limit(2).find();
      assert.deepEqual(orderedNames(got), ['mallory', 'erin']);
    });
  });
});
