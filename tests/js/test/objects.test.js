'use strict';
// Object create / fetch round trips of every value type through the JS SDK.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, rest, createClass, rejectsWithCode, OBJECT_ID_RE, ISO_RE } = require('../helpers/parse');

const ctx = useServer({ before, after });

const WHEN = new Date('2024-05-06T07:08:09.123Z');
const SQUARE_CLOSED = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]];
const BYTES_B64 = Buffer.from([0, 1, 2, 3, 4, 250, 255]).toString('base64');

describe('objects: value types round-trip', () => {
  let target;
  let saved;

  before(async () => {
    await createClass('Target');
    await createClass('AllTypes');
    target = new Parse.Object('Target');
    await target.save({ label: 'pointee' });

    saved = new Parse.Object('AllTypes');
    saved.set('str', 'hello wörld ✓ "quoted" \\ back');
    saved.set('emptyStr', '');
    saved.set('int', 42);
    saved.set('float', -3.25);
    saved.set('zero', 0);
    saved.set('big', 1234567890123);
    saved.set('yes', true);
    saved.set('no', false);
    saved.set('nothing', null);
    saved.set('when', WHEN);
    saved.set('arr', [1, 'two', { three: 3 }, [4, 5], null, false]);
    saved.set('nested', { a: 1, b: { c: 'd', e: [true, null, 2.5] }, s: 'x' });
    saved.set('geo', new Parse.GeoPoint(52.52, 13.405));
    saved.set('ptr', target);
    saved.set('poly', new Parse.Polygon(SQUARE_CLOSED));
    saved.set('bytes', { __type: 'Bytes', base64: BYTES_B64 });
    await saved.save();
  });

  function assertAllValues(o, label) {
    assert.equal(o.className, 'AllTypes', label);
    assert.equal(o.id, saved.id, label);
    assert.equal(o.get('str'), 'hello wörld ✓ "quoted" \\ back', label);
    assert.equal(o.get('emptyStr'), '', label);
    assert.equal(o.get('int'), 42, label);
    assert.equal(o.get('float'), -3.25, label);
    assert.equal(o.get('zero'), 0, label);
    assert.equal(o.get('big'), 1234567890123, label);
    assert.equal(o.get('yes'), true, label);
    assert.equal(o.get('no'), false, label);
    // Parse Server on MongoDB returns an explicit null, on Postgres the key is absent.
    const nothing = o.get('nothing');
    assert.ok(nothing === null || nothing === undefined, `${label}: null field came back as ${JSON.stringify(nothing)}`);

    const when = o.get('when');
    assert.ok(when instanceof Date, `${label}: when is ${when}`);
    assert.equal(when.toISOString(), WHEN.toISOString(), label);

    assert.deepEqual(o.get('arr'), [1, 'two', { three: 3 }, [4, 5], null, false], label);
    assert.deepEqual(o.get('nested'), { a: 1, b: { c: 'd', e: [true, null, 2.5] }, s: 'x' }, label);

    const geo = o.get('geo');
    assert.ok(geo instanceof Parse.GeoPoint, `${label}: geo is ${JSON.stringify(geo)}`);
    assert.equal(geo.latitude, 52.52, label);
    assert.equal(geo.longitude, 13.405, label);

    const ptr = o.get('ptr');
    assert.ok(ptr instanceof Parse.Object, `${label}: ptr is ${JSON.stringify(ptr)}`);
    assert.equal(ptr.className, 'Target', label);
    assert.equal(ptr.id, target.id, label);

    const poly = o.get('poly');
    assert.ok(poly instanceof Parse.Polygon, `${label}: poly is ${JSON.stringify(poly)}`);
    assert.deepEqual(poly.coordinates, SQUARE_CLOSED, label);

    assert.deepEqual(o.get('bytes'), { __type: 'Bytes', base64: BYTES_B64 }, label);
  }

  it('save assigns a 10-char alphanumeric id and createdAt/updatedAt', () => {
    assert.match(saved.id, OBJECT_ID_RE);
    assert.ok(saved.createdAt instanceof Date);
    assert.ok(saved.updatedAt instanceof Date);
    assert.ok(Math.abs(saved.createdAt.getTime() - Date.now()) < 5 * 60 * 1000, `createdAt ${saved.createdAt.toISOString()} is not recent`);
    assert.equal(saved.dirty(), false);
  });

  it('Query.get returns every value with its type', async () => {
    const got = await new Parse.Query('AllTypes').get(saved.id);
    assertAllValues(got, 'query.get');
    assert.ok(got.createdAt instanceof Date);
    assert.ok(got.updatedAt instanceof Date);
    assert.equal(got.createdAt.getTime(), saved.createdAt.getTime());
    // A freshly created object has updatedAt == createdAt.
    assert.equal(got.updatedAt.getTime(), got.createdAt.getTime());
  });

  it('obj.fetch() returns every value with its type', async () => {
    const fresh = Parse.Object.fromJSON({ className: 'AllTypes', objectId: saved.id });
    assert.equal(fresh.has('str'), false);
    await fresh.fetch();
    assertAllValues(fresh, 'fetch');
    assert.equal(fresh.createdAt.getTime(), saved.createdAt.getTime());
  });

  it('the raw REST JSON uses the Parse encodings', async () => {
    const { status, body } = await rest(ctx.server, 'GET', `/classes/AllTypes/${saved.id}`);
    assert.equal(status, 200);
    assert.equal(body.objectId, saved.id);
    assert.match(body.createdAt, ISO_RE, 'createdAt is a bare ISO string');
    assert.match(body.updatedAt, ISO_RE, 'updatedAt is a bare ISO string');
    assert.deepEqual(body.when, { __type: 'Date', iso: '2024-05-06T07:08:09.123Z' });
    assert.deepEqual(body.geo, { __type: 'GeoPoint', latitude: 52.52, longitude: 13.405 });
    assert.deepEqual(body.ptr, { __type: 'Pointer', className: 'Target', objectId: target.id });
    assert.deepEqual(body.poly, { __type: 'Polygon', coordinates: SQUARE_CLOSED });
    assert.deepEqual(body.bytes, { __type: 'Bytes', base64: BYTES_B64 });
    assert.equal(body.str, 'hello wörld ✓ "quoted" \\ back');
    assert.equal(body.int, 42);
    assert.equal(body.yes, true);
    assert.deepEqual(body.nested, { a: 1, b: { c: 'd', e: [true, null, 2.5] }, s: 'x' });
    const internal = Object.keys(body).filter(k => k.startsWith('_'));
    assert.deepEqual(internal, [], 'no internal _fields in the response');
  });

  it('an open polygon path comes back closed (Parse Server closes the ring)', async () => {
    const o = new Parse.Object('AllTypes');
    o.set('poly', new Parse.Polygon([[0, 0], [0, 1], [1, 1], [1, 0]]));
    await o.save();
    const got = await new Parse.Query('AllTypes').get(o.id);
    const poly = got.get('poly');
    assert.ok(poly instanceof Parse.Polygon);
    assert.deepEqual(poly.coordinates, SQUARE_CLOSED);
  });

  it('an object without fields can be saved and read back', async () => {
    const empty = new Parse.Object('Target');
    await empty.save();
    assert.match(empty.id, OBJECT_ID_RE);
    const got = await new Parse.Query('Target').get(empty.id);
    assert.equal(got.id, empty.id);
    assert.equal(got.createdAt.getTime(), empty.createdAt.getTime());
    const fetched = Parse.Object.fromJSON({ className: 'Target', objectId: empty.id });
    await fetched.fetch();
    assert.equal(fetched.createdAt.getTime(), empty.createdAt.getTime());
  });

  it('an object without fields creates its class (master key)', async () => {
    const r = await rest(ctx.server, 'POST', '/classes/EmptyFirst', {}, { master: true });
    assert.equal(r.status, 201, r.text);
    const id = r.body.objectId;
    const asMaster = await rest(ctx.server, 'GET', `/classes/EmptyFirst/${id}`, undefined, { master: true });
    assert.equal(asMaster.status, 200, asMaster.text);
    assert.equal(asMaster.body.objectId, id);
    // The class now exists, so a client (no class creation rights) may query it.
    const found = await new Parse.Query('EmptyFirst').find();
    assert.deepEqual(found.map(o => o.id), [id]);
  });

  it('ids of many new objects are distinct and 10 alphanumeric chars', async () => {
    const objs = [];
    for (let i = 0; i < 15; i++) {
      const o = new Parse.Object('Target');
      o.set('i', i);
      objs.push(o);
    }
    await Promise.all(objs.map(o => o.save()));
    const ids = objs.map(o => o.id);
    for (const id of ids) assert.match(id, OBJECT_ID_RE);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('a value set on a saved object can be read back after a new save', async () => {
    const o = new Parse.Object('Target');
    await o.save({ label: 'first', n: 1 });
    o.set('label', 'second');
    o.set('when', new Date('2030-01-02T03:04:05.006Z'));
    await o.save();
    const got = await new Parse.Query('Target').get(o.id);
    assert.equal(got.get('label'), 'second');
    assert.equal(got.get('n'), 1);
    assert.equal(got.get('when').toISOString(), '2030-01-02T03:04:05.006Z');
    assert.ok(got.updatedAt.getTime() >= got.createdAt.getTime());
    assert.equal(got.updatedAt.getTime(), o.updatedAt.getTime());
  });
});

describe('objects: destroy', () => {
  before(async () => {
    await createClass('Doomed');
  });

  it('after destroy, Query.get and fetch reject with OBJECT_NOT_FOUND (101)', async () => {
    const o = new Parse.Object('Doomed');
    await o.save({ name: 'bye' });
    const id = o.id;
    const keep = new Parse.Object('Doomed');
    await keep.save({ name: 'stay' });

    await o.destroy();

    await rejectsWithCode(new Parse.Query('Doomed').get(id), Parse.Error.OBJECT_NOT_FOUND, 'query.get: ');
    const ghost = Parse.Object.fromJSON({ className: 'Doomed', objectId: id });
    await rejectsWithCode(ghost.fetch(), Parse.Error.OBJECT_NOT_FOUND, 'fetch: ');

    const all = await new Parse.Query('Doomed').find();
    assert.deepEqual(all.map(x => x.id), [keep.id]);
  });

  it('a destroyed object is answered with HTTP 404 {code:101}', async () => {
    const o = new Parse.Object('Doomed');
    await o.save({ name: 'x' });
    await o.destroy();
    const r = await rest(ctx.server, 'GET', `/classes/Doomed/${o.id}`);
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 101);
    assert.equal(typeof r.body.error, 'string');
  });

  it('destroying an already destroyed object rejects with 101', async () => {
    const o = new Parse.Object('Doomed');
    await o.save({ name: 'twice' });
    await o.destroy();
    const again = Parse.Object.fromJSON({ className: 'Doomed', objectId: o.id });
    await rejectsWithCode(again.destroy(), Parse.Error.OBJECT_NOT_FOUND);
  });
});

describe('objects: relations', () => {
  before(async () => {
    await createClass('Post');
    await createClass('Liker');
  });

  it('relation(likes).add saves and the field reads back as a Relation', async () => {
    const a = new Parse.Object('Liker');
    const b = new Parse.Object('Liker');
    a.set('name', 'a');
    b.set('name', 'b');
    await Parse.Object.saveAll([a, b]);
    const post = new Parse.Object('Post');
    post.set('title', 'hello');
    await post.save();

    post.relation('likes').add([a, b]);
    await post.save();
    assert.equal(post.dirty(), false);

    const got = await new Parse.Query('Post').get(post.id);
    const rel = got.get('likes');
    assert.ok(rel instanceof Parse.Relation, `likes is ${JSON.stringify(rel)}`);
    assert.equal(rel.targetClassName, 'Liker');
    assert.equal(got.get('title'), 'hello');

    const raw = await rest(ctx.server, 'GET', `/classes/Post/${post.id}`);
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body.likes, { __type: 'Relation', className: 'Liker' });
  });

  it('every object of the class carries the Relation field, also ones never related', async () => {
    const plain = new Parse.Object('Post');
    await plain.save({ title: 'no likes' });
    const raw = await rest(ctx.server, 'GET', `/classes/Post/${plain.id}`);
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body.likes, { __type: 'Relation', className: 'Liker' });
  });

  it('relation.remove saves', async () => {
    const a = new Parse.Object('Liker');
    await a.save({ name: 'c' });
    const post = new Parse.Object('Post');
    post.relation('likes').add(a);
    await post.save();
    post.relation('likes').remove(a);
    await post.save();
    assert.equal(post.dirty(), false);
    const got = await new Parse.Query('Post').get(post.id);
    assert.ok(got.get('likes') instanceof Parse.Relation);
  });
});
