'use strict';
// Parse.Query across classes and with patterns, through the JS SDK: startsWith / endsWith /
// contains / matches, containsAllStartingWith, matchesQuery / doesNotMatchQuery,
// matchesKeyInQuery / doesNotMatchKeyInQuery, relation.query() ($relatedTo), include,
// select with dotted keys, and count over sub-queries.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, createClass, rejectsWithCode } = require('../helpers/parse');

useServer({ before, after });

const titles = results => results.map(o => o.get('title')).sort();

describe('query patterns and sub-queries', () => {
  const authors = {};
  const posts = {};
  const fans = {};

  before(async () => {
    for (const cls of ['Author', 'Post', 'Fan', 'Team', 'Comment']) await createClass(cls);
    for (const [name, country, rank] of [['ann', 'fr', 1], ['ben', 'de', 2], ['cyd', 'fr', 3]]) {
      authors[name] = await new Parse.Object('Author').save({ name, country, rank });
    }
    const specs = [
      ['Hello world', 'ann', ['news', 'tech'], 'fr'],
      ['hello again', 'ben', ['tech'], 'de'],
      ['A (tricky) title.*', 'cyd', ['news', 'sport'], 'en'],
      ['Goodbye', null, [], 'fr'],
    ];
    for (const [title, author, tags, lang] of specs) {
      const p = new Parse.Object('Post');
      p.set({ title, tags, lang });
      if (author) p.set('author', authors[author]);
      posts[title] = await p.save();
    }
    for (const title of ['f1', 'f2', 'f3']) {
      fans[title] = await new Parse.Object('Fan').save({ title, city: title === 'f3' ? 'Lyon' : 'Paris' });
    }
    const liked = posts['Hello world'];
    liked.relation('likes').add([fans.f1, fans.f2]);
    await liked.save();
    await new Parse.Object('Team').save({ city: 'Paris', meta: { won: true } });
    await new Parse.Object('Comment').save({ title: 'c1', post: posts['Hello world'], also: [posts['hello again'], posts.Goodbye] });
  });

  const post = () => new Parse.Query('Post');

  it('startsWith, endsWith, contains quote their argument', async () => {
    assert.deepEqual(titles(await post().startsWith('title', 'Hello').find()), ['Hello world']);
    assert.deepEqual(titles(await post().endsWith('title', '.*').find()), ['A (tricky) title.*']);
    assert.deepEqual(titles(await post().contains('title', '(tricky)').find()), ['A (tricky) title.*']);
    assert.deepEqual(titles(await post().contains('title', '.').find()), ['A (tricky) title.*']);
  });

  it('matches with a RegExp and with modifiers', async () => {
    assert.deepEqual(titles(await post().matches('title', /^hello/i).find()), ['Hello world', 'hello again']);
    assert.deepEqual(titles(await post().matches('title', '^hello', 'i').find()), ['Hello world', 'hello again']);
    assert.deepEqual(titles(await post().matches('title', /o$/).find()), []);
    assert.deepEqual(titles(await post().matches('title', /e$/).find()), ['Goodbye']);
    await rejectsWithCode(post().matches('title', '(').find(), 102);
  });

  it('containsAllStartingWith', async () => {
    assert.deepEqual(titles(await post().containsAllStartingWith('tags', ['ne', 'sp']).find()), ['A (tricky) title.*']);
    assert.deepEqual(titles(await post().containsAllStartingWith('tags', ['te']).find()), ['Hello world', 'hello again']);
  });

  it('matchesQuery / doesNotMatchQuery', async () => {
    const french = new Parse.Query('Author').equalTo('country', 'fr');
    assert.deepEqual(titles(await post().matchesQuery('author', french).find()), ['A (tricky) title.*', 'Hello world']);
    assert.deepEqual(titles(await post().doesNotMatchQuery('author', french).find()), ['Goodbye', 'hello again']);
    assert.equal(await post().matchesQuery('author', french).count(), 2);
    const nested = new Parse.Query('Comment').matchesQuery('post', post().matchesQuery('author', french));
    assert.deepEqual(titles(await nested.find()), ['c1']);
  });

  it('matchesKeyInQuery / doesNotMatchKeyInQuery', async () => {
    const teams = new Parse.Query('Team');
    const fan = () => new Parse.Query('Fan');
    assert.deepEqual(titles(await fan().matchesKeyInQuery('city', 'city', teams).find()), ['f1', 'f2']);
    assert.deepEqual(titles(await fan().doesNotMatchKeyInQuery('city', 'city', teams).find()), ['f3']);
  });

  it('relation.query() ($relatedTo, redirectClassNameForKey)', async () => {
    const liked = await post().get(posts['Hello world'].id);
    const relation = liked.relation('likes');
    assert.deepEqual(titles(await relation.query().find()), ['f1', 'f2']);
    assert.deepEqual(titles(await relation.query().equalTo('title', 'f2').find()), ['f2']);
    // Before the SDK knows the target class it queries the owner with redirectClassNameForKey.
    const fresh = Parse.Object.extend('Post').createWithoutData(liked.id);
    const results = await fresh.relation('likes').query().find();
    assert.deepEqual(titles(results), ['f1', 'f2']);
    assert.ok(results.every(r => r.className === 'Fan'));
    assert.equal(await relation.query().count(), 2);
    // equalTo a pointer on a Relation field: the relation holds it.
    assert.deepEqual(titles(await post().equalTo('likes', fans.f1).find()), ['Hello world']);
  });

  it('include: one level, dot paths, arrays, and includeAll', async () => {
    const c = await new Parse.Query('Comment').include('post.author').first();
    assert.equal(c.get('post').get('title'), 'Hello world');
    assert.equal(c.get('post').get('author').get('name'), 'ann');
    const arr = await new Parse.Query('Comment').include('also').first();
    assert.deepEqual(arr.get('also').map(p => p.get('title')), ['hello again', 'Goodbye']);
    const all = await new Parse.Query('Comment').includeAll().first();
    assert.equal(all.get('post').get('lang'), 'fr');
    assert.equal(all.get('also')[1].get('title'), 'Goodbye');
    const got = await new Parse.Query('Comment').include('post').get(c.id);
    assert.equal(got.get('post').get('title'), 'Hello world');
  });

  it('select with a dotted key fetches only that key of the included object', async () => {
    const c = await new Parse.Query('Comment').select('title', 'post.title').first();
    assert.equal(c.get('post').get('title'), 'Hello world');
    assert.equal(c.get('post').get('lang'), undefined);
    assert.equal(c.get('also'), undefined);
  });
});
