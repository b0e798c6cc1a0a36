//! The schema API's reads over HTTP: `GET /schemas` and `GET /schemas/<class>` (master key), in
//! Parse Server's shape, with the types the writes inferred.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::json;

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

    let (status, res) = send(s.master(Method::GET, "/parse/schemas")).await;
    assert_eq!(status, 200, "{res}");
    let names: Vec<&str> = res["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["className"].as_str())
        .collect();
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
