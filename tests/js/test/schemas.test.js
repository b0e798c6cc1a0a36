'use strict';
// Parse.Schema reads through the JS SDK: get and all.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer } = require('../helpers/parse');

useServer({ before, after });

describe('Parse.Schema', () => {
  it('get and all show the fields the writes inferred', async () => {
    const owner = await new Parse.Object('Owner', { name: 'o' }).save(null, { useMasterKey: true });
    await new Parse.Object('Pet', { name: 'rex', age: 3, owner }).save(null, { useMasterKey: true });
    const pet = await new Parse.Schema('Pet').get();
    assert.equal(pet.className, 'Pet');
    assert.deepEqual(pet.fields.age, { type: 'Number' });
    assert.deepEqual(pet.fields.owner, { type: 'Pointer', targetClass: 'Owner' });
    const all = await Parse.Schema.all();
    assert.deepEqual(all.map(s => s.className).sort(), ['Owner', 'Pet']);
  });
});
