//! Installations over HTTP (`/installations` and `/classes/_Installation`): creates and the
//! `X-Parse-Installation-Id` header, lowercased ids, saves that merge into an existing
//! installation, duplicate device tokens removed, Parse Server's errors (101, 111, 112, 132, 135,
//! 136), find and delete for the master key only, and batches going through the same rules.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const TOKEN: &str = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789ABCDEF";
const IID: &str = "12345678-ABCD-abcd-abcd-123456789abc";

fn token() -> String {
    TOKEN.to_lowercase()
}

fn iid() -> String {
    IID.to_lowercase()
}

async fn post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    s.post(&format!("/parse{path}"), body).await
}

async fn put(s: &TestServer, id: &str, body: Value) -> (u16, Value) {
    s.put(&format!("/parse/installations/{id}"), body).await
}

/// Creates an installation as a client, asserting 201.
async fn create(s: &TestServer, body: Value) -> String {
    let (status, res) = post(s, "/installations", body).await;
    assert_eq!(status, 201, "{res}");
    res["objectId"].as_str().expect("objectId").to_string()
}

/// Every installation, as the master key finds them.
async fn all(s: &TestServer) -> Vec<Value> {
    s.all("_Installation").await
}

async fn get(s: &TestServer, id: &str) -> (u16, Value) {
    s.get(&format!("/parse/installations/{id}")).await
}

fn error(code: i64, message: &str) -> Value {
    json!({"code": code, "error": message})
}

#[tokio::test]
async fn create_answers_201_with_a_location_and_lowercases_the_ids() {
    let s = TestServer::start().await;
    let (location, body) = s
        .post_created(
            "/parse/installations",
            json!({"deviceType": "ios", "deviceToken": TOKEN, "installationId": IID, "channels": [""]}),
        )
        .await;
    let id = body["objectId"].as_str().unwrap();
    assert!(body["createdAt"].is_string(), "{body}");
    assert!(
        location.ends_with(&format!("/_Installation/{id}")),
        "{location}"
    );

    let (status, got) = get(&s, id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["deviceToken"], token());
    assert_eq!(got["installationId"], iid());
    assert_eq!(got["channels"], json!([""]));
    assert_eq!(got["deviceType"], "ios");

    // A token of another length (a GCM registration id) keeps its case.
    let id = create(
        &s,
        json!({"deviceType": "android", "deviceToken": "APA91bFMvbrGg4cp3KUV", "pushType": "gcm"}),
    )
    .await;
    assert_eq!(get(&s, &id).await.1["deviceToken"], "APA91bFMvbrGg4cp3KUV");
}

#[tokio::test]
async fn the_installation_header_names_a_client_that_sends_no_id() {
    let s = TestServer::start().await;
    let header = |rb: reqwest::RequestBuilder| rb.header("X-Parse-Installation-Id", IID);
    let (status, res) = send(
        header(s.req(Method::POST, "/parse/installations")).json(&json!({"deviceType": "android"})),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let id = res["objectId"].as_str().unwrap().to_string();
    assert_eq!(get(&s, &id).await.1["installationId"], iid());

    // The next save from that client updates it (Parse Server #2090), on either path.
    for path in ["/parse/installations", "/parse/classes/_Installation"] {
        let (status, res) =
            send(header(s.req(Method::POST, path)).json(&json!({"badge": 3}))).await;
        assert_eq!(status, 200, "{path}: {res}");
        assert!(
            res["updatedAt"].is_string() && res.get("objectId").is_none(),
            "{res}"
        );
    }
    let all_now = all(&s).await;
    assert_eq!(all_now.len(), 1, "{all_now:?}");
    assert_eq!(all_now[0]["badge"], 3);

    // A client's header names the installation it saves, whatever the URL says (as in
    // Parse Server): the update goes to the installation holding that id.
    let other = create(&s, json!({"installationId": "other", "deviceType": "ios"})).await;
    let (status, res) = send(
        header(s.req(Method::PUT, &format!("/parse/installations/{other}")))
            .json(&json!({"appName": "mine"})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(get(&s, &id).await.1["appName"], "mine");
    assert!(get(&s, &other).await.1.get("appName").is_none());

    // Without the header and without ids, a create names no installation.
    let (status, res) = post(&s, "/installations", json!({"deviceType": "ios"})).await;
    assert_eq!(
        (status, res),
        (
            400,
            error(
                135,
                "at least one ID field (deviceToken, installationId) must be specified in this operation"
            )
        )
    );
}

#[tokio::test]
async fn a_save_with_a_known_installation_id_updates_it() {
    let s = TestServer::start().await;
    let id = create(
        &s,
        json!({"installationId": iid(), "deviceType": "ios", "deviceToken": token(), "channels": ["foo", "bar"]}),
    )
    .await;
    let (status, res) = post(
        &s,
        "/installations",
        json!({"installationId": IID, "foo": "bar"}),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert!(res["updatedAt"].is_string(), "{res}");
    let all = all(&s).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["objectId"], id);
    assert_eq!(all[0]["foo"], "bar");
    assert_eq!(all[0]["channels"], json!(["foo", "bar"]));
}

#[tokio::test]
async fn a_token_only_registration_absorbs_the_installation() {
    let s = TestServer::start().await;
    // An imported token without an installation id, then the app's first save.
    let token_only = create(&s, json!({"deviceToken": TOKEN, "deviceType": "ios"})).await;
    let (status, res) = post(
        &s,
        "/installations",
        json!({"deviceToken": TOKEN, "installationId": IID, "deviceType": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let all_now = all(&s).await;
    assert_eq!(all_now.len(), 1);
    assert_eq!(all_now[0]["objectId"], token_only);
    assert_eq!(all_now[0]["installationId"], iid());

    // Two registrations, one by id and one by token: the save naming both keeps the token's.
    let s = TestServer::start().await;
    create(&s, json!({"installationId": IID, "deviceType": "ios"})).await;
    let token_obj = create(&s, json!({"deviceToken": TOKEN, "deviceType": "ios"})).await;
    assert_eq!(all(&s).await.len(), 2);
    let (status, res) = post(
        &s,
        "/installations",
        json!({"deviceToken": TOKEN, "installationId": IID, "deviceType": "ios"}),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let all_now = all(&s).await;
    assert_eq!(all_now.len(), 1, "{all_now:?}");
    assert_eq!(all_now[0]["objectId"], token_obj);
    assert_eq!(all_now[0]["installationId"], iid());
}

#[tokio::test]
async fn duplicate_device_tokens_are_removed() {
    let s = TestServer::start().await;
    // A new installation taking a token another installation holds: the other one goes.
    let first = create(
        &s,
        json!({"installationId": "a", "deviceToken": TOKEN, "deviceType": "ios"}),
    )
    .await;
    let second = create(
        &s,
        json!({"installationId": "b", "deviceToken": TOKEN, "deviceType": "ios"}),
    )
    .await;
    let ids: Vec<Value> = all(&s)
        .await
        .iter()
        .map(|o| o["objectId"].clone())
        .collect();
    assert_eq!(ids, [json!(second)]);
    assert_eq!(get(&s, &first).await.0, 404);

    // An installation given a token another holds: the other one goes.
    let third = create(&s, json!({"installationId": "c", "deviceType": "ios"})).await;
    let (status, res) = put(
        &s,
        &third,
        json!({"installationId": "c", "deviceToken": TOKEN}),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let all_now = all(&s).await;
    assert_eq!(all_now.len(), 1);
    assert_eq!(all_now[0]["objectId"], third);
    assert_eq!(all_now[0]["deviceToken"], token());
}

#[tokio::test]
async fn a_token_held_by_several_installations_needs_an_installation_id() {
    let s = TestServer::start().await;
    let a = create(&s, json!({"installationId": "a", "deviceType": "ios"})).await;
    let b = create(&s, json!({"installationId": "b", "deviceType": "ios"})).await;
    // Updates that name no installation id leave other holders of the token alone.
    for id in [&a, &b] {
        let (status, res) = put(&s, id, json!({"deviceToken": TOKEN})).await;
        assert_eq!(status, 200, "{res}");
    }
    assert_eq!(all(&s).await.len(), 2);

    let (status, res) = post(
        &s,
        "/installations",
        json!({"deviceToken": TOKEN, "deviceType": "ios"}),
    )
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            error(
                132,
                "Must specify installationId when deviceToken matches multiple Installation objects"
            )
        )
    );
    // With one, both old registrations go and the new one is created, all or nothing.
    let c = create(
        &s,
        json!({"deviceToken": TOKEN, "deviceType": "ios", "installationId": "c"}),
    )
    .await;
    let ids: Vec<Value> = all(&s)
        .await
        .iter()
        .map(|o| o["objectId"].clone())
        .collect();
    assert_eq!(ids, [json!(c)]);
}

#[tokio::test]
async fn updates_keep_the_identity_fields() {
    let s = TestServer::start().await;
    let id = create(&s, json!({"installationId": IID, "deviceType": "android"})).await;
    let (status, res) = put(
        &s,
        &id,
        json!({"installationId": "22222222-abcd-abcd-abcd-123456789abc"}),
    )
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            error(136, "installationId may not be changed in this operation")
        )
    );
    let (status, res) = put(&s, &id, json!({"deviceType": "ios"})).await;
    assert_eq!(
        (status, res),
        (
            400,
            error(136, "deviceType may not be changed in this operation")
        )
    );
    let token_only = create(&s, json!({"deviceToken": TOKEN, "deviceType": "ios"})).await;
    let (status, res) = put(&s, &token_only, json!({"deviceToken": "fedcba"})).await;
    assert_eq!(
        (status, res),
        (
            400,
            error(136, "deviceToken may not be changed in this operation")
        )
    );
    // The same values, and other fields, may be saved.
    let (status, res) = put(
        &s,
        &id,
        json!({"installationId": IID, "deviceType": "android", "appName": "x"}),
    )
    .await;
    assert_eq!(status, 200, "{res}");

    let (status, res) = put(&s, "missing000", json!({"deviceType": "ios"})).await;
    assert_eq!(
        (status, res),
        (404, error(101, "Object not found for update."))
    );
    let (status, res) = put(&s, "missing000", json!({"badge": 1})).await;
    assert_eq!((status, res["code"].clone()), (404, json!(101)));

    let (status, res) = post(&s, "/installations", json!({"installationId": "new-one"})).await;
    assert_eq!(
        (status, res),
        (
            400,
            error(135, "deviceType must be specified in this operation")
        )
    );
}

#[tokio::test]
async fn fields_are_type_checked() {
    let s = TestServer::start().await;
    let base = json!({"installationId": IID, "deviceType": "ios"});
    for (field, value, expected) in [
        (
            "badge",
            json!("x"),
            "schema mismatch for _Installation.badge; expected Number but got String",
        ),
        (
            "channels",
            json!("Giants"),
            "schema mismatch for _Installation.channels; expected Array but got String",
        ),
        (
            "timeZone",
            json!(5),
            "schema mismatch for _Installation.timeZone; expected String but got Number",
        ),
        (
            "installationId",
            json!(5),
            "schema mismatch for _Installation.installationId; expected String but got Number",
        ),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let (status, res) = post(&s, "/installations", body).await;
        assert_eq!((status, res), (400, error(111, expected)), "{field}");
    }
    assert!(all(&s).await.is_empty());
    // Channel names are the guide's: "" (broadcast) or a letter, then letters, digits, `_`, `-`.
    let channel_error = error(
        112,
        "Invalid channel name. A channel name is either an empty string (the broadcast channel) or contains only a-zA-Z0-9_ characters and starts with a letter.",
    );
    let (status, res) = post(
        &s,
        "/installations",
        json!({"installationId": IID, "deviceType": "ios", "channels": ["Giants", "a b"]}),
    )
    .await;
    assert_eq!((status, res), (400, channel_error.clone()));
    assert!(all(&s).await.is_empty());
    let id = create(
        &s,
        json!({"installationId": IID, "deviceType": "ios", "channels": ["", "Giants", "a-b"]}),
    )
    .await;
    let (status, res) = put(
        &s,
        &id,
        json!({"channels": {"__op": "AddUnique", "objects": ["9ers"]}}),
    )
    .await;
    assert_eq!((status, res), (400, channel_error));
    let (status, res) = put(
        &s,
        &id,
        json!({"channels": {"__op": "AddUnique", "objects": ["Mets"]}}),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["channels"], json!(["", "Giants", "a-b", "Mets"]));
    let (status, res) = put(
        &s,
        &id,
        json!({"badge": {"__op": "Increment", "amount": 2}}),
    )
    .await;
    assert_eq!((status, res["badge"].clone()), (200, json!(2)));
}

#[tokio::test]
async fn clients_may_not_list_or_delete_installations() {
    // Without client class creation: `_Installation` exists before its first installation, so
    // a client's get is "not found" and its first save creates.
    let s = TestServer::start_with(&[]).await;
    let (status, res) = get(&s, "missing000").await;
    assert_eq!((status, res["code"].clone()), (404, json!(101)));

    let id = create(&s, json!({"installationId": IID, "deviceType": "ios"})).await;
    let find_refused = error(
        119,
        "Clients aren't allowed to perform the find operation on the installation collection.",
    );
    for path in ["/parse/installations", "/parse/classes/_Installation"] {
        let (status, res) = s.get(path).await;
        assert_eq!((status, res), (400, find_refused.clone()), "{path}");
        let (status, res) = send(
            s.req(Method::GET, path)
                .query(&[("count", "1"), ("limit", "0")]),
        )
        .await;
        assert_eq!((status, res), (400, find_refused.clone()), "{path} count");
        let (status, res) = s.delete(&format!("{path}/{id}")).await;
        assert_eq!(
            (status, res),
            (
                400,
                error(119, "Clients aren't allowed to perform the delete operation on the installation collection.")
            ),
            "{path}"
        );
    }
    // A sub-query on installations is a find too.
    let inner = json!({"owner": {"$inQuery": {"className": "_Installation", "where": {}}}});
    send(
        s.master(Method::POST, "/parse/classes/Thing")
            .json(&json!({"n": 1})),
    )
    .await;
    let (status, res) = send(
        s.req(Method::GET, "/parse/classes/Thing")
            .query(&[("where", inner.to_string())]),
    )
    .await;
    assert_eq!((status, res["code"].clone()), (400, json!(119)));

    // Get and update are the client's.
    let (status, got) = get(&s, &id).await;
    assert_eq!((status, got["installationId"].clone()), (200, json!(iid())));
    let (status, res) = put(&s, &id, json!({"badge": 5})).await;
    assert_eq!(status, 200, "{res}");

    // The master key lists, queries, counts and deletes.
    let (status, res) = send(s.master(Method::GET, "/parse/installations").query(&[
        ("where", json!({"badge": 5}).to_string().as_str()),
        ("count", "1"),
    ]))
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["count"], 1);
    assert_eq!(res["results"][0]["objectId"], id);
    let (status, res) = send(s.master(Method::DELETE, &format!("/parse/installations/{id}"))).await;
    assert_eq!((status, res), (200, json!({})));
    assert_eq!(get(&s, &id).await.0, 404);
}

#[tokio::test]
async fn the_class_path_follows_the_same_rules() {
    let s = TestServer::start().await;
    let (status, res) = s
        .post(
            "/parse/classes/_Installation",
            json!({"installationId": IID, "deviceType": "ios"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    let id = res["objectId"].as_str().unwrap().to_string();
    let (status, res) = s
        .post(
            "/parse/classes/_Installation",
            json!({"installationId": iid(), "appVersion": "2"}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let (status, res) = s
        .put(
            &format!("/parse/classes/_Installation/{id}"),
            json!({"deviceType": "android"}),
        )
        .await;
    assert_eq!((status, res["code"].clone()), (400, json!(136)));
    let (status, res) = s
        .post("/parse/classes/_Installation", json!({"deviceType": "ios"}))
        .await;
    assert_eq!((status, res["code"].clone()), (400, json!(135)));
    let (status, got) = s.get(&format!("/parse/classes/_Installation/{id}")).await;
    assert_eq!((status, got["appVersion"].clone()), (200, json!("2")));
    // The master key too is held to the rules of saving.
    let (status, res) = send(
        s.master(Method::PUT, &format!("/parse/classes/_Installation/{id}"))
            .json(&json!({"installationId": "other"})),
    )
    .await;
    assert_eq!((status, res["code"].clone()), (400, json!(136)));
    assert_eq!(all(&s).await.len(), 1);
}

#[tokio::test]
async fn batches_save_installations_under_the_same_rules() {
    let s = TestServer::start().await;
    let existing = create(&s, json!({"installationId": IID, "deviceType": "ios"})).await;
    let other = create(
        &s,
        json!({"installationId": "old", "deviceToken": TOKEN, "deviceType": "ios"}),
    )
    .await;
    let batch = |transaction: bool, requests: Value| {
        send(
            s.req(Method::POST, "/parse/batch")
                .json(&json!({"requests": requests, "transaction": transaction})),
        )
    };
    let (status, res) = batch(
        false,
        json!([
            {"method": "POST", "path": "/parse/installations", "body": {"installationId": IID, "badge": 1}},
            {"method": "POST", "path": "/parse/classes/_Installation", "body": {"deviceType": "ios"}},
            {"method": "POST", "path": "/parse/installations", "body": {"installationId": "new", "deviceToken": TOKEN, "deviceType": "ios"}},
            {"method": "DELETE", "path": format!("/parse/installations/{existing}")},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let items = res.as_array().unwrap();
    assert!(items[0]["success"]["updatedAt"].is_string(), "{res}");
    assert_eq!(items[1]["error"]["code"], 135, "{res}");
    assert!(items[2]["success"]["objectId"].is_string(), "{res}");
    assert_eq!(items[3]["error"]["code"], 119, "{res}");
    // The new registration of the token replaced the old one.
    assert_eq!(get(&s, &other).await.0, 404);
    assert_eq!(all(&s).await.len(), 2);

    // In a transaction, one refused save refuses the batch.
    let (status, res) = batch(
        true,
        json!([
            {"method": "PUT", "path": format!("/parse/installations/{existing}"), "body": {"badge": 9}},
            {"method": "POST", "path": "/parse/installations", "body": {"installationId": "x"}},
        ]),
    )
    .await;
    assert_eq!((status, res["code"].clone()), (400, json!(135)));
    assert_eq!(get(&s, &existing).await.1["badge"], 1);
    let (status, res) = batch(
        true,
        json!([
            {"method": "PUT", "path": format!("/parse/installations/{existing}"), "body": {"badge": 9}},
            {"method": "POST", "path": "/parse/installations", "body": {"installationId": "newer", "deviceToken": TOKEN, "deviceType": "ios"}},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert!(res[1]["success"]["objectId"].is_string(), "{res}");
    assert_eq!(get(&s, &existing).await.1["badge"], 9);
    let tokens: Vec<Value> = all(&s)
        .await
        .into_iter()
        .filter(|o| o["deviceToken"] == json!(token()))
        .map(|o| o["installationId"].clone())
        .collect();
    assert_eq!(tokens, [json!("newer")]);
}
