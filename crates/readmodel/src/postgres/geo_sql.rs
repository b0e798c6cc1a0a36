//! SQL for the geo constraints of `model::geo` and the `$nearSphere` ordering, without PostGIS.
//!
//! `model::geo` computes with plain f64 arithmetic and libm's sin/cos/asin/sqrt; the SQL below
//! performs the very same float8 operations in the very same order (PostgreSQL's float8
//! operators are IEEE operations, its sin/cos/asin/sqrt call the same libm), so a distance or a
//! crossing test gives bit-identical results on both sides, boundaries included. Query-side
//! values (a query point in radians and its cosine, the snapped vertices of a query polygon) are
//! computed in Rust with `model::geo`'s own functions and bound.
//!
//! The `LATERAL (SELECT … OFFSET 0)` steps name intermediate values; `OFFSET 0` keeps PostgreSQL
//! from inlining them into every reference (which would evaluate them repeatedly and inflate the
//! cost estimates until the planner turns JIT compilation on, slower than the query itself on
//! small tables).
//!
//! Casts of stored coordinates only run once the value is known to be a GeoPoint or a Polygon:
//! every guard is a `CASE`, because PostgreSQL may reorder the operands of `AND`. Divisions only
//! run under the crossing test (which implies a non-zero divisor), and nothing here is constant
//! at plan time, so no division is folded early either.

use model::geo::{self, GeoCond, Near, Point, Radians};

use super::{push_j, Field, Qb, J};

/// Appends a two-valued boolean equivalent to `cond.matches(f)` for a jsonb value `f`.
pub(super) fn push_geo(qb: Qb<'_, '_>, f: J, cond: &GeoCond) {
    if let GeoCond::Intersects(p) = cond {
        qb.push("(CASE WHEN ");
        push_is_polygon(qb, f);
        qb.push(" THEN ");
        push_polygon_contains_point(qb, f, *p);
        qb.push(" ELSE FALSE END)");
        return;
    }
    qb.push("(CASE WHEN ");
    push_is_point(qb, f);
    qb.push(" THEN ");
    match cond {
        GeoCond::Near {
            max_distance: None, ..
        } => {
            qb.push("TRUE");
        }
        GeoCond::Near {
            point,
            max_distance: Some(max),
        } => push_within_distance(qb, f, *point, *max),
        GeoCond::CenterSphere { center, radius } => push_within_distance(qb, f, *center, *radius),
        GeoCond::Box {
            southwest: sw,
            northeast: ne,
        } => {
            // Raw coordinates: a box is only compared with.
            let coord = |qb: Qb<'_, '_>, key: &'static str| {
                qb.push("(");
                push_j(qb, J::Key(&f, key));
                qb.push(")::float8");
            };
            qb.push("(");
            for (i, (key, op, bound)) in [
                ("latitude", " >= ", sw.latitude),
                ("latitude", " <= ", ne.latitude),
                ("longitude", " >= ", sw.longitude),
                ("longitude", " <= ", ne.longitude),
            ]
            .into_iter()
            .enumerate()
            {
                if i > 0 {
                    qb.push(" AND ");
                }
                coord(qb, key);
                qb.push(op).push_bind(bound).push("::float8");
            }
            qb.push(")");
        }
        GeoCond::Polygon(ring) => push_point_in_ring(qb, f, ring),
        GeoCond::Intersects(_) => {
            qb.push("FALSE");
        }
    }
    qb.push(" ELSE FALSE END)");
}

/// Appends ` ORDER BY` the distance from `near.point` (nearest first, non-GeoPoints last), then
/// object_id: `Query::sort` when a `$nearSphere` orders it.
pub(super) fn push_near_order(qb: Qb<'_, '_>, near: &Near) {
    qb.push(" ORDER BY ");
    if let Field::Json(segs) = Field::of(&near.field) {
        let f = J::Path(&segs);
        qb.push("(CASE WHEN ");
        push_is_point(qb, f);
        qb.push(" THEN ");
        push_distance(qb, f, near.point);
        qb.push(" END) ASC NULLS LAST, ");
    }
    qb.push("object_id COLLATE \"C\" ASC");
}

/// `geo::stored_point(f).is_some()`.
fn push_is_point(qb: Qb<'_, '_>, f: J) {
    qb.push("COALESCE(jsonb_typeof(");
    push_j(qb, f);
    qb.push(") = 'object' AND ");
    push_j(qb, J::Key(&f, "__type"));
    qb.push(" = '\"GeoPoint\"'::jsonb AND jsonb_typeof(");
    push_j(qb, J::Key(&f, "latitude"));
    qb.push(") = 'number' AND jsonb_typeof(");
    push_j(qb, J::Key(&f, "longitude"));
    qb.push(") = 'number', FALSE)");
}

/// `geo::stored_polygon(f).is_some()`: coordinates an array of [number, number] pairs.
fn push_is_polygon(qb: Qb<'_, '_>, f: J) {
    let coords = J::Key(&f, "coordinates");
    qb.push("COALESCE(CASE WHEN jsonb_typeof(");
    push_j(qb, f);
    qb.push(") = 'object' AND ");
    push_j(qb, J::Key(&f, "__type"));
    qb.push(" = '\"Polygon\"'::jsonb AND jsonb_typeof(");
    push_j(qb, coords);
    qb.push(") = 'array' THEN NOT EXISTS (SELECT 1 FROM jsonb_array_elements(");
    push_j(qb, coords);
    qb.push(concat!(
        ") AS c(v) WHERE NOT (CASE WHEN jsonb_typeof(c.v) = 'array' THEN",
        " jsonb_array_length(c.v) = 2 AND jsonb_typeof(c.v -> 0) = 'number'",
        " AND jsonb_typeof(c.v -> 1) = 'number' ELSE FALSE END)) ELSE FALSE END, FALSE)",
    ));
}

/// `CASE WHEN abs(col) < k.snap THEN 0 ELSE col END`: `geo::snap` (k.snap bound to geo::SNAP).
fn snapped(col: &str) -> String {
    format!("CASE WHEN abs({col}) < k.snap THEN 0::float8 ELSE {col} END")
}

/// ` FROM …` binding `k.snap` and the stored GeoPoint's snapped degrees as `p.y` (latitude) and
/// `p.x` (longitude), the plane of `geo::polygon_contains`.
fn push_point_from(qb: Qb<'_, '_>, f: J) {
    qb.push(" FROM (SELECT ")
        .push_bind(geo::SNAP)
        .push("::float8 AS snap) AS k CROSS JOIN LATERAL (SELECT (");
    push_j(qb, J::Key(&f, "latitude"));
    qb.push(")::float8 AS lat, (");
    push_j(qb, J::Key(&f, "longitude"));
    qb.push(")::float8 AS lng OFFSET 0) AS raw CROSS JOIN LATERAL (SELECT ");
    qb.push(snapped("raw.lat"))
        .push(" AS y, ")
        .push(snapped("raw.lng"))
        .push(" AS x OFFSET 0) AS p");
}

/// `geo::distance(point, stored)` as `Radians::distance_to` computes it, step by step.
fn push_distance(qb: Qb<'_, '_>, f: J, point: Point) {
    let q = Radians::of(point);
    qb.push("(SELECT 2::float8 * asin(sqrt(LEAST(h.sl * h.sl + ")
        .push_bind(q.cos_lat)
        .push("::float8 * cos(r.lat) * h.sg * h.sg, 1::float8)))");
    push_point_from(qb, f);
    qb.push(" CROSS JOIN LATERAL (SELECT p.y * ")
        .push_bind(geo::DEGREES_TO_RADIANS)
        .push("::float8 AS lat, p.x * ")
        .push_bind(geo::DEGREES_TO_RADIANS)
        .push("::float8 AS lng OFFSET 0) AS r CROSS JOIN LATERAL (SELECT sin((")
        .push_bind(q.lat)
        .push("::float8 - r.lat) / 2::float8) AS sl, sin((")
        .push_bind(q.lng)
        .push("::float8 - r.lng) / 2::float8) AS sg OFFSET 0) AS h)");
}

fn push_within_distance(qb: Qb<'_, '_>, f: J, point: Point, max: f64) {
    qb.push("(");
    push_distance(qb, f, point);
    qb.push(" <= ").push_bind(max).push("::float8)");
}

/// `SELECT` of `geo::polygon_contains` over edge rows `e(xi, yi, xj, yj)` and a point
/// `p(x, y)`, all snapped: on an edge, or an odd number of crossings.
const CONTAINS: &str = concat!(
    "(SELECT COALESCE(bool_or(",
    "(e.xj - e.xi) * (p.y - e.yi) - (e.yj - e.yi) * (p.x - e.xi) = 0::float8",
    " AND LEAST(e.xi, e.xj) <= p.x AND p.x <= GREATEST(e.xi, e.xj)",
    " AND LEAST(e.yi, e.yj) <= p.y AND p.y <= GREATEST(e.yi, e.yj)",
    ") OR (count(*) FILTER (WHERE CASE WHEN (e.yi > p.y) <> (e.yj > p.y)",
    " THEN p.x < (e.xj - e.xi) * (p.y - e.yi) / (e.yj - e.yi) + e.xi ELSE FALSE END)) % 2 = 1",
    ", FALSE)",
);

/// A stored GeoPoint inside (or on) the query's ring: its edges are bound as arrays.
fn push_point_in_ring(qb: Qb<'_, '_>, f: J, ring: &[Point]) {
    let n = ring.len();
    let (mut xi, mut yi, mut xj, mut yj) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        xi.push(geo::snap(a.longitude));
        yi.push(geo::snap(a.latitude));
        xj.push(geo::snap(b.longitude));
        yj.push(geo::snap(b.latitude));
    }
    qb.push(CONTAINS);
    push_point_from(qb, f);
    qb.push(" CROSS JOIN unnest(")
        .push_bind(xi)
        .push("::float8[], ")
        .push_bind(yi)
        .push("::float8[], ")
        .push_bind(xj)
        .push("::float8[], ")
        .push_bind(yj)
        .push("::float8[]) AS e(xi, yi, xj, yj))");
}

/// The query point inside (or on) a stored Polygon's ring of [latitude, longitude] pairs, the
/// edges from each vertex to the next and from the last back to the first.
///
/// The vertices come from `jsonb_array_elements … WITH ORDINALITY`: its ordinality `v.i` (from 1)
/// is the 0-based index of the next vertex. (`generate_series` over the indexes would do the
/// same, but its row estimate of 1000 per object makes the planner turn JIT compilation on,
/// which costs far more than the query on small tables.)
fn push_polygon_contains_point(qb: Qb<'_, '_>, f: J, point: Point) {
    let coords = J::Key(&f, "coordinates");
    qb.push(CONTAINS);
    qb.push(" FROM (SELECT ")
        .push_bind(geo::SNAP)
        .push("::float8 AS snap, ")
        .push_bind(geo::snap(point.longitude))
        .push("::float8 AS x, ")
        .push_bind(geo::snap(point.latitude))
        .push("::float8 AS y) AS k CROSS JOIN LATERAL (SELECT k.x, k.y) AS p");
    qb.push(" CROSS JOIN LATERAL (SELECT ");
    push_j(qb, coords);
    qb.push(" AS c, jsonb_array_length(");
    push_j(qb, coords);
    qb.push(") AS n) AS s CROSS JOIN LATERAL jsonb_array_elements(s.c) WITH ORDINALITY AS v(a, i)");
    qb.push(concat!(
        " CROSS JOIN LATERAL (SELECT (v.a -> 1)::float8 AS xi, (v.a -> 0)::float8 AS yi,",
        " (s.c -> (v.i % s.n)::int -> 1)::float8 AS xj, (s.c -> (v.i % s.n)::int -> 0)::float8 AS yj OFFSET 0) AS raw",
    ));
    qb.push(format!(
        " CROSS JOIN LATERAL (SELECT {} AS xi, {} AS yi, {} AS xj, {} AS yj OFFSET 0) AS e)",
        snapped("raw.xi"),
        snapped("raw.yi"),
        snapped("raw.xj"),
        snapped("raw.yj")
    ));
}
