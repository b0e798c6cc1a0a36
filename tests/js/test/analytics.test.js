'use strict';
// Parse.Analytics.track through the JS SDK, read back with the master key.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, rest } = require('../helpers/parse');

const ctx = useServer({ before, after });

describe('Parse.Analytics', () => {
  it('track sends an event with dimensions that the server counts', async () => {
    await Parse.Analytics.track('Search', { priceRange: '1000-1500', dayType: 'weekday' });
    await Parse.Analytics.track('Search', { dayType: 'weekday', priceRange: '1000-1500' });
    await Parse.Analytics.track('AppOpened');
    const search = await rest(ctx.server, 'GET', '/events/Search', undefined, { master: true });
    assert.equal(search.status, 200);
    assert.equal(search.body.results.length, 1);
    assert.equal(search.body.results[0].count, 2);
    assert.deepEqual(search.body.results[0].dimensions, { dayType: 'weekday', priceRange: '1000-1500' });
    const opened = await rest(ctx.server, 'GET', '/events/AppOpened', undefined, { master: true });
    assert.equal(opened.body.results[0].count, 1);
  });
});
