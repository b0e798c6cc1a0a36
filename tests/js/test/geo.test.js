'use strict';
// Geo queries through the JS SDK: near, withinKilometers/Miles/Radians (sorted and not),
// withinGeoBox, withinPolygon, polygonContains, count, and the errors (raw REST where the SDK
// would refuse the input itself). Cases follow Parse Server's ParseGeoPoint/ParsePolygon specs.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Parse, useServer, rest, createClass, rejectsWithCode } = require('../helpers/parse');

const ctx = useServer({ before, after });

const names = results => results.map(o => o.get('name'));
const sorted = results => names(results).sort();

async function saveAll(className, rows) {
  const objects = rows.map(row => new Parse.Object(className, row));
  await Parse.Object.saveAll(objects);
  return objects;
}

const SFO = () => new Parse.GeoPoint(37.6189722, -122.3748889);

describe('geo queries', () => {
  before(async () => {
    for (const c of ['City', 'Pt', 'Area', 'Line', 'Venue']) await createClass(c);
    // Parse Server's makeSomeGeoPoints, plus an object without a location.
    await saveAll('City', [
      { name: 'Sacramento', location: new Parse.GeoPoint(38.52, -121.5) },
      { name: 'Honolulu', location: new Parse.GeoPoint(21.35, -157.93) },
      { name: 'San Francisco', location: new Parse.GeoPoint(37.75, -122.68) },
      { name: 'Nowhere' },
    ]);
    await saveAll('Pt', [
      { name: 'inbound', location: new Parse.GeoPoint(1.5, 1.5) },
      { name: 'onbound', location: new Parse.GeoPoint(10, 10) },
      { name: 'outbound', location: new Parse.GeoPoint(20, 20) },
    ]);
  });

  describe('near', () => {
    it('returns the nearest first, without objects lacking the field', async () => {
      const results = await new Parse.Query('City').near('location', SFO()).find();
      assert.deepEqual(names(results), ['San Francisco', 'Sacramento', 'Honolulu']);
    });

    it('limit and skip page in distance order; first is the nearest', async () => {
      const page = await new Parse.Query('City').near('location', SFO()).limit(1).skip(1).find();
      assert.deepEqual(names(page), ['Sacramento']);
      const first = await new Parse.Query('City').near('location', SFO()).first();
      assert.equal(first.get('name'), 'San Francisco');
    });

    it('an explicit order takes precedence over the distance', async () => {
      const results = await new Parse.Query('City').near('location', SFO()).ascending('name').limit(2).find();
      assert.deepEqual(names(results), ['Honolulu', 'Sacramento']);
    });

    it('combines with other constraints', async () => {
      const results = await new Parse.Query('City')
        .near('location', SFO())
        .notEqualTo('name', 'San Francisco')
        .find();
      assert.deepEqual(names(results), ['Sacramento', 'Honolulu']);
    });
  });

  describe('withinKilometers / withinMiles / withinRadians', () => {
    for (const [method, max, want] of [
      ['withinKilometers', 4800, ['San Francisco', 'Sacramento', 'Honolulu']],
      ['withinKilometers', 3700, ['San Francisco', 'Sacramento']],
      ['withinKilometers', 100, ['San Francisco']],
      ['withinKilometers', 10, []],
      ['withinMiles', 2600, ['San Francisco', 'Sacramento', 'Honolulu']],
      ['withinMiles', 2200, ['San Francisco', 'Sacramento']],
      ['withinMiles', 62, ['San Francisco']],
      ['withinMiles', 10, []],
      ['withinRadians', 0.7, ['San Francisco', 'Sacramento', 'Honolulu']],
      ['withinRadians', 0.01, ['San Francisco']],
    ]) {
      it(`${method}(${max}) sorted by distance`, async () => {
        const results = await new Parse.Query('City')[method]('location', SFO(), max).find();
        assert.deepEqual(names(results), want);
      });
      it(`${method}(${max}) unsorted ($centerSphere)`, async () => {
        const results = await new Parse.Query('City')[method]('location', SFO(), max, false).find();
        assert.deepEqual(sorted(results), [...want].sort());
      });
    }

    it('radians along the equator (geo max distance large / medium / small)', async () => {
      await createClass('Eq');
      await saveAll('Eq', [0, 1, 2].map(i => ({ name: `i${i}`, location: new Parse.GeoPoint(0, i * 45) })));
      const center = new Parse.GeoPoint(1, -1);
      const find = max => new Parse.Query('Eq').withinRadians('location', center, max).find();
      assert.deepEqual(names(await find(3.14)), ['i0', 'i1', 'i2']);
      assert.deepEqual(names(await find(3.14 * 0.5)), ['i0', 'i1']);
      assert.deepEqual(names(await find(3.14 * 0.25)), ['i0']);
    });

    it('geo line: sorted by distance from a point', async () => {
      const rows = [];
      for (let i = 0; i < 10; ++i) {
        rows.push({ name: `seq${i}`, seq: i, construct: 'line', location: new Parse.GeoPoint(i * 4.0 - 12.0, i * 3.2 - 11.0) });
      }
      await saveAll('Line', rows);
      const results = await new Parse.Query('Line')
        .equalTo('construct', 'line')
        .withinMiles('location', new Parse.GeoPoint(24, 19), 10000)
        .find();
      assert.equal(results.length, 10);
      assert.equal(results[0].get('seq'), 9);
      assert.equal(results[3].get('seq'), 6);
    });

    it('count, also of an or of two circles', async () => {
      const inside = new Parse.GeoPoint(10, 10);
      const middle = new Parse.GeoPoint(20, 20);
      assert.equal(await new Parse.Query('Pt').withinKilometers('location', inside, 5).count(), 1);
      const q1 = new Parse.Query('Pt').withinKilometers('location', inside, 5);
      const q2 = new Parse.Query('Pt').withinKilometers('location', middle, 5);
      // Parse.Query.or puts the constraints inside $or, where $nearSphere only filters.
      assert.equal(await Parse.Query.or(q1, q2).count(), 2);
      assert.deepEqual(sorted(await Parse.Query.or(q1, q2).find()), ['onbound', 'outbound']);
    });
  });

  describe('withinGeoBox', () => {
    it('includes the edges of the box', async () => {
      const results = await new Parse.Query('Pt')
        .withinGeoBox('location', new Parse.GeoPoint(0, 0), new Parse.GeoPoint(10, 10))
        .find();
      assert.deepEqual(sorted(results), ['inbound', 'onbound']);
    });

    it('an inverted box matches nothing', async () => {
      const results = await new Parse.Query('Pt')
        .withinGeoBox('location', new Parse.GeoPoint(10, 10), new Parse.GeoPoint(0, 0))
        .find();
      assert.deepEqual(names(results), []);
    });
  });

  describe('withinPolygon', () => {
    const square = () => [
      new Parse.GeoPoint(0, 0),
      new Parse.GeoPoint(0, 10),
      new Parse.GeoPoint(10, 10),
      new Parse.GeoPoint(10, 0),
    ];

    it('GeoPoints, open or closed path: the boundary is inside', async () => {
      const open = await new Parse.Query('Pt').withinPolygon('location', square()).find();
      assert.deepEqual(sorted(open), ['inbound', 'onbound']);
      const closed = await new Parse.Query('Pt')
        .withinPolygon('location', [...square(), new Parse.GeoPoint(0, 0)])
        .find();
      assert.deepEqual(sorted(closed), ['inbound', 'onbound']);
    });

    it('a Parse.Polygon', async () => {
      const polygon = new Parse.Polygon([
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 10],
        [0, 0],
      ]);
      const results = await new Parse.Query('Pt').withinPolygon('location', polygon).find();
      assert.deepEqual(sorted(results), ['inbound', 'onbound']);
    });

    it('fewer than 3 points is 107', async () => {
      await rejectsWithCode(
        new Parse.Query('Pt').withinPolygon('location', [new Parse.GeoPoint(0, 0), new Parse.GeoPoint(1, 1)]).find(),
        Parse.Error.INVALID_JSON,
      );
    });
  });

  describe('polygonContains', () => {
    before(async () => {
      await saveAll('Area', [
        { name: 'p1', boundary: new Parse.Polygon([[0, 0], [0, 1], [1, 1], [1, 0]]) },
        { name: 'p2', boundary: new Parse.Polygon([[0, 0], [0, 2], [2, 2], [2, 0]]) },
        { name: 'p3', boundary: new Parse.Polygon([[10, 10], [10, 15], [15, 15], [15, 10], [10, 10]]) },
        { name: 'tall', boundary: new Parse.Polygon([[0.25, 0], [0.25, 1.25], [0.75, 1.25], [0.75, 0]]) },
      ]);
    });

    it('finds the polygons containing a point', async () => {
      const at = (lat, lng) => new Parse.Query('Area').polygonContains('boundary', new Parse.GeoPoint(lat, lng)).find();
      assert.deepEqual(sorted(await at(0.5, 0.5)), ['p1', 'p2', 'tall']);
      assert.deepEqual(sorted(await at(1.0, 0.5)), ['p1', 'p2']);
      assert.deepEqual(sorted(await at(15, 15)), ['p3']);
      assert.deepEqual(sorted(await at(50, 50)), []);
    });

    it('polygons round-trip closed', async () => {
      const p1 = await new Parse.Query('Area').equalTo('name', 'p1').first();
      assert.ok(p1.get('boundary') instanceof Parse.Polygon);
      assert.deepEqual(p1.get('boundary').coordinates, [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]);
    });
  });

  describe('errors', () => {
    const find = (className, where) =>
      rest(ctx.server, 'GET', `/classes/${className}?where=${encodeURIComponent(JSON.stringify(where))}`);
    const gp = (latitude, longitude) => ({ __type: 'GeoPoint', latitude, longitude });

    it('a box without exactly two corners is 107', async () => {
      const r = await find('Pt', { location: { $within: { $box: [gp(0, 0)] } } });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, { code: 107, error: 'malformatted $within arg' });
    });

    it('$maxDistance without $nearSphere is 107', async () => {
      const r = await find('Pt', { location: { $maxDistance: 1 } });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 107);
    });

    it('bad $centerSphere arguments are 107', async () => {
      for (const arg of [[], [[0, 0], 'invalid_distance'], [{ longitude: 0, dummytude: 0 }, 1]]) {
        const r = await find('Pt', { location: { $geoWithin: { $centerSphere: arg } } });
        assert.equal(r.status, 400, JSON.stringify(arg));
        assert.equal(r.body.code, 107, JSON.stringify(arg));
      }
    });

    it('out-of-range points are 400 / code 107 (Parse Server crashes with 500 / code 1)', async () => {
      for (const where of [
        { location: { $nearSphere: gp(91, 0) } },
        { location: { $geoWithin: { $polygon: [gp(0, 0), gp(181, 0), gp(0, 0)] } } },
        { location: { $geoWithin: { $centerSphere: [[-190, -190], 1] } } },
        { boundary: { $geoIntersects: { $point: gp(181, 181) } } },
      ]) {
        const r = await find('Pt', where);
        assert.equal(r.status, 400, JSON.stringify(where));
        assert.equal(r.body.code, 107, JSON.stringify(where));
      }
    });

    it('a bad $geoIntersects point is 107', async () => {
      const r = await find('Area', { boundary: { $geoIntersects: { $point: [] } } });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, { code: 107, error: 'bad $geoIntersect value; $point should be GeoPoint' });
    });
  });

  describe('one GeoPoint field per class', () => {
    it('two GeoPoints in one object are 111', async () => {
      const o = new Parse.Object('Venue', { a: new Parse.GeoPoint(20, 20), b: new Parse.GeoPoint(20, 20) });
      await rejectsWithCode(o.save(), Parse.Error.INCORRECT_TYPE);
    });

    it('a second GeoPoint field is 111', async () => {
      await new Parse.Object('Venue', { a: new Parse.GeoPoint(20, 20) }).save();
      await rejectsWithCode(new Parse.Object('Venue', { b: new Parse.GeoPoint(1, 1) }).save(), Parse.Error.INCORRECT_TYPE);
      await new Parse.Object('Venue', { a: new Parse.GeoPoint(1, 1) }).save();
      assert.equal(await new Parse.Query('Venue').count(), 2);
    });
  });
});
