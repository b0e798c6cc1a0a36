'use strict';
// Parse.Schema#purge through the JS SDK: DELETE /purge/<class> with the master key.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, createClass } = require('../helpers/parse');

useServer({ before, after });

describe('Parse.Schema purge', () => {
  it('deletes every object of the class and keeps the class', async () => {
    await createClass('Scratch');
    await Parse.Object.saveAll([1, 2, 3].map(n => new Parse.Object('Scratch', { n })), { useMasterKey: true });
    assert.equal(await new Parse.Query('Scratch').count({ useMasterKey: true }), 3);
    await new Parse.Schema('Scratch').purge();
    assert.equal(await new Parse.Query('Scratch').count({ useMasterKey: true }), 0);
    const again = await new Parse.Object('Scratch', { n: 4 }).save(null, { useMasterKey: true });
    assert.ok(again.id);
  });
});
