//! Rejected writes over HTTP: every error code the objects API produces (103, 105, 107, 108, 111,
//! 119, 121, 123, 413, …) with its exact status and body, and proof that a rejected request
//! wrote nothing.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn err(code: i64, msg: &str) -> Value {
    json!({"code": code, "error": msg})
}

fn invalid_class(name: &str) -> Value {
    err(
        103,
        &format!(
            "Invalid classname: {name}, classnames can only have alphanumeric characters and _, and must start with an alpha character "
        ),
    )
}

/// A class with one known object of every common type, plus a snapshot to compare against.
async fn fixture(s: &TestServer) -> (String, Vec<Value>) {
    let id = s
        .create(
            "Item",
            json!({
                "score": 1,
                "name": "one",
                "flag": true,
                "list": [1],
                "obj": {"x": 1},
                "when": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"},
                "owner": {"__type": "Pointer", "className": "Player", "objectId": "p1"},
                "file": {"__type": "File", "name": "a.txt"},
                "where": {"__type": "GeoPoint", "latitude": 1, "longitude": 2},
            }),
        )
        .await;
    let snapshot = s.all("Item").await;
    (id, snapshot)
}

/// Asserts that `class` holds exactly `snapshot` (nothing created, changed or deleted).
async fn unchanged(s: &TestServer, class: &str, snapshot: &[Value], ctx: &str) {
    assert_eq!(
        s.all(class).await,
        snapshot,
        "a rejected request changed {class}: {ctx}"
    );
}

// ------------------------------------------------------------------------------------------------
// Names

#[tokio::test]
async fn invalid_class_names_are_103() {
    let s = TestServer::start().await;
    for name in ["1Foo", "_Custom", "Foo-Bar", "Foo$", "a.b"] {
        let (status, res) = s
            .post(&format!("/parse/classes/{name}"), json!({"a": 1}))
            .await;
        assert_eq!((status, res), (400, invalid_class(name)), "POST {name}");
        let (status, res) = s
            .put(
                &format!("/parse/classes/{name}/abcdefghij"),
                json!({"a": 1}),
            )
            .await;
        assert_eq!((status, res), (400, invalid_class(name)), "PUT {name}");
        // Nothing was created under that name (reading it answers 103 or an empty list).
        let (status, res) = send(s.master(Method::GET, &format!("/parse/classes/{name}"))).await;
        assert!(
            (status, &res) == (400, &invalid_class(name))
                || (status, &res) == (200, &json!({"results": []})),
            "GET {name}: {status} {res}"
        );
    }
}

#[tokio::test]
async fn percent_encoded_class_names_are_decoded() {
    // Express decodes route parameters, so `/classes/Foo%20Bar` names the class "Foo Bar".
    let s = TestServer::start().await;
    let (status, res) = s.post("/parse/classes/Foo%20Bar", json!({"a": 1})).await;
    // SERVER BUG if this fails: the class name in the path is not percent-decoded.
    assert_eq!(
        (status, res),
        (400, invalid_class("Foo Bar")),
        "class name not percent-decoded"
    );
    let (status, res) = s.post("/parse/classes/Ünïcode", json!({"a": 1})).await;
    assert_eq!(
        (status, res),
        (400, invalid_class("Ünïcode")),
        "class name not percent-decoded"
    );
    // An encoded valid name reaches the same class.
    let id = s.create("Plain", json!({"a": 1})).await;
    let (status, got) = s.get(&format!("/parse/classes/%50lain/{id}")).await;
    assert_eq!(status, 200, "%50lain should be Plain: {got}");
}

#[tokio::test]
async fn invalid_field_names_on_create_are_105() {
    let s = TestServer::start().await;
    let (_, snapshot) = fixture(&s).await;
    for field in [
        "b!ad",
        "1abc",
        "_private",
        "with space",
        "a-b",
        "length",
        "className",
        "ünï",
        "$set",
    ] {
        let (status, res) = s
            .post("/parse/classes/Item", json!({"ok": 1, field: 1}))
            .await;
        assert_eq!(
            (status, res),
            (400, err(105, &format!("Invalid field name: {field}."))),
            "{field}"
        );
        unchanged(&s, "Item", &snapshot, field).await;
    }
    // Also on a class that does not exist yet: it is not created.
    let (status, res) = s.post("/parse/classes/Fresh", json!({"b!ad": 1})).await;
    assert_eq!((status, res), (400, err(105, "Invalid field name: b!ad.")));
    assert_eq!(s.all("Fresh").await, Vec::<Value>::new());
}

#[tokio::test]
async fn invalid_field_names_on_update_are_105() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    for (field, value) in [
        ("b!ad", json!(1)),
        ("1abc", json!("x")),
        ("_private", json!(null)),
        ("b!ad", json!({"__op": "Delete"})),
    ] {
        let (status, res) = s
            .put(
                &format!("/parse/classes/Item/{id}"),
                json!({"score": 2, field: value}),
            )
            .await;
        assert_eq!(
            (status, res),
            (
                400,
                err(105, &format!("Invalid field name for update: {field}"))
            ),
            "{field}"
        );
        unchanged(&s, "Item", &snapshot, field).await;
    }
}

#[tokio::test]
async fn object_id_and_id_in_a_create_body_are_105() {
    let s = TestServer::start().await;
    let (_, snapshot) = fixture(&s).await;
    let (status, res) = s
        .post(
            "/parse/classes/Item",
            json!({"objectId": "abcdefghij", "a": 1}),
        )
        .await;
    assert_eq!(
        (status, res),
        (400, err(105, "objectId is an invalid field name."))
    );
    let (status, res) = s
        .post("/parse/classes/Item", json!({"id": "abcdefghij", "a": 1}))
        .await;
    assert_eq!(
        (status, res),
        (400, err(105, "id is an invalid field name."))
    );
    unchanged(&s, "Item", &snapshot, "objectId/id").await;
    assert_eq!(s.get("/parse/classes/Item/abcdefghij").await.0, 404);
}

#[tokio::test]
async fn nested_keys_with_dollar_or_dot_are_121() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    let msg = err(
        121,
        "Nested keys should not contain the '$' or '.' characters",
    );
    for body in [
        json!({"o": {"a.b": 1}}),
        json!({"o": {"$x": 1}}),
        json!({"o": {"deep": {"x.y": 1}}}),
    ] {
        let (status, res) = s.post("/parse/classes/Item", body.clone()).await;
        assert_eq!((status, res), (400, msg.clone()), "create {body}");
        let (status, res) = s
            .put(&format!("/parse/classes/Item/{id}"), body.clone())
            .await;
        assert_eq!((status, res), (400, msg.clone()), "update {body}");
        unchanged(&s, "Item", &snapshot, &body.to_string()).await;
    }
}

#[tokio::test]
async fn prohibited_keywords_are_105() {
    // requestKeywordDenylist defaults (notes §0, §4.4; spec/vulnerabilities.spec.js).
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    let cases = [
        (
            Method::POST,
            json!({"obj": {"constructor": {"prototype": {"dummy": 0}}}}),
            r#"Prohibited keyword in request data: {"key":"constructor"}."#,
        ),
        (
            Method::POST,
            json!({"obj.__proto__.dummy": 0}),
            r#"Prohibited keyword in request data: {"key":"__proto__"}."#,
        ),
        (
            Method::POST,
            json!({"obj": {"_bsontype": "Code", "code": "delete Object.prototype.evalFunctions"}}),
            r#"Prohibited keyword in request data: {"key":"_bsontype","value":"Code"}."#,
        ),
        (
            Method::PUT,
            json!({"obj.constructor.prototype.dummy": {"__op": "Increment", "amount": 1}}),
            r#"Prohibited keyword in request data: {"key":"constructor"}."#,
        ),
    ];
    for (method, body, msg) in cases {
        let path = if method == Method::POST {
            "/parse/classes/Item".to_string()
        } else {
            format!("/parse/classes/Item/{id}")
        };
        let (status, res) = send(s.req(method.clone(), &path).json(&body)).await;
        // SERVER BUG if this fails: prohibited keywords are not rejected.
        assert_eq!((status, res), (400, err(105, msg)), "{method} {body}");
        unchanged(&s, "Item", &snapshot, &body.to_string()).await;
    }
}

// ------------------------------------------------------------------------------------------------
// Types

#[tokio::test]
async fn type_conflicts_are_111_on_create_and_update() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    let cases = [
        (
            json!({"score": "str"}),
            "schema mismatch for Item.score; expected Number but got String",
        ),
        (
            json!({"name": 5}),
            "schema mismatch for Item.name; expected String but got Number",
        ),
        (
            json!({"flag": 1}),
            "schema mismatch for Item.flag; expected Boolean but got Number",
        ),
        (
            json!({"list": {"a": 1}}),
            "schema mismatch for Item.list; expected Array but got Object",
        ),
        (
            json!({"obj": [1]}),
            "schema mismatch for Item.obj; expected Object but got Array",
        ),
        (
            json!({"when": "2020-01-01"}),
            "schema mismatch for Item.when; expected Date but got String",
        ),
        (
            json!({"name": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}}),
            "schema mismatch for Item.name; expected String but got Date",
        ),
        (
            json!({"owner": {"__type": "Pointer", "className": "Team", "objectId": "t1"}}),
            "schema mismatch for Item.owner; expected Pointer<Player> but got Pointer<Team>",
        ),
        (
            json!({"file": "a.txt"}),
            "schema mismatch for Item.file; expected File but got String",
        ),
        (
            json!({"where": 5}),
            "schema mismatch for Item.where; expected GeoPoint but got Number",
        ),
        (
            json!({"name": {"__op": "Increment", "amount": 1}}),
            "schema mismatch for Item.name; expected String but got Number",
        ),
        (
            json!({"score": {"__op": "Add", "objects": [1]}}),
            "schema mismatch for Item.score; expected Number but got Array",
        ),
        (
            json!({"score.x": 1}),
            "schema mismatch for Item.score; expected Number but got Object",
        ),
        (
            json!({"score": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "X", "objectId": "y"}]}}),
            "schema mismatch for Item.score; expected Number but got Relation<X>",
        ),
    ];
    for (body, msg) in cases {
        // The valid field next to the bad one must not be written either.
        let mut with_valid = body.clone();
        with_valid["newField"] = json!("should not appear");
        let (status, res) = s.post("/parse/classes/Item", with_valid.clone()).await;
        assert_eq!((status, res), (400, err(111, msg)), "create {body}");
        let (status, res) = s
            .put(&format!("/parse/classes/Item/{id}"), with_valid)
            .await;
        assert_eq!((status, res), (400, err(111, msg)), "update {body}");
        unchanged(&s, "Item", &snapshot, &body.to_string()).await;
    }
    // newField never got a type: it can now be a Number.
    let (status, _) = s
        .put(&format!("/parse/classes/Item/{id}"), json!({"newField": 1}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn conflicting_types_within_one_batch_of_creates() {
    // The first write of a field fixes its type for the class.
    let s = TestServer::start().await;
    s.create("Fresh", json!({"v": 1})).await;
    let (status, res) = s.post("/parse/classes/Fresh", json!({"v": "one"})).await;
    assert_eq!(
        (status, res),
        (
            400,
            err(
                111,
                "schema mismatch for Fresh.v; expected Number but got String"
            )
        )
    );
    assert_eq!(s.all("Fresh").await.len(), 1);
}

#[tokio::test]
async fn malformed_typed_values_are_111() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    for (value, ty) in [
        (json!({"__type": "Date"}), "Date"),
        (json!({"__type": "Pointer", "objectId": "x"}), "Pointer"),
        (json!({"__type": "File"}), "File"),
        (json!({"__type": "GeoPoint", "latitude": 1}), "GeoPoint"),
        (json!({"__type": "Bytes"}), "Bytes"),
        (json!({"__type": "Polygon"}), "Polygon"),
        (json!({"__type": "Nope"}), "Nope"),
    ] {
        let msg = err(111, &format!("This is not a valid {ty}"));
        let (status, res) = s
            .post("/parse/classes/Item", json!({"v": value.clone()}))
            .await;
        assert_eq!((status, res), (400, msg.clone()), "create {value}");
        let (status, res) = s
            .put(
                &format!("/parse/classes/Item/{id}"),
                json!({"v": value.clone()}),
            )
            .await;
        assert_eq!((status, res), (400, msg), "update {value}");
        unchanged(&s, "Item", &snapshot, &value.to_string()).await;
    }
}

#[tokio::test]
async fn geopoint_rules() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    // Out of range coordinates.
    for (lat, lng) in [(90.5, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0)] {
        let gp = json!({"__type": "GeoPoint", "latitude": lat, "longitude": lng});
        let (status, res) = s
            .post("/parse/classes/Other", json!({"at": gp.clone()}))
            .await;
        assert_eq!(status, 400, "{gp}: {res}");
        assert_eq!(res["code"], 107, "{gp}: {res}");
        let (status, res) = s
            .put(
                &format!("/parse/classes/Item/{id}"),
                json!({"where": gp.clone()}),
            )
            .await;
        assert_eq!(status, 400, "{gp}: {res}");
        assert_eq!(res["code"], 107, "{gp}: {res}");
        unchanged(&s, "Item", &snapshot, &gp.to_string()).await;
    }
    assert_eq!(s.all("Other").await, Vec::<Value>::new());
    // A second GeoPoint field on a class that has one.
    let (status, res) = s
        .post(
            "/parse/classes/Item",
            json!({"second": {"__type": "GeoPoint", "latitude": 1, "longitude": 1}}),
        )
        .await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["code"], 111, "{res}");
    unchanged(&s, "Item", &snapshot, "second geopoint").await;
}

#[tokio::test]
async fn two_geopoints_in_one_object_is_111() {
    // SchemaController.validateObject counts GeoPoints first (notes §5.3).
    let s = TestServer::start().await;
    let gp = json!({"__type": "GeoPoint", "latitude": 1, "longitude": 1});
    let (status, res) = s
        .post(
            "/parse/classes/Geo",
            json!({"a": gp.clone(), "b": gp.clone()}),
        )
        .await;
    assert_eq!(s.all("Geo").await, Vec::<Value>::new());
    // SERVER BUG if this fails: wrong message for two GeoPoints in one object.
    assert_eq!(
        (status, res),
        (
            400,
            err(111, "there can only be one geopoint field in a class")
        )
    );
}

#[tokio::test]
async fn degenerate_polygons_are_rejected() {
    let s = TestServer::start().await;
    let (status, res) = s
        .post(
            "/parse/classes/Area",
            json!({"shape": {"__type": "Polygon", "coordinates": [[0, 0], [0, 1]]}}),
        )
        .await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["code"], 107, "{res}");
    assert_eq!(s.all("Area").await, Vec::<Value>::new());
}

// ------------------------------------------------------------------------------------------------
// Operations

#[tokio::test]
async fn unknown_op_is_108() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    let (status, res) = s
        .post("/parse/classes/Item", json!({"a": {"__op": "Foo"}}))
        .await;
    assert_eq!(
        (status, res),
        (400, err(108, "The Foo operator is not supported yet."))
    );
    let (status, res) = s
        .put(
            &format!("/parse/classes/Item/{id}"),
            json!({"score": {"__op": "Multiply", "amount": 2}}),
        )
        .await;
    assert_eq!(
        (status, res),
        (400, err(108, "The Multiply operator is not supported yet."))
    );
    unchanged(&s, "Item", &snapshot, "unknown op").await;
}

#[tokio::test]
async fn malformed_op_arguments_are_107() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    let path = format!("/parse/classes/Item/{id}");
    for (body, msg) in [
        (
            json!({"score": {"__op": "Increment", "amount": "1"}}),
            "incrementing must provide a number",
        ),
        (
            json!({"score": {"__op": "Increment"}}),
            "incrementing must provide a number",
        ),
        (
            json!({"list": {"__op": "Add", "objects": 1}}),
            "objects to add must be an array",
        ),
        (
            json!({"list": {"__op": "AddUnique", "objects": {"a": 1}}}),
            "objects to add must be an array",
        ),
        (
            json!({"list": {"__op": "Remove", "objects": "x"}}),
            "objects to remove must be an array",
        ),
    ] {
        let (status, res) = s.put(&path, body.clone()).await;
        assert_eq!((status, res), (400, err(107, msg)), "update {body}");
        // On create the code is the same (Parse Server's message differs there).
        let (status, res) = s.post("/parse/classes/Item", body.clone()).await;
        assert_eq!(status, 400, "create {body}: {res}");
        assert_eq!(res["code"], 107, "create {body}: {res}");
        unchanged(&s, "Item", &snapshot, &body.to_string()).await;
    }
}

#[tokio::test]
async fn invalid_acl_is_123() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    let bad = json!({"ACL": {"*unresolved": {"read": true}}, "x": 1});
    assert_eq!(
        s.post("/parse/classes/Item", bad.clone()).await,
        (400, err(123, "Invalid ACL."))
    );
    assert_eq!(
        s.put(&format!("/parse/classes/Item/{id}"), bad).await,
        (400, err(123, "Invalid ACL."))
    );
    unchanged(&s, "Item", &snapshot, "invalid ACL").await;
}

// ------------------------------------------------------------------------------------------------
// Bodies

#[tokio::test]
async fn malformed_json_body_is_400_107() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    for (method, path) in [
        (Method::POST, "/parse/classes/Item".to_string()),
        (Method::PUT, format!("/parse/classes/Item/{id}")),
        (Method::POST, "/parse/batch".to_string()),
        (Method::POST, "/1/classes/Item".to_string()),
    ] {
        for body in ["{bad", "{\"a\":1", "{\"a\":1}}", "nul"] {
            let (status, res) = send(
                s.req(method.clone(), &path)
                    .header("Content-Type", "application/json")
                    .body(body.to_string()),
            )
            .await;
            assert_eq!(
                (status, res),
                (400, err(107, "Invalid JSON")),
                "{method} {path} {body}"
            );
        }
    }
    unchanged(&s, "Item", &snapshot, "malformed JSON").await;
}

#[tokio::test]
async fn non_object_bodies_are_rejected() {
    let s = TestServer::start().await;
    let (id, snapshot) = fixture(&s).await;
    for body in ["[1,2]", "\"str\"", "5", "true"] {
        let (status, res) = send(
            s.req(Method::POST, "/parse/classes/Item")
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(status, 400, "{body}: {res}");
        assert_eq!(res["code"], 107, "{body}: {res}");
        let (status, res) = send(
            s.req(Method::PUT, &format!("/parse/classes/Item/{id}"))
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(status, 400, "{body}: {res}");
        assert_eq!(res["code"], 107, "{body}: {res}");
    }
    unchanged(&s, "Item", &snapshot, "non-object bodies").await;
}

#[tokio::test]
async fn bodies_over_max_upload_size_are_413() {
    let s = TestServer::start_with(&["--allowClientClassCreation", "--maxUploadSize", "1kb"]).await;
    let id = s.create("Item", json!({"s": "small"})).await;
    let snapshot = s.all("Item").await;
    let big = "x".repeat(2000);
    let too_large = json!({"error": "request entity too large"});
    assert_eq!(
        s.post("/parse/classes/Item", json!({"s": big})).await,
        (413, too_large.clone())
    );
    assert_eq!(
        s.put(&format!("/parse/classes/Item/{id}"), json!({"s": big}))
            .await,
        (413, too_large.clone())
    );
    let batch = json!({"requests": [{"method": "POST", "path": "/parse/classes/Item", "body": {"s": big}}]});
    assert_eq!(
        s.post("/parse/batch", batch).await,
        (413, too_large.clone())
    );
    // The JS SDK form (text/plain) is limited the same way.
    let (status, res) = send(
        s.http
            .post(s.url("/parse/classes/Item"))
            .header("Content-Type", "text/plain")
            .body(
                json!({"_ApplicationId": "test", "_JavaScriptKey": "test-js", "s": big})
                    .to_string(),
            ),
    )
    .await;
    assert_eq!((status, res), (413, too_large));
    unchanged(&s, "Item", &snapshot, "413").await;
    // Just under the limit is fine.
    let (status, res) = s
        .post("/parse/classes/Item", json!({"s": "y".repeat(900)}))
        .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(s.all("Item").await.len(), 2);
}

// ------------------------------------------------------------------------------------------------
// Classes

#[tokio::test]
async fn sessions_are_not_written_through_the_class_routes() {
    let s = TestServer::start().await;
    // Users, roles and installations have their own rules (tests/users.rs, roles.rs,
    // installations.rs); sessions come from signing up and logging in, or are restricted
    // sessions a user makes (tests/clp.rs).
    let (status, res) = s
        .post("/parse/classes/_Session", json!({"user": "x"}))
        .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 209, "error": "Session token required."})
        )
    );
    let (status, res) = s.put("/parse/sessions/abcdefghij", json!({"a": 1})).await;
    assert_eq!((status, res["code"].clone()), (400, json!(119)), "{res}");
    let (status, res) = send(s.master(Method::GET, "/parse/classes/_Session")).await;
    assert_eq!((status, res), (200, json!({"results": []})));
}

#[tokio::test]
async fn clients_cannot_touch_unknown_classes_without_allow_client_class_creation() {
    let s = TestServer::start_with(&[]).await;
    let forbidden = err(
        119,
        "This user is not allowed to access non-existent class: Secret",
    );
    assert_eq!(
        s.post("/parse/classes/Secret", json!({"a": 1})).await,
        (400, forbidden.clone())
    );
    assert_eq!(
        s.get("/parse/classes/Secret").await,
        (400, forbidden.clone())
    );
    assert_eq!(
        s.get("/1/classes/Secret/abcdefghij").await,
        (400, forbidden.clone())
    );
    assert_eq!(
        s.put("/parse/classes/Secret/abcdefghij", json!({"a": 1}))
            .await,
        (400, forbidden.clone())
    );
    let (status, res) = s
        .post("/parse/batch", json!({"requests": [{"method": "POST", "path": "/parse/classes/Secret", "body": {"a": 1}}]}))
        .await;
    assert_eq!((status, res), (200, json!([{"error": forbidden.clone()}])));
    // The master key sees an empty class and may create it.
    let (status, res) = send(s.master(Method::GET, "/parse/classes/Secret")).await;
    assert_eq!((status, res), (200, json!({"results": []})));
    let (status, res) = send(
        s.master(Method::POST, "/parse/classes/Secret")
            .json(&json!({"a": 1})),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    // Once it exists, clients may use it, including adding fields.
    let (status, res) = s
        .post("/parse/classes/Secret", json!({"a": 2, "b": "new field"}))
        .await;
    assert_eq!(status, 201, "{res}");
    let (status, res) = s.get("/parse/classes/Secret").await;
    assert_eq!(status, 200);
    assert_eq!(res["results"].as_array().unwrap().len(), 2);
    assert_eq!(s.all("Secret").await.len(), 2);
    // A different unknown class is still refused.
    assert_eq!(
        s.post("/parse/classes/Other", json!({})).await,
        (
            400,
            err(
                119,
                "This user is not allowed to access non-existent class: Other"
            )
        )
    );
    assert_eq!(s.all("Other").await, Vec::<Value>::new());
}

#[tokio::test]
async fn error_responses_are_json_with_cors_headers() {
    let s = TestServer::start().await;
    let res = s
        .req(Method::POST, "/parse/classes/1Bad")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let ct = res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    assert_eq!(
        res.headers().get("access-control-allow-origin").unwrap(),
        "*"
    );
    let res = s
        .req(Method::GET, "/parse/classes/Thing/nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(
        res.headers().get("access-control-allow-origin").unwrap(),
        "*"
    );
}
