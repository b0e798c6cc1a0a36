'use strict';
// Batch writes: Parse.Object.saveAll / destroyAll (POST /batch) and raw /batch.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, rest, createClass, rejectsWithCode, OBJECT_ID_RE, ISO_RE } = require('../helpers/parse');

const ctx = useServer({ before, after });

describe('batch: saveAll / destroyAll', () => {
  const objs = [];

  before(async () => {
    await createClass('Batched');
  });

  it('saveAll creates 30 new objects', async () => {
    for (let i = 0; i < 30; i++) {
      const o = new Parse.Object('Batched');
      o.set({ i, label: `item-${i}`, parity: i % 2 === 0 ? 'even' : 'odd' });
      objs.push(o);
    }
    const result = await Parse.Object.saveAll(objs);
    assert.equal(result.length, 30);
    const ids = objs.map(o => o.id);
    for (const id of ids) assert.match(id, OBJECT_ID_RE);
    assert.equal(new Set(ids).size, 30);
    for (const o of objs) {
      assert.ok(o.createdAt instanceof Date);
      assert.equal(o.dirty(), false);
    }

    const found = await new Parse.Query('Batched').limit(1000).find();
    assert.equal(found.length, 30);
    const byId = new Map(found.map(o => [o.id, o]));
    for (const o of objs) {
      const f = byId.get(o.id);
      assert.ok(f, `object ${o.id} missing from query results`);
      assert.equal(f.get('i'), o.get('i'));
      assert.equal(f.get('label'), `item-${o.get('i')}`);
    }
    assert.equal(await new Parse.Query('Batched').count(), 30);
  });

  it('saveAll updates existing objects (set and increment)', async () => {
    assert.equal(objs.length, 30, 'depends on the previous test');
    objs.forEach((o, idx) => {
      o.set('flag', true);
      o.increment('i', 100);
      if (idx < 5) o.unset('label');
    });
    await Parse.Object.saveAll(objs);
    objs.forEach((o, idx) => assert.equal(o.get('i'), idx + 100, 'increment result from the batch response'));

    const flagged = await new Parse.Query('Batched').equalTo('flag', true).limit(1000).find();
    assert.equal(flagged.length, 30);
    const values = flagged.map(o => o.get('i')).sort((a, b) => a - b);
    assert.deepEqual(values, Array.from({ length: 30 }, (_, k) => k + 100));
    assert.equal(await new Parse.Query('Batched').exists('label').count(), 25);
  });

  it('destroyAll removes objects', async () => {
    assert.equal(objs.length, 30, 'depends on the previous tests');
    const doomed = objs.slice(0, 10);
    await Parse.Object.destroyAll(doomed);
    assert.equal(await new Parse.Query('Batched').count(), 20);
    const remaining = await new Parse.Query('Batched').limit(1000).find();
    const remainingIds = new Set(remaining.map(o => o.id));
    for (const o of doomed) assert.equal(remainingIds.has(o.id), false);
    for (const o of objs.slice(10)) assert.equal(remainingIds.has(o.id), true);
    await rejectsWithCode(new Parse.Query('Batched').get(doomed[0].id), Parse.Error.OBJECT_NOT_FOUND);
  });

  it('saveAll with a mix of new and existing objects', async () => {
    const existing = objs.slice(10, 15);
    existing.forEach(o => o.set('mixed', 'updated'));
    const fresh = Array.from({ length: 5 }, (_, k) => {
      const o = new Parse.Object('Batched');
      o.set('mixed', 'created');
      o.set('i', 1000 + k);
      return o;
    });
    await Parse.Object.saveAll([...existing, ...fresh]);
    for (const o of fresh) assert.match(o.id, OBJECT_ID_RE);
    assert.equal(await new Parse.Query('Batched').equalTo('mixed', 'updated').count(), 5);
    assert.equal(await new Parse.Query('Batched').equalTo('mixed', 'created').count(), 5);
    assert.equal(await new Parse.Query('Batched').count(), 25);
  });

  it('find without a limit returns at most 100 objects (Parse default limit)', async () => {
    await createClass('Many');
    const many = Array.from({ length: 120 }, (_, i) => {
      const o = new Parse.Object('Many');
      o.set('i', i);
      return o;
    });
    await Parse.Object.saveAll(many);
    const defaultPage = await new Parse.Query('Many').find();
    assert.equal(defaultPage.length, 100);
    const all = await new Parse.Query('Many').limit(1000).find();
    assert.equal(all.length, 120);
    assert.equal(await new Parse.Query('Many').count(), 120);
  });
});

describe('batch: raw /batch', () => {
  before(async () => {
    await createClass('RawBatch');
  });

  it('answers an array aligned with the requests, with success and error entries', async () => {
    const first = await rest(ctx.server, 'POST', '/classes/RawBatch', { name: 'pre' });
    assert.equal(first.status, 201);
    const id = first.body.objectId;

    const r = await rest(ctx.server, 'POST', '/batch', {
      requests: [
        { method: 'POST', path: '/parse/classes/RawBatch', body: { name: 'b1' } },
        { method: 'PUT', path: `/parse/classes/RawBatch/${id}`, body: { name: 'renamed' } },
        { method: 'PUT', path: '/parse/classes/RawBatch/doesNotExi', body: { name: 'x' } },
        { method: 'POST', path: '/parse/classes/RawBatch', body: { name: 'b2', n: { __op: 'Increment', amount: 2 } } },
      ],
    });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.body), `batch response is not an array: ${r.text}`);
    assert.equal(r.body.length, 4);

    assert.match(r.body[0].success.objectId, OBJECT_ID_RE);
    assert.match(r.body[0].success.createdAt, ISO_RE);
    assert.match(r.body[1].success.updatedAt, ISO_RE);
    assert.equal(r.body[2].success, undefined);
    assert.equal(r.body[2].error.code, 101);
    assert.equal(typeof r.body[2].error.error, 'string');
    assert.match(r.body[3].success.objectId, OBJECT_ID_RE);

    const renamed = await rest(ctx.server, 'GET', `/classes/RawBatch/${id}`);
    assert.equal(renamed.body.name, 'renamed');
    const b2 = await rest(ctx.server, 'GET', `/classes/RawBatch/${r.body[3].success.objectId}`);
    assert.equal(b2.body.name, 'b2');
    assert.equal(b2.body.n, 2);
  });

  it('accepts paths under the /1 mount too', async () => {
    const r = await rest(
      ctx.server,
      'POST',
      '/batch',
      { requests: [{ method: 'POST', path: '/1/classes/RawBatch', body: { name: 'via-1' } }] },
      { mount: '/1' },
    );
    assert.equal(r.status, 200, r.text);
    assert.match(r.body[0].success.objectId, OBJECT_ID_RE);
    const found = await new Parse.Query('RawBatch').equalTo('name', 'via-1').find();
    assert.deepEqual(found.map(o => o.id), [r.body[0].success.objectId]);
  });

  it('rejects a non-array requests field with 107', async () => {
    const r = await rest(ctx.server, 'POST', '/batch', { requests: { method: 'GET' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 107);
  });
});
