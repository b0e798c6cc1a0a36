//! Geo queries over HTTP: `$nearSphere` (distance order, `$maxDistance*`), `$within`/`$box`,
//! `$geoWithin` (`$polygon`, `$centerSphere`), `$geoIntersects` on Polygon fields, limits and
//! orders with them, their errors, and the one-GeoPoint-field-per-class rule. Most cases are the
//! ones of Parse Server's spec (ParseGeoPoint.spec.js, ParsePolygon.spec.js, ParseQuery.spec.js).

mod common;

use std::f64::consts::PI;

use common::{create_many, send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn gp(latitude: f64, longitude: f64) -> Value {
    json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude})
}

fn polygon(coordinates: Value) -> Value {
    json!({"__type": "Polygon", "coordinates": coordinates})
}

/// A find with query-string parameters, as a REST client sends it.
async fn find(s: &TestServer, class: &str, where_: &Value, extra: &[(&str, &str)]) -> (u16, Value) {
    let w = where_.to_string();
    let mut params: Vec<(&str, &str)> = vec![("where", w.as_str())];
    params.extend_from_slice(extra);
    send(
        s.req(Method::GET, &format!("/parse/classes/{class}"))
            .query(&params),
    )
    .await
}

/// The `name`s of a successful find, in result order.
async fn names_in_order(
    s: &TestServer,
    class: &str,
    where_: Value,
    extra: &[(&str, &str)],
) -> Vec<String> {
    let (status, res) = find(s, class, &where_, extra).await;
    assert_eq!(status, 200, "where {where_}: {res}");
    res["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|o| o["name"].as_str().unwrap_or("<none>").to_string())
        .collect()
}

/// The `name`s of a successful find, sorted.
async fn names(s: &TestServer, class: &str, where_: Value) -> Vec<String> {
    let mut n = names_in_order(s, class, where_, &[]).await;
    n.sort();
    n
}

fn v(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Asserts that a find fails with `status` and `{code, error}`.
async fn fails(s: &TestServer, class: &str, where_: Value, status: u16, code: i64, error: &str) {
    let (got_status, res) = find(s, class, &where_, &[]).await;
    assert_eq!(
        (got_status, res),
        (status, json!({"code": code, "error": error})),
        "where {where_}"
    );
}

/// Parse Server's `makeSomeGeoPoints`, plus an object without a location.
async fn cities(s: &TestServer) {
    create_many(
        s,
        "Place",
        vec![
            json!({"name": "Sacramento", "location": gp(38.52, -121.5)}),
            json!({"name": "Honolulu", "location": gp(21.35, -157.93)}),
            json!({"name": "San Francisco", "location": gp(37.75, -122.68)}),
            json!({"name": "Nowhere"}),
        ],
    )
    .await;
}

fn sfo() -> Value {
    gp(37.6189722, -122.3748889)
}

// ------------------------------------------------------------------------------------------------
// $nearSphere

#[tokio::test]
async fn near_sphere_sorts_nearest_first() {
    let s = TestServer::start().await;
    cities(&s).await;
    let near = json!({"location": {"$nearSphere": sfo()}});
    assert_eq!(
        names_in_order(&s, "Place", near.clone(), &[]).await,
        v(&["San Francisco", "Sacramento", "Honolulu"]),
        "objects without a GeoPoint do not match"
    );
    // Pages follow the distance order.
    assert_eq!(
        names_in_order(&s, "Place", near.clone(), &[("limit", "2")]).await,
        v(&["San Francisco", "Sacramento"])
    );
    assert_eq!(
        names_in_order(&s, "Place", near.clone(), &[("limit", "1"), ("skip", "1")]).await,
        v(&["Sacramento"])
    );
    // Counting ignores the order.
    let (status, res) = find(&s, "Place", &near, &[("count", "1"), ("limit", "0")]).await;
    assert_eq!((status, res), (200, json!({"results": [], "count": 3})));
}

#[tokio::test]
async fn an_explicit_order_wins_over_distance() {
    let s = TestServer::start().await;
    cities(&s).await;
    let near = json!({"location": {"$nearSphere": sfo()}});
    assert_eq!(
        names_in_order(&s, "Place", near.clone(), &[("order", "name")]).await,
        v(&["Honolulu", "Sacramento", "San Francisco"])
    );
    assert_eq!(
        names_in_order(&s, "Place", near, &[("order", "-name"), ("limit", "2")]).await,
        v(&["San Francisco", "Sacramento"])
    );
}

#[tokio::test]
async fn equal_distances_keep_object_id_order() {
    let s = TestServer::start().await;
    let mut ids = create_many(
        &s,
        "Spot",
        (0..6)
            .map(|i| json!({"name": format!("s{i}"), "at": gp(10.0, 10.0)}))
            .chain([json!({"name": "near", "at": gp(1.0, 1.0)})])
            .collect(),
    )
    .await;
    let near_id = ids.pop();
    ids.sort();
    let (status, res) = find(
        &s,
        "Spot",
        &json!({"at": {"$nearSphere": gp(0.0, 0.0)}}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let got: Vec<String> = res["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|o| o["objectId"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(got.first(), near_id.as_ref());
    assert_eq!(&got[1..], &ids[..]);
}

#[tokio::test]
async fn max_distance_in_kilometers_miles_and_radians() {
    let s = TestServer::start().await;
    cities(&s).await;
    for (key, max, want) in [
        ("$maxDistanceInKilometers", 4800.0, 3),
        ("$maxDistanceInKilometers", 3700.0, 2),
        ("$maxDistanceInKilometers", 100.0, 1),
        ("$maxDistanceInKilometers", 10.0, 0),
        ("$maxDistanceInMiles", 2600.0, 3),
        ("$maxDistanceInMiles", 2200.0, 2),
        ("$maxDistanceInMiles", 62.0, 1),
        ("$maxDistanceInMiles", 10.0, 0),
        ("$maxDistanceInRadians", 0.7, 3),
        ("$maxDistanceInRadians", 0.01, 1),
        ("$maxDistance", 0.3, 2),
        ("$maxDistance", 0.0, 0),
    ] {
        let got = names_in_order(
            &s,
            "Place",
            json!({"location": {"$nearSphere": sfo(), key: max}}),
            &[],
        )
        .await;
        let all = ["San Francisco", "Sacramento", "Honolulu"];
        assert_eq!(got, v(&all[..want]), "{key}: {max}");
    }
}

#[tokio::test]
async fn max_distance_in_radians_along_the_equator() {
    // ParseGeoPoint.spec.js: geo max distance large / medium / small.
    let s = TestServer::start().await;
    create_many(
        &s,
        "Eq",
        (0..3)
            .map(|i| json!({"name": format!("i{i}"), "location": gp(0.0, i as f64 * 45.0)}))
            .collect(),
    )
    .await;
    for (max, want) in [
        (PI, &["i0", "i1", "i2"][..]),
        (PI * 0.5, &["i0", "i1"][..]),
        (PI * 0.25, &["i0"][..]),
    ] {
        let w = json!({"location": {"$nearSphere": gp(1.0, -1.0), "$maxDistance": max}});
        assert_eq!(names_in_order(&s, "Eq", w, &[]).await, v(want), "{max}");
    }
}

#[tokio::test]
async fn geo_line_sorted_by_distance() {
    // ParseGeoPoint.spec.js: geo line.
    let s = TestServer::start().await;
    create_many(
        &s,
        "Line",
        (0..10)
            .map(|i| {
                let i = i as f64;
                json!({"name": format!("seq{i}"), "location": gp(i * 4.0 - 12.0, i * 3.2 - 11.0), "construct": "line"})
            })
            .collect(),
    )
    .await;
    let w = json!({"construct": "line", "location": {"$nearSphere": gp(24.0, 19.0), "$maxDistanceInMiles": 10000}});
    let got = names_in_order(&s, "Line", w, &[]).await;
    assert_eq!(got.len(), 10);
    assert_eq!((got[0].as_str(), got[3].as_str()), ("seq9", "seq6"));
}

#[tokio::test]
async fn geo_constraints_combine_with_others() {
    let s = TestServer::start().await;
    create_many(
        &s,
        "Shop",
        vec![
            json!({"name": "a", "open": true, "location": gp(10.0, 10.0)}),
            json!({"name": "b", "open": false, "location": gp(10.0, 10.0)}),
            json!({"name": "c", "open": true, "location": gp(20.0, 20.0)}),
            json!({"name": "d", "open": true, "location": gp(30.0, 30.0)}),
        ],
    )
    .await;
    let km5 = 5.0 / 6371.0;
    let within = |p: Value| json!({"location": {"$geoWithin": {"$centerSphere": [p, km5]}}});
    // withinKilometers complex supports count: an $or of two circles.
    let w = json!({"$or": [within(gp(10.0, 10.0)), within(gp(20.0, 20.0))]});
    assert_eq!(names(&s, "Shop", w.clone()).await, v(&["a", "b", "c"]));
    let (_, res) = find(&s, "Shop", &w, &[("count", "1"), ("limit", "0")]).await;
    assert_eq!(res["count"], 3, "{res}");
    // With another field, and with another operator on the same field.
    let w = json!({"open": true, "location": {"$nearSphere": gp(0.0, 0.0), "$maxDistance": 0.5}});
    assert_eq!(names_in_order(&s, "Shop", w, &[]).await, v(&["a", "c"]));
    let w = json!({"location": {"$nearSphere": gp(0.0, 0.0), "$exists": true}});
    assert_eq!(
        names_in_order(&s, "Shop", w, &[("limit", "3")]).await.len(),
        3
    );
    // A $nearSphere inside $or filters (only a top-level one orders).
    let w = json!({"$or": [{"location": {"$nearSphere": gp(30.0, 30.0), "$maxDistance": 0.01}}, {"name": "a"}]});
    assert_eq!(names(&s, "Shop", w).await, v(&["a", "d"]));
    // A GeoPoint inside an object is reachable with a dotted path.
    s.create("Shop", json!({"name": "e", "meta": {"at": gp(1.0, 1.0)}}))
        .await;
    let w = json!({"meta.at": {"$within": {"$box": [gp(0.0, 0.0), gp(2.0, 2.0)]}}});
    assert_eq!(names(&s, "Shop", w).await, v(&["e"]));
}

#[tokio::test]
async fn near_sphere_errors() {
    let s = TestServer::start().await;
    cities(&s).await;
    fails(
        &s,
        "Place",
        json!({"location": {"$maxDistance": 1}}),
        400,
        107,
        "bad constraint: $maxDistance needs $nearSphere",
    )
    .await;
    fails(
        &s,
        "Place",
        json!({"location": {"$maxDistanceInMiles": 1}}),
        400,
        107,
        "bad constraint: $maxDistanceInMiles needs $nearSphere",
    )
    .await;
    fails(
        &s,
        "Place",
        json!({"location": {"$nearSphere": [1, 2]}}),
        400,
        107,
        "bad $nearSphere value; should be GeoPoint",
    )
    .await;
    fails(
        &s,
        "Place",
        json!({"location": {"$nearSphere": sfo(), "$maxDistanceInKilometers": -1}}),
        400,
        107,
        "bad $maxDistanceInKilometers value; should be a number >= 0",
    )
    .await;
    // Out of range: Parse Server lets the SDK's TypeError escape as a 500; a client's bad
    // point is its mistake, so 400/107 here.
    fails(
        &s,
        "Place",
        json!({"location": {"$nearSphere": gp(91.0, 0.0)}}),
        400,
        107,
        "GeoPoint latitude out of bounds: 91 > 90.0.",
    )
    .await;
}

// ------------------------------------------------------------------------------------------------
// $within / $box

/// ParseGeoPoint.spec.js's inbound / onbound / outbound points.
async fn three_points(s: &TestServer, class: &str) {
    create_many(
        s,
        class,
        vec![
            json!({"name": "inbound", "location": gp(1.5, 1.5)}),
            json!({"name": "onbound", "location": gp(10.0, 10.0)}),
            json!({"name": "outbound", "location": gp(20.0, 20.0)}),
        ],
    )
    .await;
}

#[tokio::test]
async fn within_box_includes_its_edges() {
    let s = TestServer::start().await;
    three_points(&s, "Box").await;
    let bx = |sw: Value, ne: Value| json!({"location": {"$within": {"$box": [sw, ne]}}});
    assert_eq!(
        names(&s, "Box", bx(gp(0.0, 0.0), gp(10.0, 10.0))).await,
        v(&["inbound", "onbound"])
    );
    assert_eq!(
        names(&s, "Box", bx(gp(1.5, 1.5), gp(1.5, 1.5))).await,
        v(&["inbound"])
    );
    // An inverted box (south-west north or east of north-east) matches nothing.
    assert_eq!(
        names(&s, "Box", bx(gp(10.0, 10.0), gp(0.0, 0.0))).await,
        v(&[])
    );
    assert_eq!(
        names(&s, "Box", bx(gp(0.0, 10.0), gp(10.0, 0.0))).await,
        v(&[])
    );
    for bad in [
        json!({"location": {"$within": {"$box": [gp(0.0, 0.0)]}}}),
        json!({"location": {"$within": {"$box": [gp(0.0, 0.0), gp(1.0, 1.0), gp(2.0, 2.0)]}}}),
        json!({"location": {"$within": {"$box": [gp(0.0, 0.0), "x"]}}}),
        json!({"location": {"$within": {}}}),
        json!({"location": {"$within": 5}}),
    ] {
        fails(&s, "Box", bad, 400, 107, "malformatted $within arg").await;
    }
}

// ------------------------------------------------------------------------------------------------
// $geoWithin

#[tokio::test]
async fn geo_within_polygon() {
    let s = TestServer::start().await;
    three_points(&s, "Poly").await;
    s.create("Poly", json!({"name": "east", "location": gp(1.0, 40.0)}))
        .await;
    let within = |p: Value| json!({"location": {"$geoWithin": {"$polygon": p}}});
    let square = [gp(0.0, 0.0), gp(0.0, 10.0), gp(10.0, 10.0), gp(10.0, 0.0)];
    // Open path, closed path, Polygon object: the boundary is inside.
    assert_eq!(
        names(&s, "Poly", within(json!(square))).await,
        v(&["inbound", "onbound"])
    );
    let mut closed = square.to_vec();
    closed.push(gp(0.0, 0.0));
    assert_eq!(
        names(&s, "Poly", within(json!(closed))).await,
        v(&["inbound", "onbound"])
    );
    let object = polygon(json!([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]));
    assert_eq!(
        names(&s, "Poly", within(object)).await,
        v(&["inbound", "onbound"])
    );
    // Bare pairs are [longitude, latitude], as Parse Server passes them to the database.
    let wide = json!([[35, 0], [45, 0], [45, 2], [35, 2]]);
    assert_eq!(names(&s, "Poly", within(wide)).await, v(&["east"]));
    // A concave ring: the notch is outside.
    let c_shape = json!([
        gp(0.0, 0.0),
        gp(0.0, 30.0),
        gp(5.0, 30.0),
        gp(5.0, 5.0),
        gp(25.0, 5.0),
        gp(25.0, 30.0),
        gp(30.0, 30.0),
        gp(30.0, 0.0)
    ]);
    assert_eq!(names(&s, "Poly", within(c_shape)).await, v(&["inbound"]));
}

#[tokio::test]
async fn geo_within_polygon_errors() {
    let s = TestServer::start().await;
    three_points(&s, "Poly").await;
    let within = |p: Value| json!({"location": {"$geoWithin": {"$polygon": p}}});
    let msg = |m: &str| format!("bad $geoWithin value; {m}");
    for (p, error) in [
        (
            json!([]),
            msg("$polygon should contain at least 3 GeoPoints"),
        ),
        (
            json!([{}]),
            msg("$polygon should contain at least 3 GeoPoints"),
        ),
        (
            json!(1234),
            msg("$polygon should be Polygon object or Array of Parse.GeoPoint's"),
        ),
        (
            polygon(json!([[0, 0], [10, 0]])),
            msg("Polygon.coordinates should contain at least 3 lon/lat pairs"),
        ),
        (json!([{}, {}, {}]), "bad $geoWithin value".to_string()),
        (
            json!([[0, 0], [1], [2, 2]]),
            "bad $geoWithin value".to_string(),
        ),
    ] {
        fails(&s, "Poly", within(p), 400, 107, &error).await;
    }
    fails(
        &s,
        "Poly",
        json!({"location": {"$geoWithin": {}}}),
        400,
        107,
        "bad $geoWithin value; use $polygon or $centerSphere",
    )
    .await;
    // Out-of-range points: 400/107 (Parse Server answers 500/1, a crash we do not copy).
    let lat181 = json!({"__type": "GeoPoint", "latitude": 181, "longitude": 0});
    fails(
        &s,
        "Poly",
        within(json!([gp(0.0, 0.0), lat181, gp(0.0, 0.0)])),
        400,
        107,
        "GeoPoint latitude out of bounds: 181 > 90.0.",
    )
    .await;
    let lng181 = json!({"__type": "GeoPoint", "latitude": 0, "longitude": 181});
    fails(
        &s,
        "Poly",
        within(json!([gp(0.0, 0.0), lng181, gp(0.0, 0.0)])),
        400,
        107,
        "GeoPoint longitude out of bounds: 181 > 180.0.",
    )
    .await;
    fails(
        &s,
        "Poly",
        within(polygon(json!([[0, 0], [181, 0], [0, 10]]))),
        400,
        107,
        "GeoPoint longitude out of bounds: 181 > 180.0.",
    )
    .await;
}

#[tokio::test]
async fn geo_within_center_sphere() {
    // ParseQuery.spec.js: withJSON supports geoWithin.centerSphere (and its failures).
    let s = TestServer::start().await;
    three_points(&s, "Circle").await;
    s.create("Circle", json!({"name": "east", "location": gp(0.0, 30.0)}))
        .await;
    let radius = (1569.0 + 1.0) / 6371.0;
    for center in [gp(0.0, 0.0), json!([0, 0])] {
        let w = json!({"location": {"$geoWithin": {"$centerSphere": [center, radius]}}});
        assert_eq!(
            names(&s, "Circle", w).await,
            v(&["inbound", "onbound"]),
            "center {center}"
        );
    }
    // A bare center is [longitude, latitude].
    let w = json!({"location": {"$geoWithin": {"$centerSphere": [[30, 0], 0.01]}}});
    assert_eq!(names(&s, "Circle", w).await, v(&["east"]));
    let w = json!({"location": {"$geoWithin": {"$centerSphere": [[1.5, 1.5], 0.0]}}});
    assert_eq!(names(&s, "Circle", w).await, v(&["inbound"]));

    let sphere = |arg: Value| json!({"location": {"$geoWithin": {"$centerSphere": arg}}});
    let msg = |m: &str| format!("bad $geoWithin value; {m}");
    for (arg, error) in [
        (
            json!([]),
            msg("$centerSphere should be an array of Parse.GeoPoint and distance"),
        ),
        (
            json!([[0, 0], "invalid_distance"]),
            msg("$centerSphere distance invalid"),
        ),
        (json!([[0, 0], -1]), msg("$centerSphere distance invalid")),
        (
            json!([{"longitude": 0, "dummytude": 0}, 1]),
            msg("$centerSphere geo point invalid"),
        ),
    ] {
        fails(&s, "Circle", sphere(arg), 400, 107, &error).await;
    }
    fails(
        &s,
        "Circle",
        sphere(json!([[-190, -190], 1])),
        400,
        107,
        "GeoPoint latitude out of bounds: -190 < -90.0.",
    )
    .await;
}

// ------------------------------------------------------------------------------------------------
// $geoIntersects (Polygon fields)

#[tokio::test]
async fn geo_intersects_finds_polygons_containing_a_point() {
    // ParsePolygon.spec.js: polygonContain query (and its regression tests for #4608).
    let s = TestServer::start().await;
    create_many(
        &s,
        "Area",
        vec![
            json!({"name": "p1", "boundary": polygon(json!([[0, 0], [0, 1], [1, 1], [1, 0]]))}),
            json!({"name": "p2", "boundary": polygon(json!([[0, 0], [0, 2], [2, 2], [2, 0]]))}),
            json!({"name": "p3", "boundary": polygon(json!([[10, 10], [10, 15], [15, 15], [15, 10], [10, 10]]))}),
            json!({"name": "tall", "boundary": polygon(json!([[0.25, 0], [0.25, 1.25], [0.75, 1.25], [0.75, 0]]))}),
            json!({"name": "detroit", "boundary": polygon(json!([
                [42.631655189280224, -83.78406753121705],
                [42.633047793854814, -83.75333640366955],
                [42.61625254348911, -83.75149921669944],
                [42.61526926650296, -83.78161794858735],
                [42.631655189280224, -83.78406753121705]
            ]))}),
            json!({"name": "no polygon", "boundary": null}),
        ],
    )
    .await;
    let contains = |p: Value| json!({"boundary": {"$geoIntersects": {"$point": p}}});
    assert_eq!(
        names(&s, "Area", contains(gp(0.5, 0.5))).await,
        v(&["p1", "p2", "tall"])
    );
    // Stored coordinates are [latitude, longitude].
    assert_eq!(
        names(&s, "Area", contains(gp(0.5, 1.0))).await,
        v(&["p1", "p2", "tall"])
    );
    assert_eq!(
        names(&s, "Area", contains(gp(1.0, 0.5))).await,
        v(&["p1", "p2"])
    );
    assert_eq!(
        names(&s, "Area", contains(gp(42.624599, -83.770162))).await,
        v(&["detroit"])
    );
    // Vertices and edges are inside.
    assert_eq!(
        names(&s, "Area", contains(gp(15.0, 15.0))).await,
        v(&["p3"])
    );
    assert_eq!(
        names(&s, "Area", contains(gp(12.5, 10.0))).await,
        v(&["p3"])
    );
    assert_eq!(names(&s, "Area", contains(gp(50.0, 50.0))).await, v(&[]));

    fails(
        &s,
        "Area",
        json!({"boundary": {"$geoIntersects": {"$point": []}}}),
        400,
        107,
        "bad $geoIntersect value; $point should be GeoPoint",
    )
    .await;
    fails(
        &s,
        "Area",
        contains(gp(181.0, 181.0)),
        400,
        107,
        "GeoPoint latitude out of bounds: 181 > 90.0.",
    )
    .await;
}

// ------------------------------------------------------------------------------------------------
// Schema: one GeoPoint field per class

#[tokio::test]
async fn one_geopoint_field_per_class() {
    let s = TestServer::start().await;
    let (status, res) = s
        .post(
            "/parse/classes/Venue",
            json!({"a": gp(20.0, 20.0), "b": gp(20.0, 20.0)}),
        )
        .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 111, "error": "there can only be one geopoint field in a class"})
        )
    );
    s.create("Venue", json!({"a": gp(20.0, 20.0)})).await;
    let (status, res) = s
        .post("/parse/classes/Venue", json!({"b": gp(1.0, 1.0)}))
        .await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["code"], 111, "{res}");
    // The field keeps taking GeoPoints, and GeoPoints inside objects or arrays do not count.
    s.create(
        "Venue",
        json!({"a": gp(1.0, 1.0), "meta": {"at": gp(2.0, 2.0)}, "list": [gp(3.0, 3.0)]}),
    )
    .await;
    let (status, res) = s.get("/parse/classes/Venue").await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["results"].as_array().map(Vec::len), Some(2));
}
