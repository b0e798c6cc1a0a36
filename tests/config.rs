//! `/config` over HTTP: parameters of any Parse type, master-key-only parameters hidden from
//! clients, deletion, the master key required to change them, and `_GlobalConfig` closed to
//! clients through `/classes`; and `/serverInfo`, the feature list.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn config_round_trip_with_master_key_only_params() {
    let s = TestServer::start().await;
    let (status, res) = s.get("/parse/config").await;
    assert_eq!((status, res), (200, json!({"params": {}})));

    let date = json!({"__type": "Date", "iso": "2020-01-02T03:04:05.678Z"});
    let file = json!({"__type": "File", "name": "a.txt", "url": "http://files/a.txt"});
    let (status, res) = send(s.master(Method::PUT, "/parse/config").json(&json!({
        "params": {"welcome": "hi", "max": 3, "when": date, "list": [1, "a"], "nested": {"k": true}, "secret": "s3", "logo": file},
        "masterKeyOnly": {"secret": true}
    })))
    .await;
    assert_eq!((status, res), (200, json!({"result": true})));

    let (status, res) = s.get("/parse/config").await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["params"]["welcome"], "hi");
    assert_eq!(res["params"]["max"], 3);
    assert_eq!(res["params"]["when"], date);
    assert_eq!(res["params"]["list"], json!([1, "a"]));
    assert_eq!(res["params"]["nested"], json!({"k": true}));
    assert!(
        res["params"].get("secret").is_none(),
        "hidden from clients: {res}"
    );
    assert!(res["masterKeyOnly"].get("secret").is_none(), "{res}");

    let (status, res) = send(s.master(Method::GET, "/parse/config")).await;
    assert_eq!(status, 200);
    assert_eq!(res["params"]["secret"], "s3");
    assert_eq!(res["masterKeyOnly"]["secret"], true);
    assert_eq!(res["masterKeyOnly"]["welcome"], false);

    // A second change updates: other parameters stay, Delete removes one.
    let (status, _) = send(s.master(Method::PUT, "/parse/config").json(&json!({
        "params": {"welcome": {"__op": "Delete"}, "max": 4}
    })))
    .await;
    assert_eq!(status, 200);
    let (_, res) = send(s.master(Method::GET, "/parse/config")).await;
    assert!(res["params"].get("welcome").is_none(), "{res}");
    assert_eq!(res["params"]["max"], 4);
    assert_eq!(res["params"]["secret"], "s3");
    // Un-flagging makes a parameter public again.
    send(s.master(Method::PUT, "/parse/config").json(&json!({
        "params": {"secret": "s4"}, "masterKeyOnly": {"secret": false}
    })))
    .await;
    let (_, res) = s.get("/parse/config").await;
    assert_eq!(res["params"]["secret"], "s4");
}

#[tokio::test]
async fn config_changes_need_the_master_key_and_valid_params() {
    let s = TestServer::start().await;
    let (status, res) = s.put("/parse/config", json!({"params": {"a": 1}})).await;
    assert_eq!(
        (status, res),
        (
            403,
            json!({"error": "unauthorized: master key is required"})
        )
    );
    let (_, res) = s.get("/parse/config").await;
    assert_eq!(res, json!({"params": {}}), "nothing written");
    for bad in [
        json!({"params": {"a.b": 1}}),
        json!({"params": {"$x": 1}}),
        json!({"params": 5}),
        json!({"params": {"a": {"__type": "Date", "iso": "not a date"}}}),
    ] {
        let (status, res) = send(s.master(Method::PUT, "/parse/config").json(&bad)).await;
        assert_eq!(status, 400, "{bad}: {res}");
        assert!(res["code"].is_i64(), "{res}");
    }
    let (_, res) = send(s.master(Method::GET, "/parse/config")).await;
    assert_eq!(res, json!({"params": {}}), "nothing written");
}

#[tokio::test]
async fn global_config_class_is_master_only() {
    let s = TestServer::start().await;
    send(
        s.master(Method::PUT, "/parse/config")
            .json(&json!({"params": {"a": 1}})),
    )
    .await;
    for path in [
        "/parse/classes/_GlobalConfig",
        "/parse/classes/_GlobalConfig/1",
    ] {
        let (status, res) = s.get(path).await;
        assert_eq!(
            (status, res["code"].as_i64()),
            (400, Some(119)),
            "{path}: {res}"
        );
    }
    let (status, res) = s
        .post("/parse/classes/_GlobalConfig", json!({"params": {}}))
        .await;
    assert_eq!(status, 400, "{res}");
    let (status, res) = send(s.master(Method::GET, "/parse/classes/_GlobalConfig")).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["results"][0]["params"]["a"], 1);
}

#[tokio::test]
async fn server_info_lists_features_for_the_master_key() {
    let s = TestServer::start().await;
    let (status, res) = s.get("/parse/serverInfo").await;
    assert_eq!(
        (status, res),
        (
            403,
            json!({"error": "unauthorized: master key is required"})
        )
    );
    let (status, res) = send(s.master(Method::GET, "/parse/serverInfo")).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["features"]["globalConfig"]["update"], true);
    assert_eq!(res["features"]["push"]["immediatePush"], false);
    assert!(res["parseServerVersion"].is_string(), "{res}");
}
