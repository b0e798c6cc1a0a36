'use strict';
// Parse.File through the JS SDK: a Buffer (sent as raw bytes), base64 and byte-array sources
// (sent as JSON with base64), attached to objects, downloaded back byte for byte, and
// destroyed with the master key. The server allows public uploads (Parse Server's default
// refuses them; tests/files.rs checks that).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, rejectsWithCode } = require('../helpers/parse');

const ctx = useServer({ before, after }, ['--fileUpload.enableForPublic']);

function bytes(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 8)) & 0xff;
  return b;
}

async function fetchBytes(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return { type: res.headers.get('content-type'), data: Buffer.from(await res.arrayBuffer()) };
}

describe('Parse.File', () => {
  it('saves a Buffer and serves it back byte for byte', async () => {
    const data = bytes(70_000);
    const file = new Parse.File('blob.bin', data, 'application/octet-stream');
    await file.save();
    assert.match(file.name(), /^[0-9a-f]{32}_blob\.bin$/);
    assert.ok(file.url().startsWith(`${ctx.server.url}/parse/files/${ctx.server.appId}/`));
    const got = await fetchBytes(file.url());
    assert.ok(got.data.equals(data));
    const base64 = await file.getData();
    assert.ok(Buffer.from(base64, 'base64').equals(data));
  });

  it('saves base64 and byte arrays with their content types', async () => {
    const text = new Parse.File('hello.txt', { base64: Buffer.from('hello, world').toString('base64') });
    await text.save();
    const got = await fetchBytes(text.url());
    assert.equal(got.data.toString(), 'hello, world');
    assert.match(got.type, /^text\/plain/);

    const png = new Parse.File('pixel', [137, 80, 78, 71, 0, 255], 'image/png');
    await png.save();
    assert.match(png.name(), /_pixel\.png$/);
    const pixel = await fetchBytes(png.url());
    assert.deepEqual([...pixel.data], [137, 80, 78, 71, 0, 255]);
    assert.equal(pixel.type, 'image/png');
  });

  it('attaches to objects, whose reads carry the URL', async () => {
    const file = new Parse.File('doc.pdf', bytes(1000), 'application/pdf');
    await file.save();
    const doc = new Parse.Object('Doc');
    doc.set('attachment', file);
    await doc.save(null, { useMasterKey: true });
    const fetched = await new Parse.Query('Doc').get(doc.id);
    const attached = fetched.get('attachment');
    assert.ok(attached instanceof Parse.File);
    assert.equal(attached.name(), file.name());
    assert.equal(attached.url(), file.url());
  });

  it('refuses HTML from clients and bad names, and destroys with the master key', async () => {
    // A Buffer goes up as raw bytes; the SDK rejects those uploads with the server's JSON
    // error as it is (not a Parse.Error), so the code is checked on that.
    await assert.rejects(new Parse.File('page.html', bytes(10)).save(), e => e.code === 130);
    await assert.rejects(new Parse.File('naïve.txt', bytes(10)).save(), e => e.code === 122);
    const html = new Parse.File('page.html', { base64: Buffer.from('<p>').toString('base64') });
    await rejectsWithCode(html.save(), 130);

    const file = new Parse.File('gone.txt', bytes(10), 'text/plain');
    await file.save();
    await file.destroy({ useMasterKey: true });
    const res = await fetch(file.url());
    assert.equal(res.status, 404);
  });
});
