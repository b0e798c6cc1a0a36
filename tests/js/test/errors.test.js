'use strict';
// Errors as Parse Server reports them, seen through the JS SDK (Parse.Error codes).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, configureParse, rest, createClass, rejectsWithCode } = require('../helpers/parse');

const ctx = useServer({ before, after });

describe('errors', () => {
  before(async () => {
    await createClass('Typed');
    await createClass('Keys');
  });

  describe('invalid field names (105 INVALID_KEY_NAME)', () => {
    it('create with key "1abc" is rejected by the server', async () => {
      const o = new Parse.Object('Keys');
      o.set('good', 1);
      // The SDK validates key names itself; bypass that so the server sees the key.
      o.set('1abc', 1, { ignoreValidation: true });
      await rejectsWithCode(o.save(), Parse.Error.INVALID_KEY_NAME);
      assert.equal(o.id, undefined);
      assert.equal(await new Parse.Query('Keys').equalTo('good', 1).count(), 0, 'nothing was stored');
    });

    it('create with key "bad-key" is rejected', async () => {
      const o = new Parse.Object('Keys');
      o.set('bad-key', 'x', { ignoreValidation: true });
      await rejectsWithCode(o.save(), Parse.Error.INVALID_KEY_NAME);
    });

    it('update with key "1abc" is rejected and the object is unchanged', async () => {
      const o = new Parse.Object('Keys');
      await o.save({ good: 2 });
      o.set('good', 3);
      o.set('1abc', 1, { ignoreValidation: true });
      await rejectsWithCode(o.save(), Parse.Error.INVALID_KEY_NAME);
      const got = await new Parse.Query('Keys').get(o.id);
      assert.equal(got.get('good'), 2);
      assert.equal(got.has('1abc'), false);
    });

    it('the SDK itself refuses to set an invalid key', () => {
      const o = new Parse.Object('Keys');
      assert.throws(() => o.set('1abc', 1), err => err instanceof Parse.Error && err.code === Parse.Error.INVALID_KEY_NAME);
    });
  });

  describe('type conflicts (111 INCORRECT_TYPE)', () => {
    it('a number into a field created as a string', async () => {
      const first = new Parse.Object('Typed');
      await first.save({ f: 'a string' });
      const second = new Parse.Object('Typed');
      second.set('f', 42);
      await rejectsWithCode(second.save(), Parse.Error.INCORRECT_TYPE);
      assert.equal(second.id, undefined);
      assert.equal(await new Parse.Query('Typed').count(), 1, 'the conflicting object was not stored');
    });

    it('updating an existing object with the wrong type', async () => {
      const o = new Parse.Object('Typed');
      await o.save({ f: 'text', n: 1 });
      o.set('n', 'one');
      await rejectsWithCode(o.save(), Parse.Error.INCORRECT_TYPE);
      const got = await new Parse.Query('Typed').get(o.id);
      assert.equal(got.get('n'), 1);
    });

    it('other conflicts: Date field gets a string, string field gets a GeoPoint / Array / Boolean', async () => {
      const o = new Parse.Object('Typed');
      await o.save({ f: 'text', when: new Date('2020-01-01T00:00:00.000Z') });
      const cases = [
        ['when', 'yesterday'],
        ['f', new Parse.GeoPoint(1, 2)],
        ['f', ['a']],
        ['f', true],
        ['f', { nested: 1 }],
      ];
      for (const [key, value] of cases) {
        const x = new Parse.Object('Typed');
        x.set(key, value);
        await rejectsWithCode(x.save(), Parse.Error.INCORRECT_TYPE, `${key}=${JSON.stringify(value)}: `);
      }
    });

    it('an increment on a string field', async () => {
      const o = new Parse.Object('Typed');
      await o.save({ f: 'text' });
      // A fresh instance without local data, so the SDK does not refuse the increment itself.
      const other = Parse.Object.fromJSON({ className: 'Typed', objectId: o.id });
      other.increment('f');
      await rejectsWithCode(other.save(), Parse.Error.INCORRECT_TYPE);
      const got = await new Parse.Query('Typed').get(o.id);
      assert.equal(got.get('f'), 'text');
    });

    it('the type of a field is fixed by its first non-null value', async () => {
      const a = new Parse.Object('Typed');
      await a.save({ late: null });
      const b = new Parse.Object('Typed');
      await b.save({ late: 7 }); // null did not fix the type
      const c = new Parse.Object('Typed');
      c.set('late', 'seven');
      await rejectsWithCode(c.save(), Parse.Error.INCORRECT_TYPE);
    });
  });

  describe('invalid class names', () => {
    // The guide's InvalidClassName (103), with Parse Server's own message for it. (Parse
    // Server 9 reports 107 "schema class name does not revalidate" here, an artefact of its
    // schema cache; 103 is the documented code and the one its /schemas API gives.)
    it('new Parse.Object("1bad") cannot be saved (master key): 103, nothing stored', async () => {
      const o = new Parse.Object('1bad');
      o.set('x', 1);
      await rejectsWithCode(o.save(null, { useMasterKey: true }), Parse.Error.INVALID_CLASS_NAME);
      assert.equal(o.id, undefined);
      const r = await rest(ctx.server, 'GET', '/classes/1bad', undefined, { master: true });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.code, Parse.Error.INVALID_CLASS_NAME);
    });

    it('class names with other invalid characters (master key)', async () => {
      for (const name of ['bad-name', '_NotASystemClass']) {
        const o = new Parse.Object(name);
        o.set('x', 1);
        await rejectsWithCode(o.save(null, { useMasterKey: true }), Parse.Error.INVALID_CLASS_NAME, `${name}: `);
      }
    });
  });

  describe('class creation by clients (allowClientClassCreation defaults to false)', () => {
    it('a client save to a class that does not exist is rejected with 119', async () => {
      const o = new Parse.Object('NeverCreatedByClient');
      o.set('x', 1);
      await rejectsWithCode(o.save(), Parse.Error.OPERATION_FORBIDDEN);
      const found = await new Parse.Query('NeverCreatedByClient').find({ useMasterKey: true });
      assert.deepEqual(found, []);
    });

    it('a client query on a class that does not exist is rejected with 119; master gets []', async () => {
      await rejectsWithCode(new Parse.Query('NoSuchClassAtAll').find(), Parse.Error.OPERATION_FORBIDDEN);
      const masterResults = await new Parse.Query('NoSuchClassAtAll').find({ useMasterKey: true });
      assert.deepEqual(masterResults, []);
    });

    it('the master key can create a class and clients may then use it', async () => {
      const o = new Parse.Object('MasterMade');
      await o.save({ x: 1 }, { useMasterKey: true });
      const c = new Parse.Object('MasterMade');
      await c.save({ x: 2, newField: 'clients may add fields' });
      assert.equal(await new Parse.Query('MasterMade').count(), 2);
    });
  });

  describe('keys', () => {
    it('a wrong javascript key is rejected with "unauthorized"', async () => {
      configureParse(ctx.server, { javascriptKey: 'definitely-wrong' });
      try {
        for (const attempt of [
          () => new Parse.Object('Typed').save({ f: 'nope' }),
          () => new Parse.Query('Typed').find(),
        ]) {
          let err;
          try {
            await attempt();
          } catch (e) {
            err = e;
          }
          assert.ok(err instanceof Parse.Error, `expected a Parse.Error, got ${err}`);
          assert.equal(err.message, 'unauthorized');
        }
      } finally {
        configureParse(ctx.server);
      }
      assert.equal(await new Parse.Query('Typed').equalTo('f', 'nope').count(), 0);
    });

    it('a wrong application id is rejected with "unauthorized"', async () => {
      Parse.initialize('no-such-app', ctx.server.javascriptKey, ctx.server.masterKey);
      Parse.serverURL = `${ctx.server.url}/parse`;
      let err;
      try {
        await new Parse.Query('Typed').find();
      } catch (e) {
        err = e;
      } finally {
        configureParse(ctx.server);
      }
      assert.ok(err instanceof Parse.Error, `expected a Parse.Error, got ${err}`);
      assert.equal(err.message, 'unauthorized');
    });

    it('the master key through the SDK (useMasterKey) works', async () => {
      const o = new Parse.Object('Typed');
      await o.save({ f: 'by master' }, { useMasterKey: true });
      const got = await new Parse.Query('Typed').get(o.id, { useMasterKey: true });
      assert.equal(got.get('f'), 'by master');
    });
  });

  describe('object not found (101 OBJECT_NOT_FOUND)', () => {
    it('fetch of an id that never existed', async () => {
      const ghost = Parse.Object.fromJSON({ className: 'Typed', objectId: 'AbCdE12345' });
      await rejectsWithCode(ghost.fetch(), Parse.Error.OBJECT_NOT_FOUND);
    });

    it('Query.get of an id that never existed', async () => {
      await rejectsWithCode(new Parse.Query('Typed').get('AbCdE12345'), Parse.Error.OBJECT_NOT_FOUND);
    });

    it('update of an id that never existed', async () => {
      const ghost = Parse.Object.fromJSON({ className: 'Typed', objectId: 'AbCdE12345' });
      ghost.set('f', 'x');
      await rejectsWithCode(ghost.save(), Parse.Error.OBJECT_NOT_FOUND);
      assert.equal(await new Parse.Query('Typed').equalTo('objectId', 'AbCdE12345').count(), 0, 'update did not create it');
    });

    it('destroy of an id that never existed', async () => {
      const ghost = Parse.Object.fromJSON({ className: 'Typed', objectId: 'AbCdE12345' });
      await rejectsWithCode(ghost.destroy(), Parse.Error.OBJECT_NOT_FOUND);
    });

    it('GET answers HTTP 404 with {code:101, error:"Object not found."}', async () => {
      const r = await rest(ctx.server, 'GET', '/classes/Typed/AbCdE12345');
      assert.equal(r.status, 404);
      assert.deepEqual(r.body, { code: 101, error: 'Object not found.' });
    });
  });
});
