//! Linked accounts over HTTP (`authData`): anonymous users, sign-up-or-log-in with a provider
//! the server checks by calling it (a fake GitHub API in this process), linking and unlinking
//! with `PUT`, 208 for an account linked to someone else, 252 for a provider not enabled.

mod common;

use axum::http::HeaderMap;
use axum::routing::get;
use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// A GitHub `GET /user` that knows two tokens.
async fn fake_github() -> String {
    async fn user(headers: HeaderMap) -> (axum::http::StatusCode, axum::Json<Value>) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_lowercase();
        match auth.as_str() {
            "bearer gh-42" => (axum::http::StatusCode::OK, axum::Json(json!({"id": 42}))),
            "bearer gh-7" => (axum::http::StatusCode::OK, axum::Json(json!({"id": 7}))),
            _ => (
                axum::http::StatusCode::UNAUTHORIZED,
                axum::Json(json!({"message": "Bad credentials"})),
            ),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/user", get(user)))
            .await
            .ok();
    });
    format!("http://{addr}/")
}

fn github(id: &str, token: &str) -> Value {
    json!({"authData": {"github": {"id": id, "access_token": token}}})
}

#[tokio::test]
async fn anonymous_users_sign_up_and_log_in_again() {
    let s = TestServer::start().await;
    let anon = json!({"authData": {"anonymous": {"id": "0d5f6a3e-9a3b-4c1a-8f7e-1b2c3d4e5f60"}}});
    let (status, first) = s.post("/parse/users", anon.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        first["username"].as_str().map(str::len),
        Some(25),
        "{first}"
    );
    assert!(first["sessionToken"].is_string());
    let (status, again) = s.post("/parse/users", anon).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["objectId"], first["objectId"]);
    assert_ne!(again["sessionToken"], first["sessionToken"]);
    let token = again["sessionToken"].as_str().unwrap();
    let (status, me) = send(s.as_user(Method::GET, "/parse/users/me", token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        me["authData"]["anonymous"]["id"],
        "0d5f6a3e-9a3b-4c1a-8f7e-1b2c3d4e5f60"
    );

    let off = TestServer::start_with(&["--enableAnonymousUsers", "false"]).await;
    let (status, res) = off
        .post(
            "/parse/users",
            json!({"authData": {"anonymous": {"id": "x1"}}}),
        )
        .await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 252, "error": "This authentication method is unsupported."})
        )
    );
}

#[tokio::test]
async fn providers_vouch_for_linked_accounts() {
    let base = fake_github().await;
    let auth = json!({"github": {"baseURL": base}}).to_string();
    let s = TestServer::start_with(&["--allowClientClassCreation", "--auth", &auth]).await;

    // Sign-up, then log-in, with the provider's data.
    let (status, signed) = s.post("/parse/users", github("42", "gh-42")).await;
    assert_eq!(status, 201, "{signed}");
    let (status, logged) = s.post("/parse/users", github("42", "gh-42")).await;
    assert_eq!(
        (status, logged["objectId"].clone()),
        (200, signed["objectId"].clone()),
        "{logged}"
    );
    // A token for someone else, or a provider not enabled, is refused.
    let (status, res) = s.post("/parse/users", github("42", "gh-7")).await;
    assert_eq!((status, res["code"].clone()), (404, json!(101)), "{res}");
    let (status, res) = s.post("/parse/users", github("42", "nope")).await;
    assert_eq!((status, res["code"].clone()), (404, json!(101)), "{res}");
    let (status, res) = s
        .post(
            "/parse/users",
            json!({"authData": {"myspace": {"id": "1", "access_token": "t"}}}),
        )
        .await;
    assert_eq!((status, res["code"].clone()), (400, json!(252)), "{res}");

    // Linking to a password user; an account linked elsewhere is 208; unlinking frees it.
    let (status, alice) = s
        .post(
            "/parse/users",
            json!({"username": "alice", "password": "pw"}),
        )
        .await;
    assert_eq!(status, 201);
    let alice_id = alice["objectId"].as_str().unwrap();
    let alice_token = alice["sessionToken"].as_str().unwrap();
    let put = |token: &str, id: &str, body: Value| {
        send(
            s.as_user(Method::PUT, &format!("/parse/users/{id}"), token)
                .json(&body),
        )
    };
    let (status, res) = put(alice_token, alice_id, github("42", "gh-42")).await;
    assert_eq!(
        (status, res),
        (
            400,
            json!({"code": 208, "error": "this auth is already used"})
        )
    );
    let (status, res) = put(alice_token, alice_id, github("7", "gh-7")).await;
    assert_eq!(status, 200, "{res}");
    let (status, res) = s.post("/parse/users", github("7", "gh-7")).await;
    assert_eq!(
        (status, res["objectId"].clone()),
        (200, json!(alice_id)),
        "{res}"
    );
    assert_eq!(res["username"], "alice");
    let (status, _) = put(alice_token, alice_id, json!({"authData": {"github": null}})).await;
    assert_eq!(status, 200);
    let (status, res) = s.post("/parse/users", github("7", "gh-7")).await;
    assert_eq!(status, 201, "unlinked, so a new user: {res}");
    // Password log-in still works after all that.
    let (status, _) = s.log_in("alice", "pw").await;
    assert_eq!(status, 200);
}
