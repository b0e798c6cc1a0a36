'use strict';
// SDK configuration and small raw-HTTP helpers shared by the test files.

const assert = require('node:assert/strict');
const Parse = require('parse/node');
const { startServer } = require('./server');

/** Points the (process-global) Parse SDK at `server`. */
function configureParse(server, { javascriptKey = server.javascriptKey } = {}) {
  Parse.initialize(server.appId, javascriptKey, server.masterKey);
  Parse.serverURL = `${server.url}/parse`;
  return Parse;
}

/**
 * Registers before/after hooks that start one server for the current test
 * file and configure the SDK for it. Returns a holder whose `.server` is set
 * once the `before` hook ran.
 */
function useServer({ before, after }, extraArgs = []) {
  const ctx = { server: null };
  before(async () => {
    ctx.server = await startServer(extraArgs);
    configureParse(ctx.server);
  });
  after(async () => {
    if (ctx.server) await ctx.server.stop();
  });
  return ctx;
}

/**
 * Plain REST request with headers (X-Parse-Application-Id + REST API key,
 * or the master key). Returns {status, headers, text, body}.
 */
async function rest(server, method, path, body, { master = false, mount = '/parse', headers = {} } = {}) {
  const h = {
    'X-Parse-Application-Id': server.appId,
    ...(master ? { 'X-Parse-Master-Key': server.masterKey } : { 'X-Parse-REST-API-Key': server.restAPIKey }),
    ...headers,
  };
  const init = { method, headers: h };
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`${server.url}${mount}${path}`, init);
  return decodeResponse(res);
}

/** Body-tunnelled request as the JS SDK sends it: POST, text/plain, keys in the body. */
async function tunnel(server, path, payload, { mount = '/parse' } = {}) {
  const res = await fetch(`${server.url}${mount}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify(payload),
  });
  return decodeResponse(res);
}

async function decodeResponse(res) {
  const text = await res.text();
  let body;
  try {
    body = text.length ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

/**
 * Creates `className` with the master key (Parse Server only lets the master
 * key create classes by default: allowClientClassCreation=false) by saving and
 * then destroying one object. The class keeps existing afterwards.
 * (The seed carries one field so that this set-up does not depend on saving
 * empty objects, which objects.test.js checks on its own.)
 */
async function createClass(className) {
  const seed = new Parse.Object(className);
  await seed.save({ seededBy: 'createClass' }, { useMasterKey: true });
  await seed.destroy({ useMasterKey: true });
}

/** Asserts that `promise` rejects with a Parse.Error carrying `code`. Returns the error. */
async function rejectsWithCode(promise, code, label = '') {
  let err;
  try {
    const value = await promise;
    assert.fail(`${label}expected rejection with Parse error ${code}, but it resolved with ${safeJson(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.ok(err instanceof Parse.Error, `${label}expected a Parse.Error, got ${err && err.stack ? err.stack : err}`);
  assert.equal(err.code, code, `${label}expected code ${code}, got ${err.code} (${err.message})`);
  return err;
}

function safeJson(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

const OBJECT_ID_RE = /^[A-Za-z0-9]{10}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

module.exports = {
  Parse,
  configureParse,
  useServer,
  rest,
  tunnel,
  createClass,
  rejectsWithCode,
  OBJECT_ID_RE,
  ISO_RE,
};
