'use strict';
// The body-tunnelled request form the JS SDK uses, driven with raw fetch:
// POST, Content-Type text/plain, JSON body with _method/_ApplicationId/_JavaScriptKey/....

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { useServer, rest, tunnel, createClass, OBJECT_ID_RE, ISO_RE } = require('../helpers/parse');

const ctx = useServer({ before, after });

function clientKeys(extra = {}) {
  return {
    _ApplicationId: ctx.server.appId,
    _JavaScriptKey: ctx.server.javascriptKey,
    _ClientVersion: 'js8.6.2',
    _InstallationId: '5c1b0a4e-3f0e-4d8e-9c39-2b7f1f0c2a11',
    ...extra,
  };
}

async function createRaw(fields) {
  const r = await tunnel(ctx.server, '/classes/Raw', { ...fields, ...clientKeys() });
  assert.equal(r.status, 201, r.text);
  return r.body.objectId;
}

function assertUnauthorized(r) {
  assert.equal(r.status, 403, `expected HTTP 403, got ${r.status}: ${r.text}`);
  assert.deepEqual(JSON.parse(r.text), { error: 'unauthorized' });
}

describe('tunnelled requests', () => {
  before(async () => {
    await createClass('Raw');
  });

  it('POST without _method creates: 201, {objectId, createdAt}, Location', async () => {
    const r = await tunnel(ctx.server, '/classes/Raw', { name: 'created', n: 1, ...clientKeys() });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(Object.keys(r.body).sort(), ['createdAt', 'objectId']);
    assert.match(r.body.objectId, OBJECT_ID_RE);
    assert.match(r.body.createdAt, ISO_RE);
    assert.equal(r.headers.get('location'), `${ctx.server.url}/parse/classes/Raw/${r.body.objectId}`);
  });

  it('the _ keys of the body are not stored as fields', async () => {
    const id = await createRaw({ name: 'clean' });
    const r = await rest(ctx.server, 'GET', `/classes/Raw/${id}`, undefined, { master: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.name, 'clean');
    for (const k of ['_ApplicationId', '_JavaScriptKey', '_ClientVersion', '_InstallationId', '_method', 'ApplicationId', 'ClientVersion', 'InstallationId']) {
      assert.equal(Object.hasOwn(r.body, k), false, `stored field ${k}: ${r.text}`);
    }
    assert.deepEqual(Object.keys(r.body).sort(), ['createdAt', 'name', 'objectId', 'updatedAt']);
  });

  it('_method GET with where returns {results}', async () => {
    const a = await createRaw({ name: 'findme', group: 'g1', n: 1 });
    const b = await createRaw({ name: 'findme-too', group: 'g1', n: 2 });
    await createRaw({ name: 'other', group: 'g2', n: 3 });

    const r = await tunnel(ctx.server, '/classes/Raw', {
      _method: 'GET',
      where: { group: 'g1' },
      ...clientKeys(),
    });
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.body.results), r.text);
    assert.deepEqual(r.body.results.map(o => o.objectId).sort(), [a, b].sort());
    const first = r.body.results.find(o => o.objectId === a);
    assert.equal(first.name, 'findme');
    assert.equal(first.n, 1);
    assert.match(first.createdAt, ISO_RE);
    assert.match(first.updatedAt, ISO_RE);
  });

  it('_method GET with where as a JSON string, order, limit, skip', async () => {
    for (let i = 0; i < 5; i++) await createRaw({ series: 's', k: i });
    const r = await tunnel(ctx.server, '/classes/Raw', {
      _method: 'GET',
      where: JSON.stringify({ series: 's', k: { $gte: 1 } }),
      order: '-k',
      limit: 2,
      skip: 1,
      ...clientKeys(),
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.results.map(o => o.k), [3, 2]);
  });

  it('_method GET with count and limit 0 returns {results: [], count}', async () => {
    for (let i = 0; i < 3; i++) await createRaw({ counted: 'yes' });
    const r = await tunnel(ctx.server, '/classes/Raw', {
      _method: 'GET',
      where: { counted: 'yes' },
      count: 1,
      limit: 0,
      ...clientKeys(),
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { results: [], count: 3 });
  });

  it('_method GET on /classes/Raw/:id returns the object', async () => {
    const id = await createRaw({ name: 'single', when: { __type: 'Date', iso: '2021-02-03T04:05:06.789Z' } });
    const r = await tunnel(ctx.server, `/classes/Raw/${id}`, { _method: 'GET', ...clientKeys() });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.objectId, id);
    assert.equal(r.body.name, 'single');
    assert.deepEqual(r.body.when, { __type: 'Date', iso: '2021-02-03T04:05:06.789Z' });
  });

  it('_method PUT updates and answers {updatedAt} plus op results', async () => {
    const id = await createRaw({ name: 'before', n: 10 });
    const r = await tunnel(ctx.server, `/classes/Raw/${id}`, {
      _method: 'PUT',
      name: 'after',
      n: { __op: 'Increment', amount: 5 },
      ...clientKeys(),
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.body.updatedAt, ISO_RE);
    assert.equal(r.body.n, 15);
    assert.equal(Object.hasOwn(r.body, 'name'), false, 'plain sets are not echoed');

    const got = await tunnel(ctx.server, `/classes/Raw/${id}`, { _method: 'GET', ...clientKeys() });
    assert.equal(got.body.name, 'after');
    assert.equal(got.body.n, 15);
    assert.equal(got.body.updatedAt, r.body.updatedAt);
  });

  it('_method DELETE deletes: {} then 404 {code:101}', async () => {
    const id = await createRaw({ name: 'to delete' });
    const r = await tunnel(ctx.server, `/classes/Raw/${id}`, { _method: 'DELETE', ...clientKeys() });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, {});

    const got = await tunnel(ctx.server, `/classes/Raw/${id}`, { _method: 'GET', ...clientKeys() });
    assert.equal(got.status, 404, got.text);
    assert.equal(got.body.code, 101);

    const again = await tunnel(ctx.server, `/classes/Raw/${id}`, { _method: 'DELETE', ...clientKeys() });
    assert.equal(again.status, 404, again.text);
    assert.equal(again.body.code, 101);
  });

  it('_MasterKey in the body authorises requests without a client key', async () => {
    const masterOnly = { _ApplicationId: ctx.server.appId, _MasterKey: ctx.server.masterKey };
    const created = await tunnel(ctx.server, '/classes/Raw', { name: 'by-master', ...masterOnly });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.objectId, OBJECT_ID_RE);

    const found = await tunnel(ctx.server, '/classes/Raw', { _method: 'GET', where: { name: 'by-master' }, ...masterOnly });
    assert.equal(found.status, 200, found.text);
    assert.deepEqual(found.body.results.map(o => o.objectId), [created.body.objectId]);
  });

  it('_MasterKey in the body may create a class (clients may not)', async () => {
    const masterOnly = { _ApplicationId: ctx.server.appId, _MasterKey: ctx.server.masterKey };
    const r = await tunnel(ctx.server, '/classes/FreshViaMaster', { x: 1, ...masterOnly });
    assert.equal(r.status, 201, r.text);
    const denied = await tunnel(ctx.server, '/classes/FreshViaClient', { x: 1, ...clientKeys() });
    assert.equal(denied.status, 400, denied.text);
    assert.equal(denied.body.code, 119);
  });

  it('a wrong _ApplicationId gets HTTP 403 {"error":"unauthorized"}', async () => {
    const r = await tunnel(ctx.server, '/classes/Raw', {
      _method: 'GET',
      ...clientKeys({ _ApplicationId: 'not-the-app-id' }),
    });
    assertUnauthorized(r);
    const create = await tunnel(ctx.server, '/classes/Raw', { name: 'x', ...clientKeys({ _ApplicationId: 'nope' }) });
    assertUnauthorized(create);
  });

  it('a missing _ApplicationId gets HTTP 403 {"error":"unauthorized"}', async () => {
    const r = await tunnel(ctx.server, '/classes/Raw', { _method: 'GET', _JavaScriptKey: ctx.server.javascriptKey });
    assertUnauthorized(r);
  });

  it('a wrong or missing client key gets HTTP 403 {"error":"unauthorized"}', async () => {
    assertUnauthorized(await tunnel(ctx.server, '/classes/Raw', { _method: 'GET', ...clientKeys({ _JavaScriptKey: 'wrong' }) }));
    assertUnauthorized(await tunnel(ctx.server, '/classes/Raw', { _method: 'GET', _ApplicationId: ctx.server.appId }));
    assertUnauthorized(
      await tunnel(ctx.server, '/classes/Raw', { _method: 'GET', _ApplicationId: ctx.server.appId, _MasterKey: 'wrong-master' }),
    );
  });

  it('nothing is written by an unauthorized create', async () => {
    await tunnel(ctx.server, '/classes/Raw', { marker: 'unauth', ...clientKeys({ _JavaScriptKey: 'wrong' }) });
    const r = await tunnel(ctx.server, '/classes/Raw', { _method: 'GET', where: { marker: 'unauth' }, ...clientKeys() });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.results, []);
  });

  it('the /1 mount accepts the same tunnelled requests', async () => {
    const id = await createRaw({ name: 'via-one' });
    const r = await tunnel(ctx.server, '/classes/Raw', { _method: 'GET', where: { name: 'via-one' }, ...clientKeys() }, { mount: '/1' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.results.map(o => o.objectId), [id]);
    const put = await tunnel(ctx.server, `/classes/Raw/${id}`, { _method: 'PUT', name: 'via-one-updated', ...clientKeys() }, { mount: '/1' });
    assert.equal(put.status, 200, put.text);
    const created = await tunnel(ctx.server, '/classes/Raw', { name: 'created-via-one', ...clientKeys() }, { mount: '/1' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('location'), `${ctx.server.url}/1/classes/Raw/${created.body.objectId}`);
  });

  it('a JSON content type works the same as text/plain', async () => {
    await createRaw({ name: 'json-ct' });
    const res = await fetch(`${ctx.server.url}/parse/classes/Raw`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ _method: 'GET', where: { name: 'json-ct' }, ...clientKeys() }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.results.length, 1);
    assert.equal(body.results[0].name, 'json-ct');
  });

  it('a Parse error in tunnelled form keeps Parse Server statuses (400 + code)', async () => {
    const bad = await tunnel(ctx.server, '/classes/Raw', { '1abc': 1, ...clientKeys() });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.code, 105);
    assert.equal(typeof bad.body.error, 'string');
  });
});
