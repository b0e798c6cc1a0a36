//! Geo queries: the `$nearSphere`, `$within`, `$geoWithin` and `$geoIntersects` constraints of one
//! field parsed into a typed `GeoCond`, how a stored value matches one, and great-circle distance.
//!
//! Parse Server's Mongo adapter (MongoTransform.js) is the reference for the accepted shapes and
//! its error codes; Mongo's geo semantics are the reference for matching: boxes and polygons
//! include their boundary, an inverted box (south-west above or east of north-east) matches
//! nothing, distances are on the unit sphere in radians.
//!
//! The PostgreSQL read model evaluates the same arithmetic in SQL (`readmodel`'s `geo_sql.rs`),
//! so every computation here is plain f64 arithmetic plus libm's `sin`, `cos`, `asin` and
//! `sqrt`, in an order SQL can reproduce step by step; both sides then agree to the bit, on
//! boundaries too. Two consequences shape the code:
//! - PostgreSQL raises an error when a float8 product or quotient of non-zero operands underflows
//!   to zero, so every coordinate goes through `snap` (magnitudes below 1e-100 degrees become 0)
//!   before any arithmetic; after that no product below can underflow (see `snap`).
//! - nothing is precomputed in a way SQL could not follow (no trigonometric identities, no
//!   reordering of sums).

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::ParseError;
use crate::query::{Cond, Filter};
use crate::Map;

/// Parse Server's divisor for `$maxDistanceInMiles` (MongoTransform.js; the JS SDK's
/// `withinMiles` converts with 3958.8 itself and sends radians).
pub const EARTH_RADIUS_MILES: f64 = 3959.0;
/// Parse Server's divisor for `$maxDistanceInKilometers`.
pub const EARTH_RADIUS_KILOMETERS: f64 = 6371.0;
/// Degrees to radians, as the JS SDK's `radiansTo` computes it (`Math.PI / 180.0`).
pub const DEGREES_TO_RADIANS: f64 = std::f64::consts::PI / 180.0;
/// Coordinates smaller than this (in degrees) count as 0 in arithmetic; see `snap`.
pub const SNAP: f64 = 1e-100;

/// The constraint keys this module consumes from a field constraint.
pub const OPERATORS: &[&str] = &[
    "$nearSphere",
    "$maxDistance",
    "$maxDistanceInRadians",
    "$maxDistanceInMiles",
    "$maxDistanceInKilometers",
    "$within",
    "$geoWithin",
    "$geoIntersects",
];

/// A position in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub latitude: f64,
    pub longitude: f64,
}

/// One geo constraint on a field.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoCond {
    /// `$nearSphere`: the field is a GeoPoint, within `max_distance` radians when given.
    /// (The distance ordering is the query's business: see `Near`.)
    Near {
        point: Point,
        max_distance: Option<f64>,
    },
    /// `$within: {$box: [southwest, northeast]}`: a GeoPoint inside the box, edges included.
    Box { southwest: Point, northeast: Point },
    /// `$geoWithin: {$polygon: …}`: a GeoPoint inside the ring or on its boundary.
    Polygon(Vec<Point>),
    /// `$geoWithin: {$centerSphere: [center, radians]}`: a GeoPoint within `radius` radians.
    CenterSphere { center: Point, radius: f64 },
    /// `$geoIntersects: {$point: …}`: a Polygon that contains the point (boundary included).
    Intersects(Point),
}

/// A `$nearSphere` at the top level of a query: results are sorted by distance from `point`.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub field: String,
    pub point: Point,
}

pub fn is_operator(op: &str) -> bool {
    OPERATORS.contains(&op)
}

/// Coordinates below `SNAP` in magnitude become 0 (and -0 becomes 0).
///
/// After snapping, every coordinate is 0 or a multiple of 2^-385 (about 1.6e-116; in radians a
/// multiple of 2^-391), so differences of coordinates are 0 or at least that large, and the
/// products below (at most four factors, the smallest cos being cos(90°) ≈ 6e-17) stay far
/// above the smallest normal f64: PostgreSQL never sees an underflow. A shift below 1e-100
/// degrees changes no real-world answer.
pub fn snap(x: f64) -> f64 {
    if x.abs() < SNAP {
        0.0
    } else {
        x
    }
}

/// Great-circle distance in radians: the JS SDK's `radiansTo` (haversine), on snapped input.
pub fn distance(a: Point, b: Point) -> f64 {
    let from = Radians::of(a);
    from.distance_to(Radians::of(b))
}

/// A point's snapped coordinates in radians, and the cosine of its latitude: what the SQL side
/// binds for a query point (computed here, so both sides use the very same values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Radians {
    pub lat: f64,
    pub lng: f64,
    pub cos_lat: f64,
}

impl Radians {
    pub fn of(p: Point) -> Radians {
        let lat = snap(p.latitude) * DEGREES_TO_RADIANS;
        let lng = snap(p.longitude) * DEGREES_TO_RADIANS;
        Radians {
            lat,
            lng,
            cos_lat: lat.cos(),
        }
    }

    /// The haversine, step by step as `geo_sql` writes it.
    pub fn distance_to(&self, other: Radians) -> f64 {
        let s_lat = ((self.lat - other.lat) / 2.0).sin();
        let s_lng = ((self.lng - other.lng) / 2.0).sin();
        let h = s_lat * s_lat + self.cos_lat * other.cos_lat * s_lng * s_lng;
        2.0 * h.min(1.0).sqrt().asin()
    }
}

/// Whether `p` lies inside the ring `vertices` or on its boundary; x is the longitude, y the
/// latitude (a plane, as Mongo's legacy `$polygon` and PostgreSQL's `point <@ polygon` see it).
///
/// Each edge runs from vertex i to vertex i+1, the last one back to the first (a degenerate edge
/// when the ring is closed already, which changes nothing). A point on an edge is inside;
/// otherwise the even-odd rule over a ray towards +x decides (PNPOLY's crossing test).
pub fn polygon_contains(vertices: &[Point], p: Point) -> bool {
    let (x, y) = (snap(p.longitude), snap(p.latitude));
    let n = vertices.len();
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (vertices[i], vertices[(i + 1) % n]);
        let (xi, yi) = (snap(a.longitude), snap(a.latitude));
        let (xj, yj) = (snap(b.longitude), snap(b.latitude));
        if on_edge(x, y, xi, yi, xj, yj) {
            return true;
        }
        if crosses(x, y, xi, yi, xj, yj) {
            inside = !inside;
        }
    }
    inside
}

/// (x, y) on the segment (xi, yi)-(xj, yj): collinear (a zero cross product) and within the
/// segment's bounding box. Exact for vertices and for axis-parallel edges.
pub fn on_edge(x: f64, y: f64, xi: f64, yi: f64, xj: f64, yj: f64) -> bool {
    (xj - xi) * (y - yi) - (yj - yi) * (x - xi) == 0.0
        && xi.min(xj) <= x
        && x <= xi.max(xj)
        && yi.min(yj) <= y
        && y <= yi.max(yj)
}

/// The edge crosses the ray from (x, y) towards +x (never true for a horizontal edge, so the
/// division only runs when yj != yi).
pub fn crosses(x: f64, y: f64, xi: f64, yi: f64, xj: f64, yj: f64) -> bool {
    (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi
}

// ----- stored values -----

/// A stored GeoPoint: `{"__type":"GeoPoint","latitude":n,"longitude":n}` (other keys ignored).
pub fn stored_point(v: &Value) -> Option<Point> {
    let m = v.as_object()?;
    if m.get("__type")?.as_str()? != "GeoPoint" {
        return None;
    }
    Some(Point {
        latitude: m.get("latitude")?.as_f64()?,
        longitude: m.get("longitude")?.as_f64()?,
    })
}

/// A stored Polygon's ring: `{"__type":"Polygon","coordinates":[[lat, lng], …]}`, every
/// coordinate exactly two numbers (anything else is not a Polygon).
pub fn stored_polygon(v: &Value) -> Option<Vec<Point>> {
    let m = v.as_object()?;
    if m.get("__type")?.as_str()? != "Polygon" {
        return None;
    }
    m.get("coordinates")?
        .as_array()?
        .iter()
        .map(|c| match c.as_array()?.as_slice() {
            [lat, lng] => Some(Point {
                latitude: lat.as_f64()?,
                longitude: lng.as_f64()?,
            }),
            _ => None,
        })
        .collect()
}

impl GeoCond {
    /// Whether the field's value (None when missing) satisfies the constraint.
    pub fn matches(&self, field: Option<&Value>) -> bool {
        let Some(v) = field else {
            return false;
        };
        if let GeoCond::Intersects(p) = self {
            return stored_polygon(v).is_some_and(|ring| polygon_contains(&ring, *p));
        }
        let Some(at) = stored_point(v) else {
            return false;
        };
        match self {
            GeoCond::Near {
                point,
                max_distance,
            } => max_distance.is_none_or(|max| distance(*point, at) <= max),
            GeoCond::Box {
                southwest: sw,
                northeast: ne,
            } => {
                sw.latitude <= at.latitude
                    && at.latitude <= ne.latitude
                    && sw.longitude <= at.longitude
                    && at.longitude <= ne.longitude
            }
            GeoCond::Polygon(ring) => polygon_contains(ring, at),
            GeoCond::CenterSphere { center, radius } => distance(*center, at) <= *radius,
            GeoCond::Intersects(_) => false,
        }
    }
}

impl Near {
    /// The distance from the query point to the field's GeoPoint, None when it is not one.
    pub fn distance_to(&self, field: Option<&Value>) -> Option<f64> {
        field
            .and_then(stored_point)
            .map(|at| distance(self.point, at))
    }

    /// Nearest first; fields that are not GeoPoints last (as SQL's `ASC NULLS LAST`).
    pub fn compare(&self, a: Option<&Value>, b: Option<&Value>) -> Ordering {
        match (self.distance_to(a), self.distance_to(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

/// The `$nearSphere` that orders a query: the first one among the top-level field constraints
/// (one inside `$or`/`$and`/`$nor` only filters, as it cannot order the whole result).
pub fn near_of(filter: &Filter) -> Option<Near> {
    let Filter::And(parts) = filter else {
        return None;
    };
    parts.iter().find_map(|f| match f {
        Filter::Field {
            path,
            cond: Cond::Geo(GeoCond::Near { point, .. }),
        } => Some(Near {
            field: path.clone(),
            point: *point,
        }),
        _ => None,
    })
}

// ----- parsing -----

fn bad(message: impl Into<String>) -> ParseError {
    ParseError::invalid_json(message)
}

/// `Parse.GeoPoint._validate`'s rules and messages. Parse Server lets that check's TypeError
/// escape as an internal error (500, code 1); a bad point is the client's mistake, so 107.
fn validate(lat: &Value, lng: &Value) -> Result<Point, ParseError> {
    let (Some(latitude), Some(longitude)) = (lat.as_f64(), lng.as_f64()) else {
        return Err(ParseError::invalid_json(
            "GeoPoint latitude and longitude must be valid numbers",
        ));
    };
    let out = |what: &str, v: f64, rel: &str, bound: &str| {
        Err(ParseError::invalid_json(format!(
            "GeoPoint {what} out of bounds: {v} {rel} {bound}."
        )))
    };
    if latitude < -90.0 {
        return out("latitude", latitude, "<", "-90.0");
    }
    if latitude > 90.0 {
        return out("latitude", latitude, ">", "90.0");
    }
    if longitude < -180.0 {
        return out("longitude", longitude, "<", "-180.0");
    }
    if longitude > 180.0 {
        return out("longitude", longitude, ">", "180.0");
    }
    Ok(Point {
        latitude,
        longitude,
    })
}

/// A `{"__type":"GeoPoint", …}` object (Parse Server's `GeoPointCoder.isValidJSON`).
fn geo_point_json(v: &Value) -> Option<&Map> {
    v.as_object()
        .filter(|m| m.get("__type").and_then(Value::as_str) == Some("GeoPoint"))
}

/// A GeoPoint object, validated.
fn geo_point(v: &Value) -> Option<Result<Point, ParseError>> {
    let m = geo_point_json(v)?;
    Some(validate(
        m.get("latitude").unwrap_or(&Value::Null),
        m.get("longitude").unwrap_or(&Value::Null),
    ))
}

/// `[longitude, latitude]`, the coordinate order Mongo and Parse Server use for bare pairs.
fn lng_lat_pair(v: &Value) -> Option<Result<Point, ParseError>> {
    match v.as_array()?.as_slice() {
        [lng, lat] => Some(validate(lat, lng)),
        _ => None,
    }
}

/// The distance limits of `$nearSphere`, in Parse Server's order of precedence (lowest first).
const MAX_DISTANCE_KEYS: [&str; 4] = [
    "$maxDistanceInRadians",
    "$maxDistanceInMiles",
    "$maxDistanceInKilometers",
    "$maxDistance",
];

fn max_distance(ops: &Map) -> Result<Option<f64>, ParseError> {
    // Parse Server handles the keys in reverse alphabetical order, each overwriting
    // `$maxDistance`: so `$maxDistance` wins, then kilometers, then miles, then radians.
    let mut found = None;
    for (key, divisor) in
        MAX_DISTANCE_KEYS
            .into_iter()
            .zip([1.0, EARTH_RADIUS_MILES, EARTH_RADIUS_KILOMETERS, 1.0])
    {
        let Some(v) = ops.get(key) else { continue };
        match v.as_f64().filter(|d| *d >= 0.0) {
            Some(d) => found = Some(d / divisor),
            None => return Err(bad(format!("bad {key} value; should be a number >= 0"))),
        }
    }
    Ok(found)
}

/// Parses the geo operators among a field constraint's keys (the others are left to the caller;
/// `is_operator` tells which are consumed here).
pub fn parse(ops: &Map) -> Result<Vec<GeoCond>, ParseError> {
    let mut conds = Vec::new();
    let max = max_distance(ops)?;
    match ops.get("$nearSphere") {
        Some(v) => {
            let point = geo_point(v)
                .unwrap_or_else(|| Err(bad("bad $nearSphere value; should be GeoPoint")))?;
            conds.push(GeoCond::Near {
                point,
                max_distance: max,
            });
        }
        None => {
            // A distance limit alone is meaningless (Parse Server passes it on and the
            // database rejects it).
            if let Some(key) = MAX_DISTANCE_KEYS.iter().find(|k| ops.contains_key(**k)) {
                return Err(bad(format!("bad constraint: {key} needs $nearSphere")));
            }
        }
    }
    if let Some(v) = ops.get("$within") {
        conds.push(parse_box(v)?);
    }
    if let Some(v) = ops.get("$geoWithin") {
        conds.push(parse_geo_within(v)?);
    }
    if let Some(v) = ops.get("$geoIntersects") {
        let point = v
            .get("$point")
            .and_then(geo_point)
            .unwrap_or_else(|| Err(bad("bad $geoIntersect value; $point should be GeoPoint")))?;
        conds.push(GeoCond::Intersects(point));
    }
    Ok(conds)
}

/// `{"$box": [southwest, northeast]}`. Parse Server reads the corners' latitude/longitude
/// without a range check (a box is only compared with, never computed on), and so does this.
fn parse_box(v: &Value) -> Result<GeoCond, ParseError> {
    let malformed = || bad("malformatted $within arg");
    let corner = |c: &Value| -> Option<Point> {
        let m = c.as_object()?;
        Some(Point {
            latitude: m.get("latitude")?.as_f64()?,
            longitude: m.get("longitude")?.as_f64()?,
        })
    };
    match v.get("$box").and_then(Value::as_array).map(Vec::as_slice) {
        Some([sw, ne]) => Ok(GeoCond::Box {
            southwest: corner(sw).ok_or_else(malformed)?,
            northeast: corner(ne).ok_or_else(malformed)?,
        }),
        _ => Err(malformed()),
    }
}

fn parse_geo_within(v: &Value) -> Result<GeoCond, ParseError> {
    // `$polygon` is looked at first, as Parse Server does.
    if let Some(polygon) = v.get("$polygon") {
        let points = match polygon {
            Value::Object(m) if m.get("__type").and_then(Value::as_str) == Some("Polygon") => {
                match m.get("coordinates").and_then(Value::as_array) {
                    Some(c) if c.len() >= 3 => c,
                    _ => {
                        return Err(bad(
                            "bad $geoWithin value; Polygon.coordinates should contain at least 3 lon/lat pairs",
                        ))
                    }
                }
            }
            Value::Array(a) if a.len() < 3 => {
                return Err(bad(
                    "bad $geoWithin value; $polygon should contain at least 3 GeoPoints",
                ))
            }
            Value::Array(a) => a,
            _ => {
                return Err(bad(
                    "bad $geoWithin value; $polygon should be Polygon object or Array of Parse.GeoPoint's",
                ))
            }
        };
        // Bare pairs, also those of a Polygon object, are [longitude, latitude] here (unlike a
        // stored Polygon's [latitude, longitude]): Parse Server hands them to the database as is.
        let ring = points
            .iter()
            .map(|p| {
                lng_lat_pair(p)
                    .or_else(|| geo_point(p))
                    .unwrap_or_else(|| Err(bad("bad $geoWithin value")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(GeoCond::Polygon(ring));
    }
    if let Some(sphere) = v.get("$centerSphere") {
        let (center, radius) = match sphere.as_array().map(Vec::as_slice) {
            Some([center, radius, ..]) => (center, radius),
            _ => return Err(bad(
                "bad $geoWithin value; $centerSphere should be an array of Parse.GeoPoint and distance",
            )),
        };
        let center = lng_lat_pair(center)
            .or_else(|| geo_point(center))
            .unwrap_or_else(|| Err(bad("bad $geoWithin value; $centerSphere geo point invalid")))?;
        let radius = radius
            .as_f64()
            .filter(|r| *r >= 0.0)
            .ok_or_else(|| bad("bad $geoWithin value; $centerSphere distance invalid"))?;
        return Ok(GeoCond::CenterSphere { center, radius });
    }
    Err(bad("bad $geoWithin value; use $polygon or $centerSphere"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pt(latitude: f64, longitude: f64) -> Point {
        Point {
            latitude,
            longitude,
        }
    }

    fn gp(lat: f64, lng: f64) -> Value {
        json!({"__type": "GeoPoint", "latitude": lat, "longitude": lng})
    }

    fn ops(v: Value) -> Map {
        v.as_object().cloned().unwrap_or_default()
    }

    fn parsed(v: Value) -> Vec<GeoCond> {
        parse(&ops(v)).expect("parses")
    }

    fn err(v: Value) -> (i32, String) {
        let e = parse(&ops(v)).expect_err("an error");
        (e.code, e.error)
    }

    #[test]
    fn distances_follow_the_sdk() {
        let sfo = pt(37.6189722, -122.3748889);
        let sf = pt(37.75, -122.68);
        let sacramento = pt(38.52, -121.5);
        let honolulu = pt(21.35, -157.93);
        let km = |a, b| distance(a, b) * EARTH_RADIUS_KILOMETERS;
        assert!((km(sfo, sf) - 30.0).abs() < 1.0, "{}", km(sfo, sf));
        assert!(km(sfo, sacramento) < 150.0);
        assert!(
            (3800.0..3900.0).contains(&km(sfo, honolulu)),
            "{}",
            km(sfo, honolulu)
        );
        assert_eq!(distance(sf, sf), 0.0);
        // Antipodes: the clamp keeps asin's argument at 1.
        let d = distance(pt(0.0, 0.0), pt(0.0, 180.0));
        assert!((d - std::f64::consts::PI).abs() < 1e-12);
        assert_eq!(
            distance(pt(90.0, 0.0), pt(-90.0, 0.0)),
            std::f64::consts::PI
        );
        // Symmetric, and tiny coordinates are snapped to 0 (no underflow in SQL).
        assert_eq!(distance(sfo, honolulu), distance(honolulu, sfo));
        assert_eq!(distance(pt(5e-324, 1e-300), pt(0.0, 0.0)), 0.0);
        assert!(distance(pt(1e-99, 0.0), pt(0.0, 0.0)) > 0.0);
    }

    #[test]
    fn polygons_include_their_boundary() {
        let square = [pt(0.0, 0.0), pt(0.0, 10.0), pt(10.0, 10.0), pt(10.0, 0.0)];
        assert!(polygon_contains(&square, pt(1.5, 1.5)));
        assert!(polygon_contains(&square, pt(10.0, 10.0)), "a vertex");
        assert!(polygon_contains(&square, pt(0.0, 5.0)), "an edge");
        assert!(polygon_contains(&square, pt(5.0, 10.0)), "the closing edge");
        assert!(!polygon_contains(&square, pt(20.0, 20.0)));
        assert!(!polygon_contains(&square, pt(10.000001, 5.0)));
        // A closed ring behaves the same.
        let mut closed = square.to_vec();
        closed.push(square[0]);
        assert!(polygon_contains(&closed, pt(1.5, 1.5)));
        assert!(!polygon_contains(&closed, pt(-1.0, 1.5)));
        // A diagonal edge, and a concave ring (a U shape).
        let triangle = [pt(0.0, 0.0), pt(0.0, 4.0), pt(4.0, 0.0)];
        assert!(polygon_contains(&triangle, pt(2.0, 2.0)));
        assert!(polygon_contains(&triangle, pt(1.0, 1.0)));
        assert!(!polygon_contains(&triangle, pt(2.5, 2.5)));
        let u = [
            pt(0.0, 0.0),
            pt(0.0, 3.0),
            pt(3.0, 3.0),
            pt(3.0, 2.0),
            pt(1.0, 2.0),
            pt(1.0, 1.0),
            pt(3.0, 1.0),
            pt(3.0, 0.0),
        ];
        assert!(polygon_contains(&u, pt(0.5, 1.5)));
        assert!(!polygon_contains(&u, pt(2.0, 1.5)), "inside the notch");
        assert!(polygon_contains(&u, pt(2.0, 2.5)));
        assert!(!polygon_contains(&[], pt(0.0, 0.0)));
    }

    #[test]
    fn stored_values() {
        assert_eq!(stored_point(&gp(1.0, 2.0)), Some(pt(1.0, 2.0)));
        assert_eq!(
            stored_point(&json!({"__type": "GeoPoint", "latitude": 1})),
            None
        );
        assert_eq!(stored_point(&json!({"latitude": 1, "longitude": 2})), None);
        assert_eq!(
            stored_point(&json!({"__type": "GeoPoint", "latitude": "1", "longitude": 2})),
            None
        );
        let poly = json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [0, 0]]});
        assert_eq!(stored_polygon(&poly).map(|r| r.len()), Some(4));
        let bad = json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1, 2], [1, 1]]});
        assert_eq!(stored_polygon(&bad), None);
    }

    #[test]
    fn near_and_max_distances() {
        let p = gp(10.0, 20.0);
        assert_eq!(
            parsed(json!({"$nearSphere": p})),
            [GeoCond::Near {
                point: pt(10.0, 20.0),
                max_distance: None
            }]
        );
        let max = |v: Value| match parsed(v).as_slice() {
            [GeoCond::Near { max_distance, .. }] => *max_distance,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            max(json!({"$nearSphere": p, "$maxDistance": 0.5})),
            Some(0.5)
        );
        assert_eq!(
            max(json!({"$nearSphere": p, "$maxDistanceInRadians": 0.25})),
            Some(0.25)
        );
        assert_eq!(
            max(json!({"$nearSphere": p, "$maxDistanceInMiles": 3959.0})),
            Some(1.0)
        );
        assert_eq!(
            max(json!({"$nearSphere": p, "$maxDistanceInKilometers": 637.1})),
            Some(0.1)
        );
        // Parse Server's precedence when several are given.
        assert_eq!(
            max(json!({"$nearSphere": p, "$maxDistanceInRadians": 1, "$maxDistance": 2})),
            Some(2.0)
        );
        assert_eq!(
            max(
                json!({"$nearSphere": p, "$maxDistanceInRadians": 1, "$maxDistanceInKilometers": 6371})
            ),
            Some(1.0)
        );
        assert_eq!(
            err(json!({"$maxDistance": 1})),
            (107, "bad constraint: $maxDistance needs $nearSphere".into())
        );
        assert_eq!(err(json!({"$maxDistanceInMiles": 1})).0, 107);
        assert_eq!(err(json!({"$nearSphere": p, "$maxDistance": -1})).0, 107);
        assert_eq!(err(json!({"$nearSphere": p, "$maxDistance": "1"})).0, 107);
        assert_eq!(err(json!({"$nearSphere": [1, 2]})).0, 107);
        assert_eq!(
            err(json!({"$nearSphere": gp(91.0, 0.0)})),
            (107, "GeoPoint latitude out of bounds: 91 > 90.0.".into())
        );
        assert_eq!(
            err(json!({"$nearSphere": gp(0.0, -180.5)})),
            (
                107,
                "GeoPoint longitude out of bounds: -180.5 < -180.0.".into()
            )
        );
        assert_eq!(
            err(json!({"$nearSphere": {"__type": "GeoPoint", "latitude": "1", "longitude": 2}})).0,
            107
        );
    }

    #[test]
    fn boxes() {
        let cond = &parsed(json!({"$within": {"$box": [gp(0.0, 0.0), gp(10.0, 10.0)]}}))[0];
        assert!(cond.matches(Some(&gp(1.5, 1.5))));
        assert!(cond.matches(Some(&gp(10.0, 10.0))), "edges are inside");
        assert!(!cond.matches(Some(&gp(20.0, 20.0))));
        assert!(!cond.matches(Some(&json!({"latitude": 1, "longitude": 1}))));
        assert!(!cond.matches(None));
        let inverted = &parsed(json!({"$within": {"$box": [gp(10.0, 10.0), gp(0.0, 0.0)]}}))[0];
        assert!(!inverted.matches(Some(&gp(5.0, 5.0))));
        for bad in [
            json!({"$within": {"$box": [gp(0.0, 0.0)]}}),
            json!({"$within": {"$box": [gp(0.0, 0.0), gp(1.0, 1.0), gp(2.0, 2.0)]}}),
            json!({"$within": {"$box": [gp(0.0, 0.0), 5]}}),
            json!({"$within": {"$polygon": []}}),
            json!({"$within": 1}),
        ] {
            assert_eq!(err(bad), (107, "malformatted $within arg".into()));
        }
    }

    #[test]
    fn polygons() {
        let square = json!([gp(0.0, 0.0), gp(0.0, 10.0), gp(10.0, 10.0), gp(10.0, 0.0)]);
        let cond = &parsed(json!({"$geoWithin": {"$polygon": square}}))[0];
        assert!(cond.matches(Some(&gp(1.5, 1.5))));
        assert!(cond.matches(Some(&gp(10.0, 10.0))));
        assert!(!cond.matches(Some(&gp(20.0, 20.0))));
        // Bare pairs are [longitude, latitude].
        let pairs = json!({"$geoWithin": {"$polygon": [[0, 0], [20, 0], [20, 10], [0, 10]]}});
        let cond = &parsed(pairs)[0];
        assert!(cond.matches(Some(&gp(5.0, 15.0))));
        assert!(!cond.matches(Some(&gp(15.0, 5.0))));
        let object = json!({"$geoWithin": {"$polygon": {"__type": "Polygon", "coordinates": [[0, 0], [20, 0], [20, 10]]}}});
        assert_eq!(
            parsed(object),
            [GeoCond::Polygon(vec![
                pt(0.0, 0.0),
                pt(0.0, 20.0),
                pt(10.0, 20.0)
            ])]
        );
        let msg = |m: &str| (107, format!("bad $geoWithin value; {m}"));
        assert_eq!(
            err(json!({"$geoWithin": {"$polygon": []}})),
            msg("$polygon should contain at least 3 GeoPoints")
        );
        assert_eq!(
            err(
                json!({"$geoWithin": {"$polygon": {"__type": "Polygon", "coordinates": [[0, 0], [1, 1]]}}})
            ),
            msg("Polygon.coordinates should contain at least 3 lon/lat pairs")
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$polygon": 1234}})),
            msg("$polygon should be Polygon object or Array of Parse.GeoPoint's")
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$polygon": [{}, {}, {}]}})),
            (107, "bad $geoWithin value".into())
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$polygon": [gp(0.0, 0.0), {"__type": "GeoPoint", "latitude": 181, "longitude": 0}, gp(0.0, 0.0)]}})).0,
            107
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$polygon": {"__type": "Polygon", "coordinates": [[0, 0], [181, 0], [0, 10]]}}})).0,
            107
        );
        assert_eq!(err(json!({"$geoWithin": {}})).0, 107);
    }

    #[test]
    fn center_spheres() {
        let km = 1570.0 / EARTH_RADIUS_KILOMETERS;
        for center in [gp(0.0, 0.0), json!([0, 0])] {
            let cond = &parsed(json!({"$geoWithin": {"$centerSphere": [center, km]}}))[0];
            assert!(cond.matches(Some(&gp(1.5, 1.5))));
            assert!(cond.matches(Some(&gp(10.0, 10.0))));
            assert!(!cond.matches(Some(&gp(20.0, 20.0))));
        }
        let msg = |m: &str| (107, format!("bad $geoWithin value; {m}"));
        assert_eq!(
            err(json!({"$geoWithin": {"$centerSphere": []}})),
            msg("$centerSphere should be an array of Parse.GeoPoint and distance")
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$centerSphere": [[0, 0], "invalid_distance"]}})),
            msg("$centerSphere distance invalid")
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$centerSphere": [[0, 0], -1]}})),
            msg("$centerSphere distance invalid")
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$centerSphere": [{"longitude": 0, "dummytude": 0}, 1]}})),
            msg("$centerSphere geo point invalid")
        );
        assert_eq!(
            err(json!({"$geoWithin": {"$centerSphere": [[-190, -190], 1]}})).0,
            107
        );
    }

    #[test]
    fn intersects() {
        let cond = &parsed(json!({"$geoIntersects": {"$point": gp(0.5, 0.5)}}))[0];
        let poly = |c: Value| json!({"__type": "Polygon", "coordinates": c});
        assert!(cond.matches(Some(&poly(json!([[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]])))));
        assert!(cond.matches(Some(&poly(json!([[0.5, 0.5], [0, 1], [1, 1]])))));
        assert!(!cond.matches(Some(&poly(json!([[10, 10], [10, 15], [15, 15], [10, 10]])))));
        assert!(!cond.matches(Some(&gp(0.5, 0.5))));
        // Stored coordinates are [latitude, longitude].
        let tall = poly(json!([[0, 0], [20, 0], [20, 1], [0, 1]]));
        let cond = &parsed(json!({"$geoIntersects": {"$point": gp(10.0, 0.5)}}))[0];
        assert!(cond.matches(Some(&tall)));
        let cond = &parsed(json!({"$geoIntersects": {"$point": gp(0.5, 10.0)}}))[0];
        assert!(!cond.matches(Some(&tall)));
        assert_eq!(
            err(json!({"$geoIntersects": {"$point": []}})),
            (
                107,
                "bad $geoIntersect value; $point should be GeoPoint".into()
            )
        );
        assert_eq!(
            err(json!({"$geoIntersects": {"$point": gp(181.0, 181.0)}})).0,
            107
        );
    }

    #[test]
    fn near_ordering() {
        let near = Near {
            field: "loc".into(),
            point: pt(0.0, 0.0),
        };
        let (a, b) = (gp(1.0, 1.0), gp(2.0, 2.0));
        assert_eq!(near.compare(Some(&a), Some(&b)), Ordering::Less);
        assert_eq!(near.compare(Some(&b), Some(&a)), Ordering::Greater);
        assert_eq!(near.compare(Some(&a), Some(&a)), Ordering::Equal);
        assert_eq!(near.compare(Some(&a), None), Ordering::Less);
        assert_eq!(near.compare(Some(&json!(1)), Some(&a)), Ordering::Greater);
    }
}
