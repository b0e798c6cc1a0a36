//! Class-level permissions over HTTP (set through the schema API): operations open or closed
//! per user, role and `requiresAuthentication`, pointer permissions (`pointerFields`,
//! `readUserFields`, `writeUserFields`), `protectedFields`; and restricted sessions.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn error(code: i64, message: &str) -> Value {
    json!({"code": code, "error": message})
}

async fn sign_up(s: &TestServer, name: &str) -> (String, String) {
    s.sign_up(json!({"username": name, "password": "pw"})).await
}

async fn class_with(s: &TestServer, class: &str, fields: Value, clp: Value) {
    let (status, res) = send(
        s.master(Method::POST, &format!("/parse/schemas/{class}"))
            .json(&json!({"className": class, "fields": fields, "classLevelPermissions": clp})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
}

#[tokio::test]
async fn operations_open_to_whom_the_clp_says() {
    let s = TestServer::start_with(&[]).await;
    let (alice, alice_token) = sign_up(&s, "alice").await;
    let (_, bob_token) = sign_up(&s, "bob").await;
    class_with(
        &s,
        "Doc",
        json!({"title": {"type": "String"}}),
        json!({
            "get": {"*": true},
            "find": {"requiresAuthentication": true},
            "count": {},
            "create": {(alice.as_str()): true},
            "update": {(alice.as_str()): true},
            "delete": {},
            "addField": {}
        }),
    )
    .await;
    let denied = |op: &str| {
        error(
            119,
            &format!("Permission denied for action {op} on class Doc."),
        )
    };

    let (status, res) = send(
        s.as_user(Method::POST, "/parse/classes/Doc", &bob_token)
            .json(&json!({"title": "b"})),
    )
    .await;
    assert_eq!((status, res), (400, denied("create")));
    let (status, res) = send(
        s.as_user(Method::POST, "/parse/classes/Doc", &alice_token)
            .json(&json!({"title": "a"})),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let id = res["objectId"].as_str().unwrap().to_string();
    let (status, res) = send(
        s.as_user(Method::POST, "/parse/classes/Doc", &alice_token)
            .json(&json!({"title": "a", "extra": 1})),
    )
    .await;
    assert_eq!((status, res), (400, denied("addField")));

    let (status, res) = send(s.req(Method::GET, "/parse/classes/Doc")).await;
    assert_eq!(
        (status, res),
        (
            404,
            error(101, "Permission denied, user needs to be authenticated.")
        )
    );
    let (status, res) = send(s.as_user(Method::GET, "/parse/classes/Doc", &bob_token)).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["results"].as_array().unwrap().len(), 1);
    let (status, res) = send(
        s.as_user(Method::GET, "/parse/classes/Doc", &bob_token)
            .query(&[("count", "1"), ("limit", "0")]),
    )
    .await;
    assert_eq!((status, res), (400, denied("count")));
    let (status, _) = send(s.req(Method::GET, &format!("/parse/classes/Doc/{id}"))).await;
    assert_eq!(status, 200, "get is open to all");

    let (status, res) = send(
        s.as_user(Method::PUT, &format!("/parse/classes/Doc/{id}"), &bob_token)
            .json(&json!({"title": "x"})),
    )
    .await;
    assert_eq!((status, res), (400, denied("update")));
    let (status, _) = send(
        s.as_user(
            Method::PUT,
            &format!("/parse/classes/Doc/{id}"),
            &alice_token,
        )
        .json(&json!({"title": "y"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, res) = send(s.as_user(
        Method::DELETE,
        &format!("/parse/classes/Doc/{id}"),
        &alice_token,
    ))
    .await;
    assert_eq!((status, res), (400, denied("delete")));
    let (status, _) = send(s.master(Method::DELETE, &format!("/parse/classes/Doc/{id}"))).await;
    assert_eq!(status, 200, "the master key is above CLPs");
}

#[tokio::test]
async fn pointer_permissions_and_protected_fields() {
    let s = TestServer::start().await;
    let (alice, alice_token) = sign_up(&s, "alice").await;
    let (bob, bob_token) = sign_up(&s, "bob").await;
    class_with(
        &s,
        "Task",
        json!({"owner": {"type": "Pointer", "targetClass": "_User"}, "secret": {"type": "String"}, "title": {"type": "String"}}),
        json!({
            "find": {"pointerFields": ["owner"]},
            "get": {"pointerFields": ["owner"]},
            "create": {"*": true},
            "update": {"pointerFields": ["owner"]},
            "delete": {"pointerFields": ["owner"]},
            "protectedFields": {"*": ["secret"], (alice.as_str()): []}
        }),
    )
    .await;
    let owner = |id: &str| json!({"__type": "Pointer", "className": "_User", "objectId": id});
    let mut ids = Vec::new();
    for (who, token) in [(&alice, &alice_token), (&bob, &bob_token)] {
        let (status, res) = send(
            s.as_user(Method::POST, "/parse/classes/Task", token)
                .json(&json!({"owner": owner(who), "secret": format!("{who}'s"), "title": "t"})),
        )
        .await;
        assert_eq!(status, 201, "{res}");
        ids.push(res["objectId"].as_str().unwrap().to_string());
    }
    // Each finds only the tasks pointing to them; the public finds none.
    let (_, res) = send(s.as_user(Method::GET, "/parse/classes/Task", &bob_token)).await;
    let found = res["results"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["owner"]["objectId"], json!(bob));
    assert!(
        found[0].get("secret").is_none(),
        "protected from bob: {res}"
    );
    assert_eq!(found[0]["title"], "t");
    let (_, res) = send(s.as_user(Method::GET, "/parse/classes/Task", &alice_token)).await;
    assert_eq!(
        res["results"][0]["secret"],
        json!(format!("{alice}'s")),
        "alice's own set is empty"
    );
    let (_, res) = send(s.req(Method::GET, "/parse/classes/Task")).await;
    assert_eq!(res["results"], json!([]));
    let (status, _) = send(s.as_user(
        Method::GET,
        &format!("/parse/classes/Task/{}", ids[0]),
        &bob_token,
    ))
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        s.as_user(
            Method::PUT,
            &format!("/parse/classes/Task/{}", ids[0]),
            &bob_token,
        )
        .json(&json!({"title": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(s.as_user(
        Method::DELETE,
        &format!("/parse/classes/Task/{}", ids[1]),
        &bob_token,
    ))
    .await;
    assert_eq!(status, 200);
    // A where on a protected field is refused.
    let where_ = json!({"secret": "x"}).to_string();
    let (status, res) = send(
        s.as_user(Method::GET, "/parse/classes/Task", &bob_token)
            .query(&[("where", where_.as_str())]),
    )
    .await;
    assert_eq!((status, res["code"].clone()), (400, json!(119)), "{res}");
    // The master key sees everything.
    let all = s.all("Task").await;
    assert_eq!(all[0]["secret"], json!(format!("{alice}'s")));
}

#[tokio::test]
async fn restricted_sessions() {
    let s = TestServer::start().await;
    let (alice, token) = sign_up(&s, "alice").await;
    let (status, res) = send(
        s.as_user(Method::POST, "/parse/sessions", &token)
            .json(&json!({"customField": "value"})),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["restricted"], true);
    assert_eq!(res["createdWith"], json!({"action": "create"}));
    let restricted = res["sessionToken"].as_str().unwrap().to_string();
    assert_ne!(restricted, token);

    // It reads and writes ordinary classes as the user, but not users, sessions or roles.
    let (status, _) = send(
        s.as_user(Method::POST, "/parse/classes/Reading", &restricted)
            .json(&json!({"t": 20})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, res) = send(
        s.as_user(Method::PUT, &format!("/parse/users/{alice}"), &restricted)
            .json(&json!({"age": 3})),
    )
    .await;
    assert_eq!((status, res["code"].clone()), (400, json!(119)), "{res}");
    let (status, res) = send(
        s.as_user(Method::POST, "/parse/sessions", &restricted)
            .json(&json!({})),
    )
    .await;
    assert_eq!((status, res["code"].clone()), (400, json!(119)), "{res}");
    let (_, res) = send(s.as_user(Method::GET, "/parse/sessions", &restricted)).await;
    let sessions = res["results"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "only restricted sessions: {res}");
    assert_eq!(sessions[0]["customField"], "value");
    let (_, res) = send(s.as_user(Method::GET, "/parse/sessions", &token)).await;
    assert_eq!(res["results"].as_array().unwrap().len(), 2);

    // Pairing with the device's installation.
    let (status, res) = send(
        s.as_user(Method::PUT, "/parse/sessions/me", &restricted)
            .header("X-Parse-Installation-Id", "device-7")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let (_, me) = send(s.as_user(Method::GET, "/parse/sessions/me", &restricted)).await;
    assert_eq!(me["installationId"], "device-7");
    let (status, _) = send(
        s.as_user(Method::PUT, "/parse/sessions/me", &token)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 400, "only restricted sessions pair this way");
}

#[tokio::test]
async fn includes_follow_the_target_class_permissions() {
    let s = TestServer::start().await;
    class_with(
        &s,
        "Vault",
        json!({"code": {"type": "String"}}),
        json!({"get": {}, "find": {}, "create": {}}),
    )
    .await;
    let (status, res) = send(
        s.master(Method::POST, "/parse/classes/Vault")
            .json(&json!({"code": "1234"})),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let vault = res["objectId"].as_str().unwrap().to_string();
    let (status, _) = s
        .post(
            "/parse/classes/Door",
            json!({"to": {"__type": "Pointer", "className": "Vault", "objectId": vault}}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, res) = send(
        s.req(Method::GET, "/parse/classes/Door")
            .query(&[("include", "to")]),
    )
    .await;
    assert!(res["results"][0].get("to").is_none(), "{res}");
    let (_, res) = send(
        s.master(Method::GET, "/parse/classes/Door")
            .query(&[("include", "to")]),
    )
    .await;
    assert_eq!(res["results"][0]["to"]["code"], "1234", "{res}");
}

#[tokio::test]
async fn read_and_write_user_fields() {
    let s = TestServer::start().await;
    let (alice, alice_token) = sign_up(&s, "alice").await;
    let (_, bob_token) = sign_up(&s, "bob").await;
    class_with(
        &s,
        "Diary",
        json!({"owner": {"type": "Pointer", "targetClass": "_User"}, "text": {"type": "String"}}),
        json!({
            "find": {}, "get": {}, "count": {}, "update": {}, "delete": {},
            "create": {"*": true},
            "readUserFields": ["owner"],
            "writeUserFields": ["owner"]
        }),
    )
    .await;
    let (status, res) = send(s.master(Method::POST, "/parse/classes/Diary").json(&json!({
        "owner": {"__type": "Pointer", "className": "_User", "objectId": alice},
        "text": "dear diary"
    })))
    .await;
    assert_eq!(status, 201, "{res}");
    let id = res["objectId"].as_str().unwrap().to_string();
    let (_, mine) = send(s.as_user(Method::GET, "/parse/classes/Diary", &alice_token)).await;
    assert_eq!(mine["results"].as_array().unwrap().len(), 1, "{mine}");
    let (_, theirs) = send(s.as_user(Method::GET, "/parse/classes/Diary", &bob_token)).await;
    assert_eq!(theirs["results"], json!([]));
    let (status, _) = send(
        s.as_user(
            Method::PUT,
            &format!("/parse/classes/Diary/{id}"),
            &bob_token,
        )
        .json(&json!({"text": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        s.as_user(
            Method::PUT,
            &format!("/parse/classes/Diary/{id}"),
            &alice_token,
        )
        .json(&json!({"text": "y"})),
    )
    .await;
    assert_eq!(status, 200);
}
