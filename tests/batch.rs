//! POST /batch over HTTP: sub-request routing and results, per-request errors, size limits,
//! and `"transaction": true` (all or nothing).

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn err(code: i64, msg: &str) -> Value {
    json!({"code": code, "error": msg})
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn req(method: &str, path: &str, body: Value) -> Value {
    json!({"method": method, "path": path, "body": body})
}

async fn batch(s: &TestServer, requests: Vec<Value>) -> (u16, Value) {
    s.post("/parse/batch", json!({"requests": requests})).await
}

// ------------------------------------------------------------------------------------------------
// Success paths

#[tokio::test]
async fn batch_creates_then_updates_and_deletes() {
    let s = TestServer::start().await;
    let (status, res) = s
        .post(
            "/1/batch",
            json!({"requests": [
                req("POST", "/1/classes/GameScore", json!({"score": 1337, "playerName": "Sean Plott"})),
                req("POST", "/1/classes/GameScore", json!({"score": 1338, "playerName": "ZeroCool"})),
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let items = res.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let mut ids = Vec::new();
    for item in items {
        assert_eq!(keys_of(item), vec!["success"]);
        assert_eq!(keys_of(&item["success"]), vec!["createdAt", "objectId"]);
        ids.push(item["success"]["objectId"].as_str().unwrap().to_string());
    }
    let all = s.all("GameScore").await;
    assert_eq!(all.len(), 2);
    let (_, first) = s.get(&format!("/parse/classes/GameScore/{}", ids[0])).await;
    assert_eq!(first["playerName"], "Sean Plott");
    assert_eq!(first["createdAt"], items[0]["success"]["createdAt"]);

    let (status, res) = s
        .post(
            "/1/batch",
            json!({"requests": [
                {"method": "PUT", "path": format!("/1/classes/GameScore/{}", ids[0]), "body": {"score": 999999}},
                {"method": "DELETE", "path": format!("/1/classes/GameScore/{}", ids[1])},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let items = res.as_array().unwrap();
    assert_eq!(keys_of(&items[0]["success"]), vec!["updatedAt"]);
    assert_eq!(items[1], json!({"success": {}}));
    let (_, first) = s.get(&format!("/parse/classes/GameScore/{}", ids[0])).await;
    assert_eq!(first["score"], 999999);
    assert_eq!(first["updatedAt"], items[0]["success"]["updatedAt"]);
    assert_eq!(
        s.get(&format!("/parse/classes/GameScore/{}", ids[1]))
            .await
            .0,
        404
    );
    assert_eq!(s.all("GameScore").await.len(), 1);
}

#[tokio::test]
async fn both_mounts_and_both_path_prefixes_route() {
    let s = TestServer::start().await;
    for batch_path in ["/1/batch", "/parse/batch"] {
        for prefix in ["/1", "/parse"] {
            let (status, res) = s
                .post(batch_path, json!({"requests": [req("POST", &format!("{prefix}/classes/Thing"), json!({"via": batch_path}))]}))
                .await;
            assert_eq!(status, 200, "{batch_path} {prefix}: {res}");
            assert!(res[0]["success"]["objectId"].is_string(), "{res}");
        }
    }
    assert_eq!(s.all("Thing").await.len(), 4);
}

#[tokio::test]
async fn sub_responses_carry_op_results() {
    let s = TestServer::start().await;
    let id = s.create("Counter", json!({"n": 1, "list": [1]})).await;
    let (status, res) = batch(
        &s,
        vec![
            req("PUT", &format!("/parse/classes/Counter/{id}"), json!({"n": {"__op": "Increment", "amount": 2}, "list": {"__op": "Add", "objects": [2]}})),
            req("POST", "/parse/classes/Counter", json!({"n": {"__op": "Increment", "amount": 5}})),
        ],
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let up = &res[0]["success"];
    assert_eq!(
        up,
        &json!({"updatedAt": up["updatedAt"], "n": 3, "list": [1, 2]})
    );
    let cr = &res[1]["success"];
    assert_eq!(
        cr,
        &json!({"objectId": cr["objectId"], "createdAt": cr["createdAt"], "n": 5})
    );
}

#[tokio::test]
async fn get_sub_requests_take_parameters_from_the_body() {
    let s = TestServer::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(s.create("Item", json!({"i": i, "even": i % 2 == 0})).await);
    }
    let (status, res) = batch(
        &s,
        vec![
            req("GET", "/parse/classes/Item", json!({"where": {"even": true}, "order": "-i", "limit": 2, "count": 1, "keys": "i"})),
            req("GET", &format!("/parse/classes/Item/{}", ids[3]), json!({})),
            json!({"method": "GET", "path": "/parse/classes/Item"}),
            req("GET", "/parse/classes/Item", json!({"where": "{\"i\":4}"})),
        ],
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let page = &res[0]["success"];
    assert_eq!(page["count"], 3);
    let got: Vec<Value> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["i"].clone())
        .collect();
    assert_eq!(got, vec![json!(4), json!(2)]);
    assert!(page["results"][0].get("even").is_none());
    let (_, direct) = s.get(&format!("/parse/classes/Item/{}", ids[3])).await;
    assert_eq!(res[1], json!({"success": direct}));
    assert_eq!(res[2]["success"]["results"].as_array().unwrap().len(), 5);
    assert_eq!(res[3]["success"]["results"][0]["i"], 4);
}

#[tokio::test]
async fn more_than_fifty_requests_are_accepted() {
    let s = TestServer::start().await;
    let requests: Vec<Value> = (0..200)
        .map(|i| req("POST", "/parse/classes/Many", json!({"i": i})))
        .collect();
    let (status, res) = batch(&s, requests).await;
    assert_eq!(status, 200, "{res}");
    let items = res.as_array().unwrap();
    assert_eq!(items.len(), 200);
    assert!(
        items.iter().all(|r| r["success"]["objectId"].is_string()),
        "{res}"
    );
    let all = s.all("Many").await;
    assert_eq!(all.len(), 200);
    let mut is: Vec<i64> = all.iter().map(|o| o["i"].as_i64().unwrap()).collect();
    is.sort();
    assert_eq!(is, (0..200).collect::<Vec<i64>>());
}

#[tokio::test]
async fn increments_in_one_batch_all_apply() {
    let s = TestServer::start().await;
    let id = s.create("Counter", json!({"n": 0})).await;
    let requests: Vec<Value> = (0..20)
        .map(|_| {
            req(
                "PUT",
                &format!("/parse/classes/Counter/{id}"),
                json!({"n": {"__op": "Increment", "amount": 1}}),
            )
        })
        .collect();
    let (status, res) = batch(&s, requests).await;
    assert_eq!(status, 200, "{res}");
    let mut seen: Vec<i64> = res
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["success"]["n"].as_i64().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, (1..=20).collect::<Vec<i64>>());
    let (_, got) = s.get(&format!("/parse/classes/Counter/{id}")).await;
    assert_eq!(got["n"], 20);
}

#[tokio::test]
async fn empty_batch_is_an_empty_array() {
    let s = TestServer::start().await;
    assert_eq!(batch(&s, vec![]).await, (200, json!([])));
}

#[tokio::test]
async fn batch_uses_the_callers_keys() {
    let s = TestServer::start_with(&[]).await;
    let body = json!({"requests": [req("POST", "/parse/classes/Locked", json!({"a": 1}))]});
    // No keys at all: refused as a whole.
    let (status, res) = send(s.http.post(s.url("/parse/batch")).json(&body)).await;
    assert_eq!((status, res), (403, json!({"error": "unauthorized"})));
    // A client cannot create the class…
    let (status, res) = s.post("/parse/batch", body.clone()).await;
    assert_eq!(
        (status, res),
        (
            200,
            json!([{"error": err(119, "This user is not allowed to access non-existent class: Locked")}])
        )
    );
    assert_eq!(s.all("Locked").await, Vec::<Value>::new());
    // …the master key can.
    let (status, res) = send(s.master(Method::POST, "/parse/batch").json(&body)).await;
    assert_eq!(status, 200, "{res}");
    assert!(res[0]["success"]["objectId"].is_string(), "{res}");
    // The JS SDK's tunnelled form works for batches too.
    let tunnelled = json!({"_ApplicationId": "test", "_JavaScriptKey": "test-js", "requests": body["requests"]});
    let (status, res) = send(
        s.http
            .post(s.url("/parse/batch"))
            .header("Content-Type", "text/plain")
            .body(tunnelled.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert!(res[0]["success"]["objectId"].is_string(), "{res}");
    assert_eq!(s.all("Locked").await.len(), 2);
}

// ------------------------------------------------------------------------------------------------
// Per-request errors

#[tokio::test]
async fn errors_are_reported_per_request_in_order() {
    let s = TestServer::start().await;
    let id = s.create("Item", json!({"n": 1, "s": "x"})).await;
    let (status, res) = batch(
        &s,
        vec![
            req("POST", "/parse/classes/Item", json!({"n": 2})),
            req("PUT", "/parse/classes/Item/missing000", json!({"n": 3})),
            req("POST", "/parse/classes/Item", json!({"n": "not a number"})),
            req("POST", "/parse/classes/Item", json!({"b!ad": 1})),
            req(
                "PUT",
                &format!("/parse/classes/Item/{id}"),
                json!({"s": {"__op": "Nope"}}),
            ),
            req(
                "POST",
                "/parse/classes/Item",
                json!({"objectId": "abcdefghij"}),
            ),
            req("DELETE", "/parse/classes/Item/missing000", json!({})),
            req("GET", "/parse/classes/Item/missing000", json!({})),
            req("GET", "/parse/classes/Item", json!({"bogus": 1})),
            req("POST", "/parse/classes/_JobStatus", json!({"jobName": "j"})),
            req(
                "PUT",
                &format!("/parse/classes/Item/{id}"),
                json!({"n": {"__op": "Increment", "amount": 10}}),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let items = res.as_array().unwrap();
    assert_eq!(items.len(), 11);
    assert!(items[0]["success"]["objectId"].is_string(), "{}", items[0]);
    let not_found = json!({"error": err(101, "Object not found.")});
    assert_eq!(items[1], not_found);
    assert_eq!(
        items[2],
        json!({"error": err(111, "schema mismatch for Item.n; expected Number but got String")})
    );
    assert_eq!(
        items[3],
        json!({"error": err(105, "Invalid field name: b!ad.")})
    );
    assert_eq!(
        items[4],
        json!({"error": err(108, "The Nope operator is not supported yet.")})
    );
    assert_eq!(
        items[5],
        json!({"error": err(105, "objectId is an invalid field name.")})
    );
    assert_eq!(items[6], not_found);
    assert_eq!(items[7], not_found);
    assert_eq!(
        items[8],
        json!({"error": err(102, "Invalid parameter for query: bogus")})
    );
    assert_eq!(keys_of(&items[9]), vec!["error"]);
    assert_eq!(items[9]["error"]["code"], 119);
    assert_eq!(items[10]["success"]["n"], 11);
    // Only the two successful writes happened.
    let all = s.all("Item").await;
    assert_eq!(all.len(), 2, "{all:?}");
    let (_, got) = s.get(&format!("/parse/classes/Item/{id}")).await;
    assert_eq!(got["n"], 11);
    assert_eq!(got["s"], "x");
    assert!(s.get("/parse/classes/Item/abcdefghij").await.0 == 404);
}

#[tokio::test]
async fn invalid_class_name_in_a_sub_request_is_a_per_request_error() {
    // The route /classes/:className matches any name; the 103 comes from the handler, so it is
    // reported in that sub-request's slot (notes §3.6) and the other sub-requests still run.
    let s = TestServer::start().await;
    let (status, res) = batch(
        &s,
        vec![
            req("POST", "/parse/classes/Good", json!({"a": 1})),
            req("POST", "/parse/classes/9x", json!({})),
        ],
    )
    .await;
    // SERVER BUG if this fails: the whole batch is rejected instead of one slot.
    assert_eq!(
        status, 200,
        "invalid class name in a sub-request failed the whole batch: {res}"
    );
    assert!(res[0]["success"]["objectId"].is_string(), "{res}");
    assert_eq!(
        res[1],
        json!({"error": err(103, "Invalid classname: 9x, classnames can only have alphanumeric characters and _, and must start with an alpha character ")})
    );
    assert_eq!(s.all("Good").await.len(), 1);
}

// ------------------------------------------------------------------------------------------------
// Whole-batch errors

#[tokio::test]
async fn paths_outside_the_mount_reject_the_whole_batch() {
    let s = TestServer::start().await;
    for bad in [
        "/classes/Thing",
        "classes/Thing",
        "/2/classes/Thing",
        "/other/classes/Thing",
        "",
    ] {
        let (status, res) = batch(
            &s,
            vec![
                req("POST", "/parse/classes/Thing", json!({"a": 1})),
                req("POST", bad, json!({"a": 2})),
            ],
        )
        .await;
        assert_eq!(
            (status, res),
            (400, err(107, &format!("cannot route batch path {bad}"))),
            "{bad:?}"
        );
    }
    // None of the valid sub-requests ran.
    assert_eq!(s.all("Thing").await, Vec::<Value>::new());
}

#[tokio::test]
async fn unroutable_sub_requests_reject_the_whole_batch() {
    // PromiseRouter.tryRouteRequest throws E(107, 'cannot route <METHOD> <path>'); like every
    // Parse error other than 101 and 1 it is answered with HTTP 400 (notes top note, §3.6).
    let s = TestServer::start().await;
    for (method, path, routed) in [
        ("POST", "/parse/nothing", "/nothing"),
        ("PATCH", "/parse/classes/Thing", "/classes/Thing"),
        (
            "POST",
            "/parse/classes/Thing/abc/extra",
            "/classes/Thing/abc/extra",
        ),
    ] {
        let (status, res) = batch(
            &s,
            vec![
                req("POST", "/parse/classes/Thing", json!({"a": 1})),
                req(method, path, json!({})),
            ],
        )
        .await;
        assert_eq!(s.all("Thing").await, Vec::<Value>::new(), "{method} {path}");
        assert_eq!(
            res,
            err(107, &format!("cannot route {method} {routed}")),
            "{method} {path}"
        );
        // SERVER BUG if this fails: a Parse error with code 107 must be HTTP 400.
        assert_eq!(status, 400, "{method} {path}: {res}");
    }
}

#[tokio::test]
async fn requests_must_be_an_array() {
    let s = TestServer::start().await;
    for body in [
        json!({}),
        json!({"requests": {}}),
        json!({"requests": "x"}),
        json!({"requests": 1}),
        json!({"requests": null}),
    ] {
        let (status, res) = s.post("/parse/batch", body.clone()).await;
        assert_eq!(
            (status, res),
            (400, err(107, "requests must be an array")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn batches_over_max_batch_size_are_rejected() {
    let s = TestServer::start_with(&["--allowClientClassCreation", "--maxBatchSize", "5"]).await;
    let make = |n: usize| {
        (0..n)
            .map(|i| req("POST", "/parse/classes/Capped", json!({"i": i})))
            .collect::<Vec<_>>()
    };
    let (status, res) = batch(&s, make(6)).await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["code"], 107, "{res}");
    assert!(res["error"].is_string(), "{res}");
    assert_eq!(s.all("Capped").await, Vec::<Value>::new());
    let (status, res) = batch(&s, make(5)).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(s.all("Capped").await.len(), 5);
}

// ------------------------------------------------------------------------------------------------
// Transactions

#[tokio::test]
async fn transaction_applies_everything_when_all_succeed() {
    let s = TestServer::start().await;
    let keep = s.create("Acct", json!({"balance": 10})).await;
    let gone = s.create("Acct", json!({"balance": 0})).await;
    let (status, res) = s
        .post(
            "/parse/batch",
            json!({"transaction": true, "requests": [
                req("POST", "/parse/classes/Acct", json!({"balance": 5})),
                req("PUT", &format!("/parse/classes/Acct/{keep}"), json!({"balance": {"__op": "Increment", "amount": -3}})),
                req("DELETE", &format!("/parse/classes/Acct/{gone}"), json!({})),
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let items = res.as_array().unwrap();
    assert!(items[0]["success"]["objectId"].is_string());
    assert_eq!(items[1]["success"]["balance"], 7);
    assert_eq!(items[2], json!({"success": {}}));
    let all = s.all("Acct").await;
    assert_eq!(all.len(), 2);
    let (_, k) = s.get(&format!("/parse/classes/Acct/{keep}")).await;
    assert_eq!(k["balance"], 7);
}

#[tokio::test]
async fn transaction_with_a_missing_object_applies_nothing() {
    let s = TestServer::start().await;
    let keep = s.create("Acct", json!({"balance": 10})).await;
    let doomed = s.create("Acct", json!({"balance": 1})).await;
    let snapshot = s.all("Acct").await;
    let (status, res) = s
        .post(
            "/parse/batch",
            json!({"transaction": true, "requests": [
                req("POST", "/parse/classes/Acct", json!({"balance": 5})),
                req("PUT", &format!("/parse/classes/Acct/{keep}"), json!({"balance": {"__op": "Increment", "amount": 1}})),
                req("DELETE", &format!("/parse/classes/Acct/{doomed}"), json!({})),
                req("PUT", "/parse/classes/Acct/missing000", json!({"balance": 1})),
            ]}),
        )
        .await;
    // The failing sub-request's Parse error, with its usual status (101 → 404).
    assert_eq!((status, res), (404, err(101, "Object not found.")));
    assert_eq!(
        s.all("Acct").await,
        snapshot,
        "a failed transaction changed data"
    );
}

#[tokio::test]
async fn transaction_with_a_type_conflict_applies_nothing() {
    let s = TestServer::start().await;
    let keep = s.create("Acct", json!({"balance": 10, "name": "a"})).await;
    let snapshot = s.all("Acct").await;
    let (status, res) = s
        .post(
            "/parse/batch",
            json!({"transaction": true, "requests": [
                req("PUT", &format!("/parse/classes/Acct/{keep}"), json!({"name": "changed"})),
                req("POST", "/parse/classes/Acct", json!({"balance": 1})),
                req("POST", "/parse/classes/Other", json!({"x": 1})),
                req("POST", "/parse/classes/Acct", json!({"balance": "lots"})),
            ]}),
        )
        .await;
    assert_eq!(
        (status, res),
        (
            400,
            err(
                111,
                "schema mismatch for Acct.balance; expected Number but got String"
            )
        )
    );
    assert_eq!(
        s.all("Acct").await,
        snapshot,
        "a failed transaction changed data"
    );
    assert_eq!(
        s.all("Other").await,
        Vec::<Value>::new(),
        "a failed transaction created another class's object"
    );
    // Without `transaction`, the same batch applies the good parts.
    let (status, res) = s
        .post(
            "/parse/batch",
            json!({"transaction": false, "requests": [
                req("POST", "/parse/classes/Acct", json!({"balance": 1})),
                req("POST", "/parse/classes/Acct", json!({"balance": "lots"})),
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(res[0]["success"].is_object());
    assert_eq!(
        res[1],
        json!({"error": err(111, "schema mismatch for Acct.balance; expected Number but got String")})
    );
    assert_eq!(s.all("Acct").await.len(), 2);
}

#[tokio::test]
async fn transaction_with_an_invalid_field_applies_nothing() {
    let s = TestServer::start().await;
    s.create("Acct", json!({"balance": 10})).await;
    let snapshot = s.all("Acct").await;
    let (status, res) = s
        .post(
            "/parse/batch",
            json!({"transaction": true, "requests": [
                req("POST", "/parse/classes/Acct", json!({"balance": 1})),
                req("POST", "/parse/classes/Acct", json!({"bad!": 1})),
            ]}),
        )
        .await;
    assert_eq!((status, res), (400, err(105, "Invalid field name: bad!.")));
    assert_eq!(s.all("Acct").await, snapshot);
}
