'use strict';
// Users, sessions, ACLs and roles through the JS SDK: Parse.User.signUp / logIn / become /
// logOut / current, Parse.Session.current, Parse.ACL on objects, Parse.Role with users.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, rejectsWithCode } = require('../helpers/parse');

useServer({ before, after }, ['--allowClientClassCreation']);
// In Node the SDK keeps no current user unless told to (one process, one user here).
Parse.User.enableUnsafeCurrentUser();

let n = 0;
const unique = name => `${name}${Date.now().toString(36)}${n++}`;

describe('Parse.User and sessions', () => {
  beforeEach(async () => {
    if (Parse.User.current()) await Parse.User.logOut().catch(() => {});
  });

  it('signs up, logs out, logs in and becomes', async () => {
    const name = unique('alice');
    const user = new Parse.User({ username: name, password: 'pw-1', email: `${name}@example.com` });
    await user.signUp();
    assert.ok(user.id);
    const token = user.getSessionToken();
    assert.match(token, /^r:[0-9a-f]{32}$/);
    assert.equal(Parse.User.current().id, user.id);

    const session = await Parse.Session.current();
    assert.equal(session.getSessionToken(), token);
    assert.equal(session.get('user').id, user.id);

    await Parse.User.logOut();
    assert.equal(Parse.User.current(), null);
    await rejectsWithCode(Parse.User.become(token), 209);

    const again = await Parse.User.logIn(name.toUpperCase(), 'pw-1');
    assert.equal(again.id, user.id);
    assert.equal(again.get('email'), `${name}@example.com`);
    const other = await Parse.User.become(again.getSessionToken());
    assert.equal(other.id, user.id);
    await rejectsWithCode(Parse.User.logIn(name, 'wrong'), 101);
  });

  it('refuses taken names and emails, in any case', async () => {
    const name = unique('bob');
    await new Parse.User({ username: name, password: 'pw', email: `${name}@x.com` }).signUp();
    await Parse.User.logOut();
    await rejectsWithCode(new Parse.User({ username: name.toUpperCase(), password: 'pw' }).signUp(), 202);
    await rejectsWithCode(
      new Parse.User({ username: unique('b'), password: 'pw', email: `${name.toUpperCase()}@X.COM` }).signUp(),
      203,
    );
  });

  it('keeps objects behind their ACLs', async () => {
    const owner = await new Parse.User({ username: unique('owner'), password: 'pw' }).signUp();
    const note = new Parse.Object('Note', { text: 'mine' });
    note.setACL(new Parse.ACL(owner));
    await note.save();
    assert.equal((await new Parse.Query('Note').get(note.id)).get('text'), 'mine');
    await Parse.User.logOut();

    await new Parse.User({ username: unique('other'), password: 'pw' }).signUp();
    await rejectsWithCode(new Parse.Query('Note').get(note.id), 101);
    assert.equal(await new Parse.Query('Note').count(), 0);
    note.set('text', 'theirs');
    await rejectsWithCode(note.save(), 101);
    const all = await new Parse.Query('Note').find({ useMasterKey: true });
    assert.ok(all.some(o => o.id === note.id));
  });

  it('grants role ACLs to the role\'s users', async () => {
    const memberName = unique('member');
    const member = await new Parse.User({ username: memberName, password: 'pw' }).signUp();
    await Parse.User.logOut();
    const roleACL = new Parse.ACL();
    roleACL.setPublicReadAccess(true);
    const role = new Parse.Role(unique('Editors'), roleACL);
    role.getUsers().add(member);
    await role.save(null, { useMasterKey: true });

    const doc = new Parse.Object('Doc', { title: 'draft' });
    const acl = new Parse.ACL();
    acl.setRoleReadAccess(role, true);
    doc.setACL(acl);
    await doc.save(null, { useMasterKey: true });

    assert.equal(await new Parse.Query('Doc').count(), 0, 'public: nothing');
    await Parse.User.logIn(memberName, 'pw');
    const found = await new Parse.Query('Doc').find();
    assert.deepEqual(found.map(d => d.id), [doc.id]);
    const roles = await new Parse.Query(Parse.Role).equalTo('name', role.getName()).find();
    assert.equal(roles.length, 1);
  });

  it('logs in anonymously and links nothing else', async () => {
    const anon = await Parse.AnonymousUtils.logIn();
    assert.ok(anon.id);
    assert.ok(Parse.AnonymousUtils.isLinked(anon));
    const token = anon.getSessionToken();
    await Parse.User.logOut();
    await rejectsWithCode(Parse.User.become(token), 209);
  });
});
