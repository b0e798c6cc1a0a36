//! Differential test of the PostgreSQL query compiler: random objects in a real class table,
//! random queries, and the SQL answer (ids in order, and count) must equal what `model::query`
//! computes in memory over the same objects.
//!
//! Needs PostgreSQL at `CHRONICLE_TEST_DATABASE_URL`. `CHRONICLE_TEST_SEED` replays a run;
//! `CHRONICLE_TEST_QUERIES` changes the number of queries.

// The compiler module compiled into this test directly, so it needs no public path.
#[path = "../src/postgres/regex_pg.rs"]
mod regex_pg;
#[path = "../src/postgres/sql.rs"]
mod sql;

use model::geo::{self, GeoCond, Point};
use model::query::{Cond, Filter, Query, SortKey};
use model::{ClassSchema, FieldType, Map};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use std::collections::HashMap;
use std::sync::Arc;

const OBJECTS: usize = 300;
const QUERIES: usize = 2000;

/// xorshift64*: small, seeded, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const STRINGS: &[&str] = &[
    "", "a", "A", "b", "B", "ab", "aB", "Ab", "abc", "é", "É", "e", "E", "z", "Z", "ß", "ss",
    "日本", "😀", "a b", "a\"b", "a\\b", "tab\tx", "\u{1}x", "\u{7f}", "a/b", "10", "2", "1.5",
    "true", "null", "p1", "a\nb", "x\ny",
];

fn number(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 | 1 => json!(rng.below(9) as i64 - 4),
        2 => json!(*rng.pick(&[
            0.5,
            -0.5,
            1.5,
            2.0,
            1.0,
            -2.0,
            3.25,
            123.456,
            0.1,
            0.0,
            -0.0,
            1e-7,
            2.5e-6,
            1e-5,
            1.5e-5,
            1e-6,
            -1e-6,
            123456789012345.6,
            1e15,
            1e300,
            -2.5e-300,
        ])),
        _ => rng
            .pick(&[
                json!(10),
                json!(100),
                json!(-100),
                json!(9_007_199_254_740_993_u64),
                json!(9_007_199_254_740_992_u64),
                json!(1e16),
                json!(1e20),
                json!(0.30000000000000004),
                json!(18_446_744_073_709_551_615_u64),
                json!(-9_223_372_036_854_775_808_i64),
            ])
            .clone(),
    }
}

fn string(rng: &mut Rng) -> Value {
    json!(*rng.pick(STRINGS))
}

fn date(rng: &mut Rng) -> Value {
    json!({"__type": "Date", "iso": iso(rng)})
}

fn iso(rng: &mut Rng) -> String {
    format!(
        "2024-0{}-1{}T0{}:00:00.{:03}Z",
        1 + rng.below(3),
        rng.below(3),
        rng.below(3),
        rng.below(3) * 250
    )
}

fn pointer(rng: &mut Rng) -> Value {
    let class = *rng.pick(&["A", "B", "_User"]);
    let id = *rng.pick(&["p1", "p2", "p10", "P1"]);
    model::value::pointer(class, id)
}

fn typed(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!({"__type": "GeoPoint", "latitude": 1.5, "longitude": -2.0}),
        json!({"__type": "GeoPoint", "latitude": 1, "longitude": 2}),
        json!({"__type": "GeoPoint", "latitude": "1", "longitude": 2}),
        json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [0, 0]]}),
        json!({"__type": "File", "name": "a.txt", "url": "http://x/a.txt"}),
        json!({"__type": "File", "name": "b.txt"}),
        json!({"__type": "Bytes", "base64": "aGVsbG8="}),
        json!({}),
        // Not a normalised Date (no iso), but `compare` gives it a meaning: below any Date.
        json!({"__type": "Date"}),
    ])
    .clone()
}

// ----- geo values: coordinates on a small grid (so that points fall on edges, vertices and box
// sides), exact decimals, the extremes, and tiny values that `geo::snap` turns into 0 -----

fn coordinate(rng: &mut Rng, max: i64) -> f64 {
    match rng.below(10) {
        0..=4 => (rng.below(9) as f64 - 2.0) * *rng.pick(&[1.0, 0.5, 2.5]),
        5..=7 => {
            // k/1000 (or k/10^6): the nearest f64 to a short decimal, which serde_json reads back
            // exactly from PostgreSQL's text.
            let scale = *rng.pick(&[1_000_i64, 1_000_000]);
            let k = (rng.next() % (2 * max * scale + 1) as u64) as i64 - max * scale;
            k as f64 / scale as f64
        }
        8 => *rng.pick(&[0.0, -0.0, max as f64, -(max as f64), 89.99999999999999]),
        _ => *rng.pick(&[1e-300, -2.5e-300, 5e-324, 1e-100, -1e-100, 1.5e-100, 3e-101]),
    }
}

fn point(rng: &mut Rng) -> Point {
    Point {
        latitude: coordinate(rng, 90),
        longitude: coordinate(rng, 180),
    }
}

fn geo_point(rng: &mut Rng) -> Value {
    let p = point(rng);
    json!({"__type": "GeoPoint", "latitude": p.latitude, "longitude": p.longitude})
}

fn ring(rng: &mut Rng, st: Option<&Stored>) -> Vec<Point> {
    let mut ring: Vec<Point> = (0..3 + rng.below(4))
        .map(|_| match st {
            Some(st) if rng.chance(25) => stored_point(rng, st).unwrap_or_else(|| point(rng)),
            _ => point(rng),
        })
        .collect();
    if let Some(s) = st
        .filter(|_| rng.chance(30))
        .and_then(|st| stored_point(rng, st))
    {
        // An edge through a stored point (up to rounding): the crossing and on-edge tests then
        // decide by the last bits, which SQL must reproduce.
        let i = rng.below(ring.len() - 1);
        ring[i + 1] = Point {
            latitude: 2.0 * s.latitude - ring[i].latitude,
            longitude: 2.0 * s.longitude - ring[i].longitude,
        };
    }
    ring
}

/// A stored Polygon: a closed ring of [lat, lng] pairs as normalisation writes it; now and then
/// an open ring or a malformed one.
fn polygon(rng: &mut Rng) -> Value {
    let mut coords: Vec<Value> = ring(rng, None)
        .iter()
        .map(|p| json!([p.latitude, p.longitude]))
        .collect();
    match rng.below(10) {
        0 => {}
        1 => coords.push(json!([1, 2, 3])),
        2 => coords.push(json!(["1", 2])),
        _ => coords.push(coords[0].clone()),
    }
    json!({"__type": "Polygon", "coordinates": coords})
}

fn stored_point(rng: &mut Rng, st: &Stored) -> Option<Point> {
    let points: Vec<Point> = ["g", "o", "arr.0"]
        .iter()
        .flat_map(|p| st.at.get(p).into_iter().flatten())
        .filter_map(geo::stored_point)
        .collect();
    (!points.is_empty()).then(|| *rng.pick(&points))
}

fn query_point(rng: &mut Rng, st: &Stored) -> Point {
    if rng.chance(40) {
        if let Some(p) = stored_point(rng, st) {
            return p;
        }
    }
    if rng.chance(30) {
        // A vertex of a stored polygon, or a point on one of its edges (up to rounding).
        let rings: Vec<Vec<Point>> = st.at["poly"]
            .iter()
            .filter_map(geo::stored_polygon)
            .filter(|r| r.len() > 1)
            .collect();
        if !rings.is_empty() {
            let ring = rng.pick(&rings);
            let i = rng.below(ring.len() - 1);
            let (a, b) = (ring[i], ring[i + 1]);
            if rng.chance(50) {
                return a;
            }
            let t = rng.below(1001) as f64 / 1000.0;
            return Point {
                latitude: a.latitude + (b.latitude - a.latitude) * t,
                longitude: a.longitude + (b.longitude - a.longitude) * t,
            };
        }
    }
    point(rng)
}

/// A radius in radians: fixed ones, or exactly a stored point's distance (a boundary case).
fn radius(rng: &mut Rng, center: Point, st: &Stored) -> f64 {
    if rng.chance(30) {
        if let Some(p) = stored_point(rng, st) {
            return geo::distance(center, p);
        }
    }
    *rng.pick(&[
        0.0,
        1e-300,
        1e-9,
        0.001,
        0.01,
        0.05,
        0.1,
        0.5,
        1.0,
        3.2,
        std::f64::consts::PI,
    ])
}

fn geo_cond(rng: &mut Rng, path: &str, st: &Stored) -> GeoCond {
    // Only $geoIntersects can match a Polygon, and all the others a GeoPoint.
    let kind = match path {
        "poly" if rng.chance(80) => 5,
        "g" => rng.below(5),
        _ => rng.below(6),
    };
    match kind {
        0 | 1 => {
            let point = query_point(rng, st);
            let max_distance = rng.chance(70).then(|| radius(rng, point, st));
            GeoCond::Near {
                point,
                max_distance,
            }
        }
        2 => {
            let (a, b) = (query_point(rng, st), query_point(rng, st));
            // Usually a proper box, sometimes an inverted one (which matches nothing).
            let (southwest, northeast) = if rng.chance(80) {
                (
                    Point {
                        latitude: a.latitude.min(b.latitude),
                        longitude: a.longitude.min(b.longitude),
                    },
                    Point {
                        latitude: a.latitude.max(b.latitude),
                        longitude: a.longitude.max(b.longitude),
                    },
                )
            } else {
                (a, b)
            };
            GeoCond::Box {
                southwest,
                northeast,
            }
        }
        3 => GeoCond::Polygon(ring(rng, Some(st))),
        4 => {
            let center = query_point(rng, st);
            GeoCond::CenterSphere {
                center,
                radius: radius(rng, center, st),
            }
        }
        _ => GeoCond::Intersects(query_point(rng, st)),
    }
}

/// Boundary cases made on purpose from the stored geo values: points on (up to rounding) the
/// edges of stored polygons, query triangles with an edge through (up to rounding) a stored
/// point, radii exactly a stored point's distance. Whether such a point is inside is decided
/// by the last bits of the arithmetic, which the SQL must reproduce.
fn geo_checks(rng: &mut Rng, st: &Stored, n: usize) -> Vec<Query> {
    let rings: Vec<Vec<Point>> = st.at["poly"]
        .iter()
        .filter_map(geo::stored_polygon)
        .filter(|r| r.len() > 1)
        .collect();
    let points: Vec<Point> = st.at["g"].iter().filter_map(geo::stored_point).collect();
    let one = |path: &str, cond: GeoCond| Query {
        filter: Filter::And(vec![Filter::Field {
            path: path.to_string(),
            cond: Cond::Geo(cond),
        }]),
        limit: OBJECTS,
        ..Query::default()
    };
    let along = |a: Point, b: Point, t: f64| Point {
        latitude: a.latitude + (b.latitude - a.latitude) * t,
        longitude: a.longitude + (b.longitude - a.longitude) * t,
    };
    let mut out = Vec::new();
    for k in 0..n {
        match k % 3 {
            0 if !rings.is_empty() => {
                let ring = rng.pick(&rings);
                let i = rng.below(ring.len() - 1);
                let t = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                out.push(one(
                    "poly",
                    GeoCond::Intersects(along(ring[i], ring[i + 1], t)),
                ));
            }
            1 if !points.is_empty() => {
                let (s, a, c) = (*rng.pick(&points), point(rng), point(rng));
                let b = along(a, s, 1.2 + rng.below(1000) as f64 / 250.0);
                out.push(one("g", GeoCond::Polygon(vec![a, b, c])));
            }
            2 if !points.is_empty() => {
                let (s, center) = (*rng.pick(&points), query_point(rng, st));
                out.push(one(
                    "g",
                    GeoCond::CenterSphere {
                        center,
                        radius: geo::distance(center, s),
                    },
                ));
            }
            _ => {}
        }
    }
    out
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 | 1 => number(rng),
        2 | 3 => string(rng),
        4 => json!(rng.chance(50)),
        5 => Value::Null,
        6 => pointer(rng),
        _ => date(rng),
    }
}

fn array(rng: &mut Rng, depth: usize) -> Value {
    let n = rng.below(5);
    Value::Array(
        (0..n)
            .map(|_| match rng.below(10) {
                0 if depth > 0 => array(rng, depth - 1),
                1 if depth > 0 => object(rng, depth - 1),
                2 => typed(rng),
                _ => scalar(rng),
            })
            .collect(),
    )
}

fn object(rng: &mut Rng, depth: usize) -> Value {
    let mut m = Map::new();
    for key in ["x", "y", "z", "long_key", "q\"k"] {
        if rng.chance(50) {
            let v = if depth > 0 && rng.chance(30) {
                object(rng, depth - 1)
            } else {
                any(rng, 0)
            };
            m.insert(key.to_string(), v);
        }
    }
    Value::Object(m)
}

fn any(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(10) {
        0 if depth > 0 => array(rng, depth - 1),
        1 if depth > 0 => object(rng, depth - 1),
        2 => typed(rng),
        _ => scalar(rng),
    }
}

/// A typical value for a field, or now and then anything else.
fn field_value(rng: &mut Rng, field: &str, typed: bool) -> Value {
    // With a schema, the scalar fields hold only their type (null and missing are elsewhere).
    if rng.chance(12) && !(typed && TYPED.iter().any(|(f, _)| *f == field)) {
        return any(rng, 2);
    }
    match field {
        "n" => number(rng),
        "s" => string(rng),
        "b" => json!(rng.chance(50)),
        "d" => date(rng),
        "p" => pointer(rng),
        "arr" => array(rng, 1),
        "g" => match rng.below(10) {
            0 => json!([geo_point(rng)]),
            _ => geo_point(rng),
        },
        "poly" => polygon(rng),
        "o" => match rng.below(8) {
            0 => json!([{"x": 1}, {"x": "a"}]),
            1 => string(rng),
            _ => object(rng, 2),
        },
        _ => any(rng, 2),
    }
}

const FIELDS: &[&str] = &["n", "s", "b", "d", "p", "arr", "o", "m", "g", "poly"];

/// The schema of the typed run: what the write path guarantees for these fields.
const TYPED: &[(&str, FieldType)] = &[
    ("n", FieldType::Number),
    ("s", FieldType::String),
    ("b", FieldType::Boolean),
    ("d", FieldType::Date),
];

fn make_object(rng: &mut Rng, i: usize, typed: bool) -> Map {
    let mut m = Map::new();
    let alphabet = b"abcAB01_";
    let id: String = (0..4)
        .map(|_| *rng.pick(alphabet) as char)
        .chain(format!("{i}").chars())
        .collect();
    let created = iso(rng);
    let updated = if rng.chance(50) {
        created.clone()
    } else {
        iso(rng)
    };
    m.insert("objectId".into(), json!(id));
    m.insert("createdAt".into(), json!(created));
    m.insert("updatedAt".into(), json!(updated));
    // ACLs: public, none, nobody, or a mix of users and roles (the readers below draw from them).
    match rng.below(6) {
        0 => {}
        1 => {
            m.insert("ACL".into(), json!({}));
        }
        2 | 3 => {
            m.insert("ACL".into(), json!({"*": {"read": true}}));
        }
        _ => {
            let mut acl = Map::new();
            for who in ["u1", "u2", "role:A", "role:B", "*"] {
                if rng.chance(40) {
                    let read = rng.chance(70);
                    acl.insert(who.into(), json!({"read": read, "write": !read}));
                }
            }
            m.insert("ACL".into(), Value::Object(acl));
        }
    }
    for f in FIELDS {
        match rng.below(100) {
            0..=14 => {}
            15..=22 => {
                m.insert(f.to_string(), Value::Null);
            }
            _ => {
                let v = field_value(rng, f, typed);
                m.insert(f.to_string(), v);
            }
        }
    }
    m
}

const PATHS: &[&str] = &[
    "n",
    "s",
    "b",
    "d",
    "p",
    "arr",
    "o",
    "o.x",
    "o.y",
    "o.y.z",
    "o.x.y",
    "o.long_key",
    "m",
    "m.x",
    "createdAt",
    "updatedAt",
    "objectId",
    "nope",
    "arr.0",
    "s.x",
    "g",
    "poly",
];

/// A query value for a path: usually one of the kind stored there, sometimes anything.
/// What the objects hold, to draw query values from.
struct Stored {
    ids: Vec<String>,
    /// The values found at each of `PATHS` (as `field_value` in model::query sees them).
    at: HashMap<&'static str, Vec<Value>>,
}

impl Stored {
    fn new(objects: &[Map]) -> Stored {
        let ids = objects
            .iter()
            .map(|o| o["objectId"].as_str().unwrap_or_default().to_string())
            .collect();
        let mut at = HashMap::new();
        for path in PATHS {
            let found = objects
                .iter()
                .filter_map(|o| {
                    let mut parts = path.split('.');
                    let mut cur = o.get(parts.next()?)?;
                    for p in parts {
                        cur = cur.get(p)?;
                    }
                    Some(match (*path, cur) {
                        ("createdAt" | "updatedAt", Value::String(s)) => {
                            json!({"__type": "Date", "iso": s})
                        }
                        _ => cur.clone(),
                    })
                })
                .collect();
            at.insert(*path, found);
        }
        Stored { ids, at }
    }
}

/// `v` with integral numbers switched between integer and float form (`2` <-> `2.0`), which
/// serde_json's `==` tells apart inside arrays and objects.
fn flip_numbers(rng: &mut Rng, v: &Value) -> Value {
    match v {
        Value::Number(n) if rng.chance(50) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if i.unsigned_abs() < 1 << 53 => json!(i as f64),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9e15 => json!(f as i64),
            _ => v.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|i| flip_numbers(rng, i)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, i)| (k.clone(), flip_numbers(rng, i)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

fn query_value(rng: &mut Rng, path: &str, st: &Stored) -> Value {
    if rng.chance(40) {
        if let Some(v) = st
            .at
            .get(path)
            .filter(|vs| !vs.is_empty())
            .map(|vs| rng.pick(vs).clone())
        {
            // Plain objects are not valid query values; pointers, Dates and arrays are.
            let plain = v
                .as_object()
                .is_some_and(|m| !m.is_empty() && !m.contains_key("__type"));
            if !plain {
                return if rng.chance(30) {
                    flip_numbers(rng, &v)
                } else {
                    v
                };
            }
        }
    }
    if rng.chance(15) {
        return match rng.below(4) {
            0 => array(rng, 1),
            _ => scalar(rng),
        };
    }
    match path {
        "createdAt" | "updatedAt" => match rng.below(6) {
            0 => json!(iso(rng)), // a bare string: no Date equals it
            1 => json!({"__type": "Date"}),
            _ => date(rng),
        },
        "objectId" => json!(rng.pick(&st.ids).clone()),
        "d" if rng.chance(10) => json!({"__type": "Date"}),
        "o" | "m" if rng.chance(30) => typed(rng),
        _ => {
            let root = path.split('.').next().unwrap_or(path);
            field_value(rng, root, false)
        }
    }
}

fn values(rng: &mut Rng, path: &str, st: &Stored) -> Vec<Value> {
    (0..rng.below(4))
        .map(|_| query_value(rng, path, st))
        .collect()
}

/// Patterns over the test strings: anchors, classes, case, escapes, repetition, Unicode, the
/// SDKs' `\Q…\E` quoting, line and word boundaries.
const PATTERNS: &[&str] = &[
    "a",
    "^a",
    "b$",
    "^$",
    "^a.*b$",
    "[aA]",
    "[^a]",
    "A|é",
    "(ab)+",
    "a{2}",
    "s{1,2}",
    "^.$",
    "\\d",
    "^\\d+$",
    "\\w",
    "\\s",
    "\\.",
    "\\\\",
    "\"",
    "^\\Qa\"b\\E",
    "\\Q1.5\\E",
    "日",
    "😀$",
    "(?i)É",
    "\\bb",
    "\\Bb",
    "a\\b",
    "x$",
    "^x",
    "\\t",
    "[\\u{1}-\\u{7f}]",
    "é|ß",
    "^(a|b)*?$",
    "a??b",
    "[[:alpha:]]",
    "\\p{Lu}",
    "(?s:.)",
    "^(?:)",
];

fn regex(rng: &mut Rng) -> model::pattern::Pattern {
    let source = *rng.pick(PATTERNS);
    let options = *rng.pick(&["", "", "i", "m", "s", "x", "im", "is"]);
    model::pattern::Pattern::new(source, options).expect("a valid test pattern")
}

fn cond(rng: &mut Rng, path: &str, st: &Stored) -> Cond {
    if rng.chance(if matches!(path, "g" | "poly") { 70 } else { 6 }) {
        return Cond::Geo(geo_cond(rng, path, st));
    }
    let kind = rng.below(13);
    let mut v = || query_value(rng, path, st);
    let c = match kind {
        0 => Cond::Eq(v()),
        1 => Cond::Ne(v()),
        2 => Cond::Lt(v()),
        3 => Cond::Lte(v()),
        4 => Cond::Gt(v()),
        5 => Cond::Gte(v()),
        6 => Cond::In(values(rng, path, st)),
        7 => Cond::Nin(values(rng, path, st)),
        8 => Cond::Exists(rng.chance(50)),
        9 => Cond::All(values(rng, path, st)),
        10 => Cond::ContainedBy(values(rng, path, st)),
        11 => Cond::Regex(regex(rng)),
        _ => Cond::AllRegex((0..1 + rng.below(2)).map(|_| regex(rng)).collect()),
    };
    // Arrays of pointers and scalars feed $all/$containedBy/$in with items of stored arrays.
    match c {
        Cond::All(_) | Cond::ContainedBy(_) if path == "arr" && rng.chance(60) => {
            let items: Vec<Value> = (0..rng.below(4)).map(|_| scalar(rng)).collect();
            if rng.chance(50) {
                Cond::All(items)
            } else {
                Cond::ContainedBy(items)
            }
        }
        c => c,
    }
}

fn filter(rng: &mut Rng, depth: usize, st: &Stored) -> Filter {
    let kind = if depth == 0 { 0 } else { rng.below(10) };
    let subs = |rng: &mut Rng, min: usize| -> Vec<Filter> {
        (0..min + rng.below(3))
            .map(|_| filter(rng, depth - 1, st))
            .collect()
    };
    match kind {
        0..=4 => {
            let path = if rng.chance(12) {
                *rng.pick(&["g", "poly"])
            } else {
                *rng.pick(PATHS)
            };
            Filter::Field {
                path: path.to_string(),
                cond: cond(rng, path, st),
            }
        }
        5..=6 => Filter::And(subs(rng, 0)),
        7..=8 => Filter::Or(subs(rng, 0)),
        _ => Filter::Nor(subs(rng, 1)),
    }
}

const ORDER_FIELDS: &[&str] = &[
    "n",
    "s",
    "b",
    "d",
    "p",
    "arr",
    "o",
    "o.x",
    "o.y",
    "m",
    "createdAt",
    "updatedAt",
    "objectId",
    "nope",
    "g",
];

fn query(rng: &mut Rng, st: &Stored) -> Query {
    let mut filter = filter(rng, 3, st);
    if rng.chance(20) {
        // A top-level $nearSphere: results sorted by distance unless an order is given.
        let point = query_point(rng, st);
        let max_distance = rng.chance(40).then(|| radius(rng, point, st));
        let near = Filter::Field {
            path: rng
                .pick(&["g", "g", "g", "o", "arr.0", "createdAt"])
                .to_string(),
            cond: Cond::Geo(GeoCond::Near {
                point,
                max_distance,
            }),
        };
        filter = Filter::And(if rng.chance(50) {
            vec![near]
        } else {
            vec![near, filter]
        });
    }
    let ordered = rng.chance(50);
    Query {
        near: geo::near_of(&filter),
        filter,
        order: (0..if ordered { rng.below(4) } else { 0 })
            .map(|_| SortKey {
                field: rng.pick(ORDER_FIELDS).to_string(),
                descending: rng.chance(50),
            })
            .collect(),
        limit: *rng.pick(&[0, 1, 5, 20, 100, 1000]),
        skip: *rng.pick(&[0, 0, 0, 1, 3, 10, 50]),
        readers: match rng.below(4) {
            0 => None,
            1 => Some(vec!["*".into()]),
            2 => Some(vec!["*".into(), "u1".into()]),
            _ => Some(vec!["*".into(), "u2".into(), "role:A".into()]),
        },
        ..Query::default()
    }
}

fn has_geo(f: &Filter) -> bool {
    match f {
        Filter::And(fs) | Filter::Or(fs) | Filter::Nor(fs) => fs.iter().any(has_geo),
        Filter::Field { cond, .. } => matches!(cond, Cond::Geo(_)),
        Filter::RelatedTo { .. } => false,
    }
}

fn in_memory(q: &Query, objects: &[Map]) -> (Vec<String>, i64) {
    let mut hits: Vec<&Map> = objects.iter().filter(|o| q.matches(o)).collect();
    let count = hits.len() as i64;
    q.sort(&mut hits);
    let ids = hits
        .iter()
        .skip(q.skip)
        .take(q.limit)
        .map(|o| o["objectId"].as_str().unwrap_or_default().to_string())
        .collect();
    (ids, count)
}

async fn in_sql(
    pool: &PgPool,
    table: &str,
    q: &Query,
    schema: Option<&ClassSchema>,
) -> Result<(Vec<String>, i64), (String, sqlx::Error)> {
    let mut find = QueryBuilder::<Postgres>::new(format!("SELECT object_id FROM {table} WHERE "));
    sql::push_filter(&mut find, &q.filter, schema);
    sql::push_readers(&mut find, q);
    sql::push_sort(&mut find, q, schema);
    sql::push_page(&mut find, q);
    let text = find.sql().to_string();
    let rows = find
        .build()
        .persistent(false)
        .fetch_all(pool)
        .await
        .map_err(|e| (text.clone(), e))?;
    let ids = rows.iter().map(|r| r.get::<String, _>(0)).collect();

    let mut count = QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {table} WHERE "));
    sql::push_filter(&mut count, &q.filter, schema);
    sql::push_readers(&mut count, q);
    let text = count.sql().to_string();
    let n: i64 = count
        .build()
        .persistent(false)
        .fetch_one(pool)
        .await
        .map_err(|e| (text, e))?
        .get(0);
    Ok((ids, n))
}

/// One class of random objects and random queries on it; `typed`: the class has a schema
/// (`TYPED`) that its objects respect, and the compiler is given it.
async fn run(
    pool: &PgPool,
    schema: &str,
    rng: &mut Rng,
    queries: usize,
    typed: bool,
) -> Result<(usize, usize, usize), String> {
    let name = if typed { "Typed" } else { "Thing" };
    let table = format!("\"{schema}\".\"{name}\"");
    let class_schema = typed.then(|| {
        let mut s = ClassSchema::new(name);
        for (f, t) in TYPED {
            s.fields.insert(f.to_string(), t.clone());
            // An index led by each typed field: equality on it compiles to the typed key.
            let keys = json!({*f: 1}).as_object().cloned().unwrap_or_default();
            s.indexes.insert(format!("by_{f}"), keys);
        }
        s
    });
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
        .execute(pool)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!(
        "CREATE TABLE {table} (object_id text PRIMARY KEY, created_at text NOT NULL, \
         updated_at text NOT NULL, data jsonb NOT NULL, _rperm text[], _wperm text[])"
    ))
    .execute(pool)
    .await
    .map_err(|e| e.to_string())?;
    // The indexes the store would create for those declarations (checks their DDL too).
    for (f, t) in TYPED.iter().filter(|_| typed) {
        let key = sql::index_key(f, t).expect("a typed key");
        sqlx::query(&format!(
            "CREATE INDEX ON {table} ({key} ASC NULLS FIRST, object_id)"
        ))
        .execute(pool)
        .await
        .map_err(|e| e.to_string())?;
    }

    let mut insert = QueryBuilder::<Postgres>::new(format!(
        "INSERT INTO {table} (object_id, created_at, updated_at, data, _rperm, _wperm) "
    ));
    let made: Vec<Map> = (0..OBJECTS).map(|i| make_object(rng, i, typed)).collect();
    insert.push_values(made.iter().enumerate(), |mut row, (i, o)| {
        // Rows as the store writes them (the id and timestamps only in their columns) and, every
        // other one, as it wrote them before (in `data` as well).
        let mut data = o.clone();
        if i % 2 == 1 {
            for column_key in ["objectId", "createdAt", "updatedAt"] {
                data.remove(column_key);
            }
        }
        row.push_bind(o["objectId"].as_str().unwrap_or_default().to_string())
            .push_bind(o["createdAt"].as_str().unwrap_or_default().to_string())
            .push_bind(o["updatedAt"].as_str().unwrap_or_default().to_string())
            .push_bind(Json(Value::Object(data)));
        let (read, write) = readmodel::postgres::permissions(o);
        row.push_bind(read).push_bind(write);
    });
    insert
        .build()
        .execute(pool)
        .await
        .map_err(|e| e.to_string())?;

    // The objects as the store gives them back (jsonb's key order and number forms): the
    // in-memory semantics are evaluated on exactly what PostgreSQL holds.
    let objects: Arc<Vec<Map>> = sqlx::query_as::<_, (Json<Value>, String, String, String)>(
        &format!("SELECT data, object_id, created_at, updated_at FROM {table}"),
    )
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())?
    .into_iter()
    .filter_map(|(Json(v), id, created, updated)| match v {
        Value::Object(mut m) => {
            m.insert("objectId".into(), Value::String(id));
            m.insert("createdAt".into(), Value::String(created));
            m.insert("updatedAt".into(), Value::String(updated));
            Some(m)
        }
        _ => None,
    })
    .collect::<Vec<_>>()
    .into();
    assert_eq!(objects.len(), OBJECTS);
    let stored = Stored::new(&objects);

    // Every stored array as both bounds of a range: the SQL rendering of serde_json's text
    // (`compare` orders arrays and objects by it) must reproduce it exactly.
    let mut checks = Vec::new();
    for (path, vs) in &stored.at {
        for v in vs.iter().filter(|v| v.is_array()) {
            checks.push(Query {
                filter: Filter::And(vec![
                    Filter::Field {
                        path: path.to_string(),
                        cond: Cond::Lte(v.clone()),
                    },
                    Filter::Field {
                        path: path.to_string(),
                        cond: Cond::Gte(v.clone()),
                    },
                ]),
                limit: OBJECTS,
                ..Query::default()
            });
        }
    }
    // Every test pattern with every option, on the string field and on arrays: the translation
    // to PostgreSQL's regular expressions must match exactly the same strings.
    for source in PATTERNS {
        for options in ["", "i", "m", "s", "x", "imsx"] {
            for path in ["s", "arr"] {
                let p = model::pattern::Pattern::new(source, options).expect("a valid pattern");
                checks.push(Query {
                    filter: Filter::Field {
                        path: path.to_string(),
                        cond: Cond::Regex(p),
                    },
                    limit: OBJECTS,
                    ..Query::default()
                });
            }
        }
    }
    checks.extend(geo_checks(rng, &stored, 300));
    let (mut compared, mut nonempty, mut geo_nonempty) = (0, 0, 0);
    let generated = std::iter::repeat_with(|| query(rng, &stored)).take(queries);
    for (i, q) in checks.into_iter().chain(generated).enumerate() {
        // The reference is slow in a debug build: evaluate it on another thread meanwhile.
        let memory = tokio::task::spawn_blocking({
            let (q, objects) = (q.clone(), objects.clone());
            move || in_memory(&q, &objects)
        });
        let got = in_sql(pool, &table, &q, class_schema.as_ref()).await;
        let want = memory
            .await
            .map_err(|e| format!("query #{i}: in-memory evaluation: {e}"))?;
        let got = match got {
            Ok(got) => got,
            Err((text, e)) => {
                return Err(format!("query #{i} failed: {e}\n{q:#?}\nSQL: {text}"));
            }
        };
        if got != want {
            let mut msg = format!(
                "query #{i} differs\n{q:?}\nmemory: count {} ids {:?}\nsql:    count {} ids {:?}\n",
                want.1, want.0, got.1, got.0
            );
            let show = |id: &str| {
                let o = objects.iter().find(|o| o["objectId"] == json!(id));
                o.map(|o| Value::Object(o.clone()).to_string())
                    .unwrap_or_default()
            };
            for id in want.0.iter().filter(|id| !got.0.contains(id)) {
                msg.push_str(&format!("only in memory: {}\n", show(id)));
            }
            for id in got.0.iter().filter(|id| !want.0.contains(id)) {
                msg.push_str(&format!("only in sql: {}\n", show(id)));
            }
            if let Some(i) = want.0.iter().zip(&got.0).position(|(a, b)| a != b) {
                msg.push_str(&format!(
                    "first difference at {i}:\n memory: {}\n sql:    {}\n",
                    show(&want.0[i]),
                    show(&got.0[i])
                ));
            }
            let mut find = QueryBuilder::<Postgres>::new("SELECT … WHERE ");
            sql::push_filter(&mut find, &q.filter, class_schema.as_ref());
            sql::push_readers(&mut find, &q);
            sql::push_sort(&mut find, &q, class_schema.as_ref());
            msg.push_str(&format!("SQL: {}\n", find.sql()));
            return Err(msg);
        }
        compared += 1;
        if want.1 > 0 {
            nonempty += 1;
            if has_geo(&q.filter) {
                geo_nonempty += 1;
            }
        }
    }
    Ok((compared, nonempty, geo_nonempty))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sql_matches_in_memory_semantics() {
    let url = std::env::var("CHRONICLE_TEST_DATABASE_URL")
        .expect("CHRONICLE_TEST_DATABASE_URL must point at a PostgreSQL database");
    let seed = std::env::var("CHRONICLE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        | 1;
    let queries = std::env::var("CHRONICLE_TEST_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(QUERIES);
    println!("pg_sql: seed {seed} (replay with CHRONICLE_TEST_SEED={seed})");
    let mut rng = Rng(seed);
    let schema = format!("sqltest_{:016x}", rng.next());

    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect to CHRONICLE_TEST_DATABASE_URL");
    let started = std::time::Instant::now();
    let mut outcome = run(&pool, &schema, &mut rng, queries, false).await;
    if let Ok((compared, nonempty, geo)) = outcome {
        outcome = run(&pool, &schema, &mut rng, queries / 2, true)
            .await
            .map(|(c, n, g)| (compared + c, nonempty + n, geo + g));
    }
    let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&pool)
        .await;
    match outcome {
        Ok((compared, nonempty, geo)) => println!(
            "pg_sql: {compared} queries over {OBJECTS} objects agree ({nonempty} with matches, \
             {geo} of them with geo constraints) in {:?}",
            started.elapsed()
        ),
        Err(msg) => panic!("seed {seed}: {msg}"),
    }
    dropped.expect("drop the test schema");
}
