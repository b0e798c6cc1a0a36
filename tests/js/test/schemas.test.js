'use strict';
// Parse.Schema through the JS SDK: get and all; save, addField and update; deleteField,
// purge and delete.

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

  it('save creates a class, addField and update change it', async () => {
    const schema = new Parse.Schema('Planet');
    schema.addString('name').addNumber('moons').addPointer('star', 'Star');
    schema.setCLP({ find: { '*': true }, get: { '*': true } });
    const saved = await schema.save();
    assert.deepEqual(saved.fields.moons, { type: 'Number' });
    assert.deepEqual(saved.classLevelPermissions.find, { '*': true });

    const more = new Parse.Schema('Planet');
    more.addBoolean('ringed');
    const updated = await more.update();
    assert.deepEqual(updated.fields.ringed, { type: 'Boolean' });
    assert.deepEqual(updated.fields.name, { type: 'String' });

    await assert.rejects(new Parse.Schema('Planet').save(), err => err.code === 103);
    const planet = await new Parse.Object('Planet', { name: 'Saturn', moons: 146, ringed: true }).save(null, { useMasterKey: true });
    assert.ok(planet.id);
  });

  it('deleteField removes the values, delete needs an empty class', async () => {
    const moon = await new Parse.Object('Moon', { name: 'Io', secret: 's' }).save(null, { useMasterKey: true });
    const schema = new Parse.Schema('Moon');
    schema.deleteField('secret');
    const updated = await schema.update();
    assert.equal(updated.fields.secret, undefined);
    const fetched = await new Parse.Query('Moon').get(moon.id, { useMasterKey: true });
    assert.equal(fetched.get('secret'), undefined);
    assert.equal(fetched.get('name'), 'Io');

    await assert.rejects(new Parse.Schema('Moon').delete(), err => err.code === 255);
    await new Parse.Schema('Moon').purge();
    await new Parse.Schema('Moon').delete();
    const all = await Parse.Schema.all();
    assert.ok(!all.some(s => s.className === 'Moon'));
  });
});
