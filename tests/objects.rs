//! The Objects API over HTTP: create, get, update with ops, delete, list.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let s = TestServer::start().await;
    let (status, created) = s
        .post(
            "/1/classes/GameScore",
            json!({"score": 1337, "playerName": "Sean Plott", "cheatMode": false}),
        )
        .await;
    assert_eq!(status, 201);
    let id = created["objectId"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));

    let (status, got) = s.get(&format!("/1/classes/GameScore/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["score"], 1337);
    assert_eq!(got["playerName"], "Sean Plott");
    assert_eq!(got["cheatMode"], false);
    assert_eq!(got["createdAt"], created["createdAt"]);
    assert_eq!(got["updatedAt"], created["createdAt"]);

    let (status, updated) = s
        .put(
            &format!("/1/classes/GameScore/{id}"),
            json!({"score": 73453}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(updated["updatedAt"].as_str().unwrap() >= got["updatedAt"].as_str().unwrap());
    assert_eq!(
        updated.as_object().unwrap().len(),
        1,
        "a plain set echoes only updatedAt: {updated}"
    );
    let (_, got) = s.get(&format!("/1/classes/GameScore/{id}")).await;
    assert_eq!(got["score"], 73453);

    let (status, body) = s.delete(&format!("/1/classes/GameScore/{id}")).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = s.get(&format!("/1/classes/GameScore/{id}")).await;
    assert_eq!(
        (status, body),
        (404, json!({"code": 101, "error": "Object not found."}))
    );
}

// ------------------------------------------------------------------------------------------------
// Helpers (local to this file).

use common::send;
use reqwest::Method;
use serde_json::Value;

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly (UTC, millisecond precision).
fn is_iso_ms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// A find as a REST client sends it, with query-string parameters.
async fn find(s: &TestServer, class: &str, params: &[(&str, String)]) -> (u16, Value) {
    send(
        s.req(Method::GET, &format!("/parse/classes/{class}"))
            .query(params),
    )
    .await
}

/// `body` plus the three fields the server adds, taken from `got`.
fn with_meta(mut body: Value, got: &Value) -> Value {
    for k in ["objectId", "createdAt", "updatedAt"] {
        body[k] = got[k].clone();
    }
    body
}

// ------------------------------------------------------------------------------------------------
// Create

#[tokio::test]
async fn create_answers_201_with_location_and_exactly_id_and_created_at() {
    let s = TestServer::start().await;
    for mount in ["/1", "/parse"] {
        let res = s
            .req(Method::POST, &format!("{mount}/classes/GameScore"))
            .json(&json!({"score": 1, "playerName": "Sean"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        let location = res
            .headers()
            .get("location")
            .expect("Location header")
            .to_str()
            .unwrap()
            .to_string();
        let ct = res
            .headers()
            .get("content-type")
            .expect("content type")
            .to_str()
            .unwrap()
            .to_string();
        assert!(ct.starts_with("application/json"), "{ct}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(keys_of(&body), vec!["createdAt", "objectId"], "{body}");
        let id = body["objectId"].as_str().unwrap();
        assert_eq!(
            location,
            format!("http://127.0.0.1:{}{mount}/classes/GameScore/{id}", s.port)
        );
        assert!(is_iso_ms(body["createdAt"].as_str().unwrap()), "{body}");

        let (status, got) = s.get(&format!("{mount}/classes/GameScore/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(got["createdAt"], body["createdAt"]);
        assert_eq!(got["updatedAt"], body["createdAt"]);
    }
    // Both mounts see the same data.
    assert_eq!(s.all("GameScore").await.len(), 2);
    let (_, via_1) = s.get("/1/classes/GameScore").await;
    let (_, via_parse) = s.get("/parse/classes/GameScore").await;
    assert_eq!(via_1["results"].as_array().unwrap().len(), 2);
    assert_eq!(keys_of(&via_1), vec!["results"]);
    let mut a: Vec<Value> = via_1["results"].as_array().unwrap().clone();
    let mut b: Vec<Value> = via_parse["results"].as_array().unwrap().clone();
    a.sort_by_key(|o| o["objectId"].as_str().unwrap().to_string());
    b.sort_by_key(|o| o["objectId"].as_str().unwrap().to_string());
    assert_eq!(a, b);
}

#[tokio::test]
async fn object_ids_are_distinct_ten_character_alphanumerics() {
    let s = TestServer::start().await;
    let mut ids = std::collections::BTreeSet::new();
    for i in 0..30 {
        let id = s.create("Thing", json!({"i": i})).await;
        assert_eq!(id.len(), 10, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        ids.insert(id);
    }
    assert_eq!(ids.len(), 30);
    assert_eq!(s.all("Thing").await.len(), 30);
}

#[tokio::test]
async fn get_returns_exactly_the_stored_fields() {
    let s = TestServer::start().await;
    let body = json!({"score": 1337, "playerName": "Sean Plott", "cheatMode": false, "skills": ["pwnage", "flying"]});
    let id = s.create("GameScore", body.clone()).await;
    let (status, got) = s.get(&format!("/parse/classes/GameScore/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["objectId"], json!(id));
    assert_eq!(got, with_meta(body, &got));
    // A find returns the same JSON for the object.
    let (status, found) = s.get("/parse/classes/GameScore").await;
    assert_eq!(status, 200);
    assert_eq!(found, json!({"results": [got]}));
}

#[tokio::test]
async fn every_value_type_round_trips() {
    let s = TestServer::start().await;
    let body = json!({
        "date": {"__type": "Date", "iso": "2011-08-21T18:02:52.249Z"},
        "pointer": {"__type": "Pointer", "className": "Other", "objectId": "Ed1nuqPvcm"},
        "file": {"__type": "File", "name": "profile.png", "url": "http://files.example.com/profile.png"},
        "geo": {"__type": "GeoPoint", "latitude": 40.0, "longitude": -30.5},
        "bytes": {"__type": "Bytes", "base64": "aGVsbG8gd29ybGQ="},
        "nested": {"a": {"b": [1, {"c": "d"}], "e": true}, "f": null},
        "array": [1, "two", {"three": 3}, [4], null, {"__type": "Pointer", "className": "Other", "objectId": "x1"}],
        "emptyArray": [],
        "emptyObject": {},
        "string": "héllo wörld ✓",
        "emptyString": "",
        "int": 42,
        "negative": -7,
        "float": 3.25,
        "big": 9007199254740991i64,
        "yes": true,
        "no": false,
    });
    let id = s.create("Everything", body.clone()).await;
    // A file's URL is where this server serves it, whatever URL was sent (as Parse Server).
    let mut body = body;
    body["file"]["url"] = json!(s.url("/parse/files/test/profile.png"));
    let (status, got) = s.get(&format!("/parse/classes/Everything/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, with_meta(body.clone(), &got));
    let all = s.all("Everything").await;
    assert_eq!(all, vec![got.clone()]);

    // The same values survive an update that sets them all again on a fresh object.
    let id2 = s.create("Everything", json!({})).await;
    let (status, _) = s
        .put(&format!("/parse/classes/Everything/{id2}"), body.clone())
        .await;
    assert_eq!(status, 200);
    let (_, got2) = s.get(&format!("/parse/classes/Everything/{id2}")).await;
    assert_eq!(got2, with_meta(body, &got2));
}

#[tokio::test]
async fn polygons_round_trip() {
    let s = TestServer::start().await;
    let closed = json!({"__type": "Polygon", "coordinates": [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]});
    let id = s.create("Area", json!({"shape": closed.clone()})).await;
    let (_, got) = s.get(&format!("/parse/classes/Area/{id}")).await;
    assert_eq!(got["shape"], closed);
}

#[tokio::test]
async fn an_open_polygon_is_closed_by_the_server() {
    // Parse Server closes polygons on write (PolygonCoder.JSONToDatabase pushes the first point)
    // and returns the closed ring (notes §5.3 "auto-closed").
    let s = TestServer::start().await;
    let id = s
        .create(
            "Area",
            json!({"shape": {"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]}}),
        )
        .await;
    let (_, got) = s.get(&format!("/parse/classes/Area/{id}")).await;
    // SERVER BUG if this fails: the polygon must come back closed (first point repeated at the end).
    assert_eq!(
        got["shape"],
        json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1], [0, 0]]}),
        "open polygon not auto-closed"
    );
}

#[tokio::test]
async fn dates_are_normalised_to_utc_milliseconds() {
    let s = TestServer::start().await;
    let id = s
        .create(
            "Event",
            json!({
                "noFraction": {"__type": "Date", "iso": "2020-01-02T03:04:05Z"},
                "micro": {"__type": "Date", "iso": "2020-01-02T03:04:05.123456Z"},
                "one": {"__type": "Date", "iso": "2020-01-02T03:04:05.1Z"},
                "inArray": [{"__type": "Date", "iso": "2020-01-02T03:04:05Z"}],
            }),
        )
        .await;
    let (_, got) = s.get(&format!("/parse/classes/Event/{id}")).await;
    assert_eq!(
        got["noFraction"],
        json!({"__type": "Date", "iso": "2020-01-02T03:04:05.000Z"})
    );
    assert_eq!(
        got["micro"],
        json!({"__type": "Date", "iso": "2020-01-02T03:04:05.123Z"})
    );
    assert_eq!(
        got["one"],
        json!({"__type": "Date", "iso": "2020-01-02T03:04:05.100Z"})
    );
    assert_eq!(
        got["inArray"],
        json!([{"__type": "Date", "iso": "2020-01-02T03:04:05.000Z"}])
    );
    assert!(is_iso_ms(got["createdAt"].as_str().unwrap()));
    assert!(is_iso_ms(got["updatedAt"].as_str().unwrap()));
}

#[tokio::test]
async fn dates_with_an_offset_are_converted_to_utc() {
    let s = TestServer::start().await;
    let id = s
        .create(
            "Event",
            json!({"at": {"__type": "Date", "iso": "2020-01-02T05:04:05.5+02:00"}}),
        )
        .await;
    let (_, got) = s.get(&format!("/parse/classes/Event/{id}")).await;
    assert_eq!(
        got["at"],
        json!({"__type": "Date", "iso": "2020-01-02T03:04:05.500Z"})
    );
}

#[tokio::test]
async fn geopoint_bounds_are_inclusive() {
    let s = TestServer::start().await;
    for (lat, lng) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)] {
        let (status, res) = s
            .post(
                "/parse/classes/Place",
                json!({"at": {"__type": "GeoPoint", "latitude": lat, "longitude": lng}}),
            )
            .await;
        assert_eq!(status, 201, "{lat},{lng}: {res}");
        let (_, got) = s
            .get(&format!(
                "/parse/classes/Place/{}",
                res["objectId"].as_str().unwrap()
            ))
            .await;
        assert_eq!(got["at"]["latitude"].as_f64(), Some(lat));
        assert_eq!(got["at"]["longitude"].as_f64(), Some(lng));
    }
    assert_eq!(s.all("Place").await.len(), 3);
}

#[tokio::test]
async fn acl_round_trips() {
    let s = TestServer::start().await;
    let acl = json!({"*": {"read": true, "write": true}, "role:Admin": {"read": true}});
    let id = s.create("Doc", json!({"ACL": acl.clone(), "x": 1})).await;
    let (status, got) = s.get(&format!("/parse/classes/Doc/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["ACL"], acl);
    // Without an ACL the key is absent.
    let id2 = s.create("Doc", json!({"x": 2})).await;
    let (_, got2) = s.get(&format!("/parse/classes/Doc/{id2}")).await;
    assert!(got2.get("ACL").is_none(), "{got2}");
}

#[tokio::test]
async fn server_fields_in_a_create_body_are_ignored() {
    let s = TestServer::start().await;
    let (status, created) = s
        .post(
            "/parse/classes/Thing",
            json!({"createdAt": "1999-01-01T00:00:00.000Z", "updatedAt": "garbage", "x": 1}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(keys_of(&created), vec!["createdAt", "objectId"]);
    let (_, got) = s
        .get(&format!(
            "/parse/classes/Thing/{}",
            created["objectId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(got["createdAt"], created["createdAt"]);
    assert_eq!(got["updatedAt"], created["createdAt"]);
    assert_eq!(got["x"], 1);
}

#[tokio::test]
async fn create_with_ops_flattens_them_and_echoes_their_results() {
    let s = TestServer::start().await;
    let (status, created) = s
        .post(
            "/parse/classes/Counter",
            json!({
                "plain": "x",
                "n": {"__op": "Increment", "amount": 3},
                "list": {"__op": "Add", "objects": [1, 2]},
                "set": {"__op": "AddUnique", "objects": ["a", "b"]},
                "removed": {"__op": "Remove", "objects": [1]},
                "gone": {"__op": "Delete"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["objectId"].as_str().unwrap();
    assert_eq!(
        created,
        json!({
            "objectId": id,
            "createdAt": created["createdAt"],
            "n": 3,
            "list": [1, 2],
            "set": ["a", "b"],
            "removed": [],
        })
    );
    let (_, got) = s.get(&format!("/parse/classes/Counter/{id}")).await;
    assert_eq!(
        got,
        with_meta(
            json!({"plain": "x", "n": 3, "list": [1, 2], "set": ["a", "b"], "removed": []}),
            &got
        )
    );
}

// ------------------------------------------------------------------------------------------------
// Update

#[tokio::test]
async fn update_keeps_unspecified_fields_and_advances_updated_at() {
    let s = TestServer::start().await;
    let id = s
        .create("GameScore", json!({"score": 1, "name": "a", "keep": [1]}))
        .await;
    let (_, before) = s.get(&format!("/parse/classes/GameScore/{id}")).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, updated) = s
        .put(
            &format!("/1/classes/GameScore/{id}"),
            json!({"score": 2, "extra": "new"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys_of(&updated), vec!["updatedAt"], "{updated}");
    let updated_at = updated["updatedAt"].as_str().unwrap();
    assert!(is_iso_ms(updated_at));
    assert!(updated_at > before["updatedAt"].as_str().unwrap());
    let (_, after) = s.get(&format!("/parse/classes/GameScore/{id}")).await;
    assert_eq!(after["createdAt"], before["createdAt"]);
    assert_eq!(after["updatedAt"], json!(updated_at));
    assert_eq!(
        after,
        with_meta(
            json!({"score": 2, "name": "a", "keep": [1], "extra": "new"}),
            &after
        )
    );
    // An empty update is fine and only touches updatedAt.
    let (status, updated) = s
        .put(&format!("/parse/classes/GameScore/{id}"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys_of(&updated), vec!["updatedAt"]);
    let (_, again) = s.get(&format!("/parse/classes/GameScore/{id}")).await;
    assert_eq!(
        again,
        with_meta(
            json!({"score": 2, "name": "a", "keep": [1], "extra": "new"}),
            &again
        )
    );
}

#[tokio::test]
async fn update_with_ops_returns_only_updated_at_and_op_results() {
    let s = TestServer::start().await;
    let id = s
        .create(
            "Counter",
            json!({"n": 5, "list": [1, 2], "tags": ["a"], "bag": [1, 2, 1, 3], "label": "x", "dead": 1}),
        )
        .await;
    let (status, res) = s
        .put(
            &format!("/parse/classes/Counter/{id}"),
            json!({
                "n": {"__op": "Increment", "amount": 2},
                "list": {"__op": "Add", "objects": [3, 1]},
                "tags": {"__op": "AddUnique", "objects": ["a", "b"]},
                "bag": {"__op": "Remove", "objects": [1]},
                "label": "y",
                "dead": {"__op": "Delete"},
            }),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(
        res,
        json!({
            "updatedAt": res["updatedAt"],
            "n": 7,
            "list": [1, 2, 3, 1],
            "tags": ["a", "b"],
            "bag": [2, 3],
        })
    );
    let (_, got) = s.get(&format!("/parse/classes/Counter/{id}")).await;
    assert_eq!(
        got,
        with_meta(
            json!({"n": 7, "list": [1, 2, 3, 1], "tags": ["a", "b"], "bag": [2, 3], "label": "y"}),
            &got
        )
    );
}

#[tokio::test]
async fn increment_semantics() {
    let s = TestServer::start().await;
    let id = s.create("Counter", json!({"n": 10, "f": 1.5})).await;
    let path = format!("/parse/classes/Counter/{id}");
    let (_, r) = s
        .put(&path, json!({"n": {"__op": "Increment", "amount": -3}}))
        .await;
    assert_eq!(r["n"], 7);
    let (_, r) = s
        .put(&path, json!({"f": {"__op": "Increment", "amount": 1}}))
        .await;
    assert_eq!(r["f"].as_f64(), Some(2.5));
    // A missing field counts as 0.
    let (status, r) = s
        .put(&path, json!({"fresh": {"__op": "Increment", "amount": 4}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(r["fresh"], 4);
    let (_, got) = s.get(&path).await;
    assert_eq!(got["n"], 7);
    assert_eq!(got["f"].as_f64(), Some(2.5));
    assert_eq!(got["fresh"], 4);
}

#[tokio::test]
async fn array_ops_on_missing_fields_and_duplicates() {
    let s = TestServer::start().await;
    let id = s.create("Lists", json!({"u": [1, 2]})).await;
    let path = format!("/parse/classes/Lists/{id}");
    let (status, r) = s
        .put(
            &path,
            json!({"a": {"__op": "Add", "objects": ["x", {"k": 1}]}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(r["a"], json!(["x", {"k": 1}]));
    let (_, r) = s
        .put(
            &path,
            json!({"u": {"__op": "AddUnique", "objects": [2, 3, 3]}}),
        )
        .await;
    let mut u: Vec<i64> = r["u"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    u.sort();
    assert_eq!(u, vec![1, 2, 3], "AddUnique must not duplicate: {r}");
    let (_, r) = s
        .put(
            &path,
            json!({"a": {"__op": "Remove", "objects": [{"k": 1}]}}),
        )
        .await;
    assert_eq!(r["a"], json!(["x"]));
    let (_, got) = s.get(&path).await;
    assert_eq!(got["a"], json!(["x"]));
    assert_eq!(got["u"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn delete_op_unsets_a_field() {
    let s = TestServer::start().await;
    let id = s.create("Thing", json!({"a": 1, "b": "keep"})).await;
    let (status, r) = s
        .put(
            &format!("/parse/classes/Thing/{id}"),
            json!({"a": {"__op": "Delete"}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys_of(&r), vec!["updatedAt"]);
    let (_, got) = s.get(&format!("/parse/classes/Thing/{id}")).await;
    assert!(got.get("a").is_none(), "{got}");
    assert_eq!(got["b"], "keep");
    // Deleting a field that is not set is fine.
    let (status, _) = s
        .put(
            &format!("/parse/classes/Thing/{id}"),
            json!({"zzz": {"__op": "Delete"}}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, got) = s.get(&format!("/parse/classes/Thing/{id}")).await;
    assert_eq!(got, with_meta(json!({"b": "keep"}), &got));
    // The field keeps its type: it can be set again with the same type.
    let (status, _) = s
        .put(&format!("/parse/classes/Thing/{id}"), json!({"a": 5}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn dotted_keys_write_inside_object_fields() {
    let s = TestServer::start().await;
    let id = s
        .create(
            "Player",
            json!({"stats": {"n": 1, "label": "x", "deep": {"k": 1}}}),
        )
        .await;
    let path = format!("/parse/classes/Player/{id}");
    let (status, _) = s
        .put(
            &path,
            json!({
                "stats.n": {"__op": "Increment", "amount": 2},
                "stats.label": "y",
                "stats.deep.k": 7,
                "stats.fresh": true,
            }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, got) = s.get(&path).await;
    assert_eq!(
        got["stats"],
        json!({"n": 3, "label": "y", "deep": {"k": 7}, "fresh": true})
    );
    let (status, _) = s
        .put(&path, json!({"stats.label": {"__op": "Delete"}}))
        .await;
    assert_eq!(status, 200);
    let (_, got) = s.get(&path).await;
    assert_eq!(
        got["stats"],
        json!({"n": 3, "deep": {"k": 7}, "fresh": true})
    );
}

#[tokio::test]
async fn dotted_increment_echoes_the_nested_result() {
    // DatabaseController.sanitizeDatabaseResult → expandResultOnKeyPath: a dotted Increment's
    // result comes back nested under the root field ({"stats": {"n": 3}}), like any op result
    // (notes §3.2 "+ op results").
    let s = TestServer::start().await;
    let id = s
        .create("Player", json!({"stats": {"n": 1, "label": "x"}}))
        .await;
    let (status, res) = s
        .put(
            &format!("/parse/classes/Player/{id}"),
            json!({"stats.n": {"__op": "Increment", "amount": 2}}),
        )
        .await;
    assert_eq!(status, 200);
    // SERVER BUG if this fails: the dotted Increment's result is missing from the update response.
    assert_eq!(
        res,
        json!({"updatedAt": res["updatedAt"], "stats": {"n": 3}}),
        "dotted op result not echoed"
    );
}

#[tokio::test]
async fn null_values_are_stored_and_do_not_fix_a_type() {
    let s = TestServer::start().await;
    let id = s.create("Nullable", json!({"a": null, "b": 1})).await;
    let (_, got) = s.get(&format!("/parse/classes/Nullable/{id}")).await;
    assert_eq!(got["a"], Value::Null);
    assert_eq!(got["b"], 1);
    // `a` got no type from null, so a string is fine; a Number field may be set to null.
    let (status, res) = s
        .put(
            &format!("/parse/classes/Nullable/{id}"),
            json!({"a": "now a string", "b": null}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let (_, got) = s.get(&format!("/parse/classes/Nullable/{id}")).await;
    assert_eq!(got["a"], "now a string");
    assert_eq!(got["b"], Value::Null);
    // b is still a Number field.
    let (status, res) = s
        .put(&format!("/parse/classes/Nullable/{id}"), json!({"b": "x"}))
        .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 111, "error": "schema mismatch for Nullable.b; expected Number but got String"})
        )
    );
}

#[tokio::test]
async fn relation_ops_and_relation_fields_in_every_read() {
    let s = TestServer::start().await;
    let p1 = s.create("Player", json!({"name": "p1"})).await;
    let p2 = s.create("Player", json!({"name": "p2"})).await;
    let game = s.create("Game", json!({"title": "g"})).await;
    let other = s.create("Game", json!({"title": "other"})).await;
    let ptr = |id: &str| json!({"__type": "Pointer", "className": "Player", "objectId": id});
    let relation = json!({"__type": "Relation", "className": "Player"});

    let (status, res) = s
        .put(
            &format!("/parse/classes/Game/{game}"),
            json!({"opponents": {"__op": "AddRelation", "objects": [ptr(&p1), ptr(&p2)]}}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(keys_of(&res), vec!["updatedAt"], "{res}");

    let (_, got) = s.get(&format!("/parse/classes/Game/{game}")).await;
    assert_eq!(
        got,
        with_meta(json!({"title": "g", "opponents": relation.clone()}), &got)
    );
    // Every object of the class shows the relation field, even one never touched.
    let (_, got_other) = s.get(&format!("/parse/classes/Game/{other}")).await;
    assert_eq!(got_other["opponents"], relation);
    let (_, found) = s.get("/parse/classes/Game").await;
    for o in found["results"].as_array().unwrap() {
        assert_eq!(o["opponents"], relation, "{o}");
    }
    // New objects too.
    let late = s.create("Game", json!({"title": "late"})).await;
    let (_, got_late) = s.get(&format!("/parse/classes/Game/{late}")).await;
    assert_eq!(got_late["opponents"], relation);

    let (status, _) = s
        .put(
            &format!("/parse/classes/Game/{game}"),
            json!({"opponents": {"__op": "RemoveRelation", "objects": [ptr(&p1)]}}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s
        .put(
            &format!("/parse/classes/Game/{game}"),
            json!({"opponents": {"__op": "Batch", "ops": [
                {"__op": "AddRelation", "objects": [ptr(&p1)]},
                {"__op": "RemoveRelation", "objects": [ptr(&p2)]},
            ]}}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, got) = s.get(&format!("/parse/classes/Game/{game}")).await;
    assert_eq!(got["opponents"], relation);

    // The field is a Relation<Player> now.
    let (status, res) = s
        .put(
            &format!("/parse/classes/Game/{game}"),
            json!({"opponents": 1}),
        )
        .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 111, "error": "schema mismatch for Game.opponents; expected Relation<Player> but got Number"})
        )
    );
}

#[tokio::test]
async fn add_relation_on_create() {
    let s = TestServer::start().await;
    let p = s.create("Player", json!({})).await;
    let (status, created) = s
        .post(
            "/parse/classes/Team",
            json!({"members": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "Player", "objectId": p}]}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(keys_of(&created), vec!["createdAt", "objectId"]);
    let (_, got) = s
        .get(&format!(
            "/parse/classes/Team/{}",
            created["objectId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        got["members"],
        json!({"__type": "Relation", "className": "Player"})
    );
}

#[tokio::test]
async fn get_with_keys_projects_fields() {
    let s = TestServer::start().await;
    let id = s.create("Thing", json!({"a": 1, "b": 2, "c": 3})).await;
    let (status, got) = send(
        s.req(Method::GET, &format!("/parse/classes/Thing/{id}"))
            .query(&[("keys", "a,c")]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got, with_meta(json!({"a": 1, "c": 3}), &got));
    let (status, got) = send(
        s.req(Method::GET, &format!("/parse/classes/Thing/{id}"))
            .query(&[("excludeKeys", "a")]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got, with_meta(json!({"b": 2, "c": 3}), &got));
}

// ------------------------------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn delete_removes_the_object_everywhere() {
    let s = TestServer::start().await;
    let keep = s.create("Thing", json!({"k": 1})).await;
    let gone = s.create("Thing", json!({"k": 2})).await;
    let (status, body) = s.delete(&format!("/1/classes/Thing/{gone}")).await;
    assert_eq!((status, body), (200, json!({})));
    let not_found = json!({"code": 101, "error": "Object not found."});
    assert_eq!(
        s.get(&format!("/parse/classes/Thing/{gone}")).await,
        (404, not_found.clone())
    );
    assert_eq!(
        s.delete(&format!("/parse/classes/Thing/{gone}")).await,
        (404, not_found.clone())
    );
    assert_eq!(
        s.put(&format!("/parse/classes/Thing/{gone}"), json!({"k": 3}))
            .await,
        (404, not_found)
    );
    let all = s.all("Thing").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["objectId"], json!(keep));
    let (_, count) = find(&s, "Thing", &[("count", "1".into()), ("limit", "0".into())]).await;
    assert_eq!(count, json!({"results": [], "count": 1}));
}

#[tokio::test]
async fn missing_objects_are_404_on_every_verb() {
    let s = TestServer::start().await;
    s.create("Thing", json!({})).await;
    let not_found = json!({"code": 101, "error": "Object not found."});
    assert_eq!(
        s.get("/parse/classes/Thing/doesNotExist").await,
        (404, not_found.clone())
    );
    assert_eq!(
        s.put("/parse/classes/Thing/doesNotExist", json!({"a": 1}))
            .await,
        (404, not_found.clone())
    );
    assert_eq!(
        s.delete("/parse/classes/Thing/doesNotExist").await,
        (404, not_found.clone())
    );
    // The failed update created nothing.
    assert_eq!(s.all("Thing").await.len(), 1);
    let (_, all) = s.get("/parse/classes/Thing").await;
    assert!(all["results"][0].get("a").is_none());
    // With the master key too, and on a class that does not exist.
    let (status, body) = send(s.master(Method::GET, "/parse/classes/Nothing/abc")).await;
    assert_eq!((status, body), (404, not_found));
}

// ------------------------------------------------------------------------------------------------
// Concurrency

#[tokio::test]
async fn concurrent_increments_are_atomic() {
    let s = TestServer::start().await;
    let id = s.create("Counter", json!({"n": 0})).await;
    let path = format!("/parse/classes/Counter/{id}");
    let futures = (0..50).map(|_| s.put(&path, json!({"n": {"__op": "Increment", "amount": 1}})));
    let results = futures::future::join_all(futures).await;
    let mut seen: Vec<i64> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["n"]
                .as_i64()
                .unwrap_or_else(|| panic!("no n in {body}"))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        (1..=50).collect::<Vec<i64>>(),
        "each increment sees a distinct value"
    );
    let (_, got) = s.get(&path).await;
    assert_eq!(got["n"], 50);
}

#[tokio::test]
async fn concurrent_creates_and_array_adds() {
    let s = TestServer::start().await;
    let created =
        futures::future::join_all((0..40).map(|i| s.post("/parse/classes/Many", json!({"i": i}))))
            .await;
    let mut ids: Vec<String> = created
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["objectId"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    assert_eq!(s.all("Many").await.len(), 40);

    let id = s.create("Bag", json!({"items": []})).await;
    let path = format!("/parse/classes/Bag/{id}");
    let res = futures::future::join_all(
        (0..30).map(|i| s.put(&path, json!({"items": {"__op": "Add", "objects": [i]}}))),
    )
    .await;
    assert!(res.iter().all(|(st, _)| *st == 200));
    let (_, got) = s.get(&path).await;
    let mut items: Vec<i64> = got["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    items.sort();
    assert_eq!(items, (0..30).collect::<Vec<i64>>());
}
