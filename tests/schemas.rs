//! The schema API over HTTP (master key): `GET /schemas`, `GET /schemas/<class>` in
//! Parse Server's shape, and `POST`/`PUT /schemas/<class>` creating classes, adding fields and
//! setting class-level permissions and indexes, with Parse Server's errors.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::json;

/// The classes `GET /schemas` lists, in order.
async fn class_names(s: &TestServer) -> Vec<String> {
    let (status, res) = send(s.master(Method::GET, "/parse/schemas")).await;
    assert_eq!(status, 200, "{res}");
    res["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["className"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn schemas_show_inferred_fields_for_the_master_key() {
    let s = TestServer::start().await;
    s.create(
        "Post",
        json!({
            "title": "t", "score": 1, "ok": true, "tags": [], "meta": {},
            "when": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"},
            "author": {"__type": "Pointer", "className": "Person", "objectId": "p1"},
            "loc": {"__type": "GeoPoint", "latitude": 1, "longitude": 2}
        }),
    )
    .await;
    s.create("Person", json!({"name": "x"})).await;
    send(
        s.master(Method::PUT, "/parse/config")
            .json(&json!({"params": {"a": 1}})),
    )
    .await;

    let (status, res) = send(s.master(Method::GET, "/parse/schemas/Post")).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["className"], "Post");
    let fields = &res["fields"];
    for (field, ty) in [
        ("objectId", "String"),
        ("createdAt", "Date"),
        ("updatedAt", "Date"),
        ("ACL", "ACL"),
        ("title", "String"),
        ("score", "Number"),
        ("ok", "Boolean"),
        ("tags", "Array"),
        ("meta", "Object"),
        ("when", "Date"),
        ("loc", "GeoPoint"),
    ] {
        assert_eq!(fields[field], json!({"type": ty}), "{field}: {res}");
    }
    assert_eq!(
        fields["author"],
        json!({"type": "Pointer", "targetClass": "Person"})
    );
    assert_eq!(res["classLevelPermissions"]["find"], json!({"*": true}));

    let names = class_names(&s).await;
    assert_eq!(
        names,
        ["Person", "Post"],
        "bookkeeping classes are not listed"
    );
}

#[tokio::test]
async fn schema_reads_need_the_master_key_and_an_existing_class() {
    let s = TestServer::start().await;
    s.create("Post", json!({"title": "t"})).await;
    for path in ["/parse/schemas", "/parse/schemas/Post"] {
        let (status, res) = s.get(path).await;
        assert_eq!(
            (status, res),
            (
                403,
                json!({"error": "unauthorized: master key is required"})
            ),
            "{path}"
        );
    }
    for class in ["Nothing", "_GlobalConfig"] {
        let (status, res) = send(s.master(Method::GET, &format!("/parse/schemas/{class}"))).await;
        assert_eq!(
            (status, res),
            (
                400,
                json!({"code": 103, "error": format!("Class {class} does not exist.")})
            )
        );
    }
}

#[tokio::test]
async fn create_a_class_add_fields_and_set_permissions() {
    let s = TestServer::start().await;
    let (status, res) = send(s.master(Method::POST, "/parse/schemas/Game").json(&json!({
        "className": "Game",
        "fields": {"name": {"type": "String"}, "owner": {"type": "Pointer", "targetClass": "Player"}, "fans": {"type": "Relation", "targetClass": "Player"}},
        "classLevelPermissions": {"find": {"*": true}, "get": {"*": true}, "create": {}, "update": {}, "delete": {}, "count": {"*": true}, "addField": {}, "protectedFields": {"*": []}}
    })))
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["className"], "Game");
    assert_eq!(res["fields"]["name"], json!({"type": "String"}));
    assert_eq!(res["fields"]["objectId"], json!({"type": "String"}));
    assert_eq!(res["classLevelPermissions"]["create"], json!({}));

    // The class exists with no object: finds work, types are enforced on writes.
    let (status, res) = send(s.master(Method::GET, "/parse/classes/Game")).await;
    assert_eq!((status, res), (200, json!({"results": []})));
    let (status, res) = send(
        s.master(Method::POST, "/parse/classes/Game")
            .json(&json!({"name": 5})),
    )
    .await;
    assert_eq!((status, res["code"].as_i64()), (400, Some(111)), "{res}");
    let id = {
        let (status, res) = send(
            s.master(Method::POST, "/parse/classes/Game")
                .json(&json!({"name": "g"})),
        )
        .await;
        assert_eq!(status, 201, "{res}");
        res["objectId"].as_str().unwrap().to_string()
    };
    let (_, got) = send(s.master(Method::GET, &format!("/parse/classes/Game/{id}"))).await;
    assert_eq!(
        got["fans"],
        json!({"__type": "Relation", "className": "Player"})
    );

    // PUT adds fields and replaces the permissions.
    let (status, res) = send(s.master(Method::PUT, "/parse/schemas/Game").json(&json!({
        "fields": {"score": {"type": "Number"}},
        "classLevelPermissions": {"find": {"*": true}}
    })))
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["fields"]["score"], json!({"type": "Number"}));
    assert_eq!(res["fields"]["name"], json!({"type": "String"}));
    assert_eq!(res["classLevelPermissions"], json!({"find": {"*": true}}));
    let (_, res) = send(s.master(Method::GET, "/parse/schemas/Game")).await;
    assert_eq!(res["fields"]["score"], json!({"type": "Number"}));

    // POST /schemas with the class in the body.
    let (status, res) = send(
        s.master(Method::POST, "/parse/schemas")
            .json(&json!({"className": "Other"})),
    )
    .await;
    assert_eq!(
        (status, res["className"].clone()),
        (200, json!("Other")),
        "{res}"
    );
}

#[tokio::test]
async fn schema_write_errors_write_nothing() {
    let s = TestServer::start().await;
    send(
        s.master(Method::POST, "/parse/schemas/Game")
            .json(&json!({"fields": {"name": {"type": "String"}, "loc": {"type": "GeoPoint"}}})),
    )
    .await;
    for (method, path, body, code, error) in [
        (Method::POST, "/parse/schemas/Game", json!({}), 103, "Class Game already exists."),
        (Method::PUT, "/parse/schemas/Nope", json!({}), 103, "Class Nope does not exist."),
        (Method::POST, "/parse/schemas/A", json!({"className": "B"}), 103, "Class name mismatch between B and A."),
        (Method::POST, "/parse/schemas", json!({}), 135, "POST /schemas needs a class name."),
        (Method::PUT, "/parse/schemas/Game", json!({"fields": {"name": {"type": "Number"}}}), 255, "Field name exists, cannot update."),
        (Method::PUT, "/parse/schemas/Game", json!({"fields": {"1a": {"type": "String"}}}), 105, "invalid field name: 1a"),
        (Method::PUT, "/parse/schemas/Game", json!({"fields": {"createdAt": {"type": "Date"}}}), 136, "field createdAt cannot be added"),
        (Method::PUT, "/parse/schemas/Game", json!({"fields": {"a": {"type": "Fancy"}}}), 111, "invalid field type: Fancy"),
        (Method::PUT, "/parse/schemas/Game", json!({"fields": {"a": {"type": "Pointer"}}}), 135, "type Pointer needs a class name"),
        (Method::PUT, "/parse/schemas/Game", json!({"fields": {"b": {"type": "GeoPoint"}}}), 111, "currently, only one GeoPoint field may exist in an object. Adding b when loc already exists."),
        (Method::PUT, "/parse/schemas/Game", json!({"classLevelPermissions": {"fly": {}}}), 107, "fly is not a valid operation for class level permissions"),
    ] {
        let (status, res) = send(s.master(method.clone(), path).json(&body)).await;
        assert_eq!(
            (status, res),
            (400, json!({"code": code, "error": error})),
            "{method} {path} {body}"
        );
    }
    let (status, res) = s.post("/parse/schemas/Mine", json!({})).await;
    assert_eq!(
        (status, res),
        (
            403,
            json!({"error": "unauthorized: master key is required"})
        )
    );
    let names = class_names(&s).await;
    assert_eq!(names, ["Game"], "nothing else was created");
    let (_, res) = send(s.master(Method::GET, "/parse/schemas/Game")).await;
    assert_eq!(
        res["fields"]["name"],
        json!({"type": "String"}),
        "nothing changed"
    );
}

#[tokio::test]
async fn indexes_are_declared_listed_and_dropped() {
    let s = TestServer::start().await;
    let (status, res) = send(s.master(Method::POST, "/parse/schemas/Score").json(&json!({
        "fields": {"group": {"type": "Number"}, "points": {"type": "Number"}, "tags": {"type": "Array"}},
        "indexes": {"by_group": {"group": 1, "points": -1}}
    })))
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(
        res["indexes"],
        json!({"by_group": {"group": 1, "points": -1}})
    );
    if common::distributed() {
        // On PostgreSQL: the btree over the typed keys and its ACL companion (btree_gin).
        let names = common::index_names(&s, "Score").await;
        assert_eq!(
            names.iter().filter(|n| n.starts_with("ix_")).count(),
            1,
            "{names:?}"
        );
        assert_eq!(
            names.iter().filter(|n| n.starts_with("ia_")).count(),
            1,
            "{names:?}"
        );
    }
    for (body, error) in [
        (
            json!({"indexes": {"by_group": {"group": 1}}}),
            "Index by_group exists, cannot update.",
        ),
        (
            json!({"indexes": {"nope": {"__op": "Delete"}}}),
            "Index nope does not exist, cannot delete.",
        ),
        (
            json!({"indexes": {"x": {"missing": 1}}}),
            "Field missing does not exist, cannot add index.",
        ),
        (
            json!({"indexes": {"x": {"group": 2}}}),
            "Index x must map fields to 1 or -1.",
        ),
    ] {
        let (status, res) = send(s.master(Method::PUT, "/parse/schemas/Score").json(&body)).await;
        assert_eq!(
            (status, res["code"].clone(), res["error"].clone()),
            (400, json!(102), json!(error)),
            "{body}"
        );
    }
    let (status, res) = send(
        s.master(Method::PUT, "/parse/schemas/Score")
            .json(&json!({"indexes": {"x": {"tags": 1}}})),
    )
    .await;
    assert_eq!(
        (status, res["code"].as_i64()),
        (400, Some(102)),
        "arrays are not indexable here: {res}"
    );

    // Queries on the indexed fields answer as before (the index only changes the plan).
    for (g, p) in [(1, 10), (1, 30), (2, 20), (1, 20)] {
        let (status, _) = send(
            s.master(Method::POST, "/parse/classes/Score")
                .json(&json!({"group": g, "points": p})),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (_, res) = send(s.master(Method::GET, "/parse/classes/Score").query(&[
        ("where", r#"{"group":1}"#),
        ("order", "-points"),
        ("limit", "2"),
    ]))
    .await;
    let points: Vec<i64> = res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["points"].as_i64().unwrap())
        .collect();
    assert_eq!(points, [30, 20]);
    let (_, res) = send(s.master(Method::GET, "/parse/classes/Score").query(&[
        ("where", r#"{"group":{"$in":[2,"x"]},"points":{"$ne":5}}"#),
        ("count", "1"),
    ]))
    .await;
    assert_eq!(res["count"], 1, "{res}");

    let (status, res) = send(
        s.master(Method::PUT, "/parse/schemas/Score")
            .json(&json!({"indexes": {"by_group": {"__op": "Delete"}}})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert!(res.get("indexes").is_none(), "{res}");
}

#[tokio::test]
async fn deleting_a_field_removes_it_from_every_object() {
    let s = TestServer::start().await;
    let a = s
        .create("Post", json!({"title": "a", "secret": "x", "n": 1}))
        .await;
    let b = s.create("Post", json!({"title": "b", "n": 2})).await;
    let tag = s.create("Tag", json!({"name": "t"})).await;
    let (status, res) = s
        .put(
            &format!("/parse/classes/Post/{a}"),
            json!({"tags": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "Tag", "objectId": tag}]}}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let (status, res) = send(s.master(Method::PUT, "/parse/schemas/Post").json(&json!({
        "indexes": {"by_n": {"n": 1}, "by_secret": {"secret": 1}}
    })))
    .await;
    assert_eq!(status, 200, "{res}");

    let (status, res) = send(s.master(Method::PUT, "/parse/schemas/Post").json(&json!({
        "fields": {"secret": {"__op": "Delete"}, "tags": {"__op": "Delete"}}
    })))
    .await;
    assert_eq!(status, 200, "{res}");
    assert!(res["fields"].get("secret").is_none(), "{res}");
    assert!(res["fields"].get("tags").is_none(), "{res}");
    assert_eq!(res["fields"]["n"], json!({"type": "Number"}));
    assert_eq!(
        res["indexes"]
            .as_object()
            .map(|i| i.contains_key("by_secret")),
        Some(false),
        "an index over a deleted field goes with it: {res}"
    );

    let (_, got) = s.get(&format!("/parse/classes/Post/{a}")).await;
    assert!(got.get("secret").is_none(), "{got}");
    assert!(got.get("tags").is_none(), "{got}");
    assert_eq!(got["title"], "a");
    assert!(common::find_where(&s, "Post", json!({"secret": "x"}), &[])
        .await
        .is_empty());

    // The field can come back with another type; the old values do not.
    let (status, res) = send(s.master(Method::PUT, "/parse/schemas/Post").json(&json!({
        "fields": {"secret": {"type": "Number"}}
    })))
    .await;
    assert_eq!(status, 200, "{res}");
    let (status, res) = s
        .put(&format!("/parse/classes/Post/{b}"), json!({"secret": 7}))
        .await;
    assert_eq!(status, 200, "{res}");
    let (_, got) = s.get(&format!("/parse/classes/Post/{a}")).await;
    assert!(got.get("secret").is_none(), "{got}");
    let (_, got) = s.get(&format!("/parse/classes/Post/{b}")).await;
    assert_eq!(got["secret"], 7);

    // Errors: unknown field 255, default field 136; nothing changes.
    let (status, res) = send(s.master(Method::PUT, "/parse/schemas/Post").json(&json!({
        "fields": {"nope": {"__op": "Delete"}}
    })))
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 255, "error": "Field nope does not exist, cannot delete."})
        )
    );
    let (status, res) = send(s.master(Method::PUT, "/parse/schemas/Post").json(&json!({
        "fields": {"createdAt": {"__op": "Delete"}}
    })))
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 136, "error": "field createdAt cannot be changed"})
        )
    );
}

#[tokio::test]
async fn deleting_a_class_needs_it_empty() {
    let s = TestServer::start().await;
    let id = s.create("Gone", json!({"x": 1})).await;
    s.create("Gone", json!({"x": 2})).await;

    let (status, res) = s.delete("/parse/schemas/Gone").await;
    assert_eq!(status, 403, "the master key is required: {res}");
    let (status, res) = send(s.master(Method::DELETE, "/parse/schemas/Gone")).await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 255, "error": "Class Gone is not empty, contains 2 objects, cannot drop schema."})
        )
    );
    assert!(class_names(&s).await.contains(&"Gone".to_string()));

    let (status, _) = send(s.master(Method::DELETE, "/parse/purge/Gone")).await;
    assert_eq!(status, 200);
    let (status, res) = send(s.master(Method::DELETE, "/parse/schemas/Gone")).await;
    assert_eq!((status, res), (200, json!({})));
    assert!(!class_names(&s).await.contains(&"Gone".to_string()));
    let (status, res) = send(s.master(Method::GET, "/parse/schemas/Gone")).await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["code"], 103);
    let (status, res) = s.get(&format!("/parse/classes/Gone/{id}")).await;
    assert_eq!((status, res["code"].clone()), (404, json!(101)));

    // Deleting a class that does not exist is not an error; a deleted class can come back
    // with other types.
    let (status, res) = send(s.master(Method::DELETE, "/parse/schemas/Gone")).await;
    assert_eq!((status, res), (200, json!({})));
    s.create("Gone", json!({"x": "now a string"})).await;
    let (_, res) = send(s.master(Method::GET, "/parse/schemas/Gone")).await;
    assert_eq!(res["fields"]["x"], json!({"type": "String"}));
}
