//! Users and sessions over HTTP: sign-up and its errors, log-in by username or email, `/users/me`,
//! log-out, private users, who may update and delete a user, password changes ending the other
//! sessions, expiry, `/verifyPassword`, `/loginAs`; and no password or session token in plain
//! text in the log or the read model.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn error(code: i64, message: &str) -> Value {
    json!({"code": code, "error": message})
}

#[tokio::test]
async fn sign_up_and_its_errors() {
    let s = TestServer::start().await;
    let (location, body) = s
        .post_created(
            "/parse/users",
            json!({"username": "Alice", "password": "secret-1", "email": "Alice@Example.com", "age": 30}),
        )
        .await;
    let id = body["objectId"].as_str().unwrap();
    assert_eq!(location, s.url(&format!("/parse/users/{id}")));
    let token = body["sessionToken"].as_str().unwrap();
    assert!(token.starts_with("r:") && token.len() == 34, "{token}");
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");

    for (body, expected) in [
        (
            json!({"password": "p"}),
            error(200, "bad or missing username"),
        ),
        (
            json!({"username": "", "password": "p"}),
            error(200, "bad or missing username"),
        ),
        (json!({"username": "b"}), error(201, "password is required")),
        (
            json!({"username": "ALICE", "password": "p"}),
            error(202, "Account already exists for this username."),
        ),
        (
            json!({"username": "b", "password": "p", "email": "alice@example.COM"}),
            error(203, "Account already exists for this email address."),
        ),
        (
            json!({"username": "b", "password": "p", "email": "nope"}),
            error(125, "Email address format is invalid."),
        ),
        (
            json!({"username": "b", "password": "p", "emailVerified": true}),
            error(
                119,
                "Clients aren't allowed to manually update email verification.",
            ),
        ),
    ] {
        let (status, res) = s.post("/parse/users", body.clone()).await;
        assert_eq!((status, res), (400, expected), "{body}");
    }
    // The class route is the same sign-up.
    let (status, res) = s
        .post(
            "/parse/classes/_User",
            json!({"username": "carol", "password": "p"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    assert!(res["sessionToken"].is_string());
}

#[tokio::test]
async fn log_in_me_and_log_out() {
    let s = TestServer::start().await;
    let (id, _) = s
        .sign_up(json!({"username": "alice", "password": "pw", "email": "a@x.com"}))
        .await;
    // GET with query parameters, by username (any case) or by email; POST with a body.
    let (status, user) = send(
        s.req(Method::GET, "/parse/login")
            .query(&[("username", "ALICE"), ("password", "pw")]),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["objectId"], json!(id));
    assert_eq!(user["email"], "a@x.com");
    assert!(user.get("password").is_none() && user.get("_hashed_password").is_none());
    let token = user["sessionToken"].as_str().unwrap().to_string();
    let (status, by_email) = s
        .post(
            "/parse/login",
            json!({"email": "A@x.com", "password": "pw"}),
        )
        .await;
    assert_eq!((status, by_email["objectId"].clone()), (200, json!(id)));

    for (params, expected) in [
        (
            vec![("username", "alice"), ("password", "nope")],
            (404, error(101, "Invalid username/password.")),
        ),
        (
            vec![("username", "nobody"), ("password", "pw")],
            (404, error(101, "Invalid username/password.")),
        ),
        (
            vec![("password", "pw")],
            (400, error(200, "username/email is required.")),
        ),
        (
            vec![("username", "alice")],
            (400, error(201, "password is required.")),
        ),
    ] {
        let got = send(s.req(Method::GET, "/parse/login").query(&params)).await;
        assert_eq!(got, expected, "{params:?}");
    }

    // Cached on the query-api too, before the log-out.
    let on_query_api = format!("http://127.0.0.1:{}/parse/classes/Anything", s.query_port);
    let (status, _) = send(
        s.http
            .get(&on_query_api)
            .header("X-Parse-Application-Id", common::APP_ID)
            .header("X-Parse-REST-API-Key", common::REST_KEY)
            .header("X-Parse-Session-Token", &token),
    )
    .await;
    assert_eq!(status, 200);
    let (status, me) = send(s.as_user(Method::GET, "/parse/users/me", &token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["objectId"].clone(), me["sessionToken"].clone()),
        (json!(id), json!(token))
    );
    let (status, session) = send(s.as_user(Method::GET, "/parse/sessions/me", &token)).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["objectId"], json!(id));
    assert_eq!(
        session["createdWith"],
        json!({"action": "login", "authProvider": "password"})
    );
    assert_eq!(session["sessionToken"], json!(token));

    let (status, res) = send(s.as_user(Method::POST, "/parse/logout", &token)).await;
    assert_eq!((status, res), (200, json!({})));
    for path in ["/parse/users/me", "/parse/classes/Anything"] {
        let got = send(s.as_user(Method::GET, path, &token)).await;
        assert_eq!(got, (400, error(209, "Invalid session token")), "{path}");
    }
    let got = send(s.req(Method::GET, "/parse/users/me")).await;
    assert_eq!(got, (400, error(209, "Invalid session token")));
    // Every process forgets the session: the distributed stack's query-api learns it from the
    // read model's announcement, which may arrive a moment after the log-out's answer.
    let mut got = (0, Value::Null);
    for _ in 0..40 {
        got = send(
            s.http
                .get(&on_query_api)
                .header("X-Parse-Application-Id", common::APP_ID)
                .header("X-Parse-REST-API-Key", common::REST_KEY)
                .header("X-Parse-Session-Token", &token),
        )
        .await;
        if got.0 == 400 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got, (400, error(209, "Invalid session token")));
}

#[tokio::test]
async fn a_new_login_from_an_installation_replaces_its_session() {
    let s = TestServer::start().await;
    let (id, _) = s
        .sign_up(json!({"username": "alice", "password": "pw"}))
        .await;
    let login = |iid: &'static str| {
        send(
            s.req(Method::POST, "/parse/login")
                .header("X-Parse-Installation-Id", iid)
                .json(&json!({"username": "alice", "password": "pw"})),
        )
    };
    let (_, first) = login("device-1").await;
    let (_, second) = login("device-1").await;
    let (_, other) = login("device-2").await;
    let old = first["sessionToken"].as_str().unwrap();
    assert_eq!(
        send(s.as_user(Method::GET, "/parse/users/me", old)).await.0,
        400,
        "the installation's earlier session is gone"
    );
    for t in [&second, &other] {
        let token = t["sessionToken"].as_str().unwrap();
        assert_eq!(
            send(s.as_user(Method::GET, "/parse/users/me", token))
                .await
                .0,
            200
        );
    }
    let sessions = s.all("_Session").await;
    let installations: Vec<_> = sessions
        .iter()
        .filter(|x| x["user"]["objectId"] == json!(id))
        .filter_map(|x| x["installationId"].as_str())
        .collect();
    assert_eq!(installations.len(), 2, "{sessions:?}");
}

#[tokio::test]
async fn users_are_private_and_only_their_own_to_change() {
    let s = TestServer::start().await;
    let (alice, alice_token) = s
        .sign_up(json!({"username": "alice", "password": "pw", "email": "a@x.com"}))
        .await;
    let (bob, bob_token) = s
        .sign_up(json!({"username": "bob", "password": "pw"}))
        .await;

    // Others see nothing of a user; the user sees itself; the master key sees all.
    let (status, _) = s.get(&format!("/parse/users/{alice}")).await;
    assert_eq!(status, 404);
    let (status, _) =
        send(s.as_user(Method::GET, &format!("/parse/users/{alice}"), &bob_token)).await;
    assert_eq!(status, 404);
    let (_, found) = send(s.as_user(Method::GET, "/parse/users", &bob_token)).await;
    assert_eq!(found["results"].as_array().unwrap().len(), 1);
    assert_eq!(found["results"][0]["objectId"], json!(bob));
    let (_, mine) =
        send(s.as_user(Method::GET, &format!("/parse/users/{alice}"), &alice_token)).await;
    assert_eq!(mine["email"], "a@x.com");
    assert_eq!(s.all("_User").await.len(), 2);

    // A public user shows others no email.
    let (status, _) = send(
        s.as_user(Method::PUT, &format!("/parse/users/{alice}"), &alice_token)
            .json(&json!({"ACL": {"*": {"read": true}}})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, seen) =
        send(s.as_user(Method::GET, &format!("/parse/users/{alice}"), &bob_token)).await;
    assert_eq!(status, 200, "{seen}");
    assert!(seen.get("email").is_none(), "{seen}");
    assert_eq!(seen["username"], "alice");
    let (_, acl) =
        send(s.as_user(Method::GET, &format!("/parse/users/{alice}"), &alice_token)).await;
    assert_eq!(
        acl["ACL"][&alice],
        json!({"read": true, "write": true}),
        "the user's own entry stays"
    );

    // Changes: not without a session, not by another user.
    let (status, res) = s
        .put(&format!("/parse/users/{alice}"), json!({"age": 1}))
        .await;
    assert_eq!(
        (status, res),
        (400, error(206, &format!("Cannot modify user {alice}.")))
    );
    let (status, res) = send(
        s.as_user(Method::PUT, &format!("/parse/users/{alice}"), &bob_token)
            .json(&json!({"age": 1})),
    )
    .await;
    assert_eq!((status, res), (400, error(206, "Insufficient auth.")));
    let (status, res) =
        send(s.as_user(Method::DELETE, &format!("/parse/users/{alice}"), &bob_token)).await;
    assert_eq!((status, res), (400, error(206, "Insufficient auth.")));
    let (status, res) = s.delete(&format!("/parse/users/{alice}")).await;
    assert_eq!(
        (status, res),
        (400, error(206, "Insufficient auth to delete user"))
    );
    let (status, _) = send(
        s.as_user(Method::PUT, &format!("/parse/users/{alice}"), &alice_token)
            .json(&json!({"age": 2, "username": "BOB"})),
    )
    .await;
    assert_eq!(status, 400, "bob's name, in any case, is taken");

    // A user deletes itself, with its sessions.
    let (status, _) =
        send(s.as_user(Method::DELETE, &format!("/parse/users/{bob}"), &bob_token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        send(s.as_user(Method::GET, "/parse/users/me", &bob_token))
            .await
            .0,
        400
    );
    assert!(s
        .all("_Session")
        .await
        .iter()
        .all(|x| x["user"]["objectId"] != json!(bob)));
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let s = TestServer::start().await;
    let (id, first) = s
        .sign_up(json!({"username": "alice", "password": "old"}))
        .await;
    let (_, login) = s.log_in("alice", "old").await;
    let second = login["sessionToken"].as_str().unwrap();
    let (status, res) = send(
        s.as_user(Method::PUT, &format!("/parse/users/{id}"), second)
            .json(&json!({"password": "new"})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let fresh = res["sessionToken"]
        .as_str()
        .expect("a new token")
        .to_string();
    for old in [first.as_str(), second] {
        assert_eq!(
            send(s.as_user(Method::GET, "/parse/users/me", old)).await.0,
            400
        );
    }
    assert_eq!(
        send(s.as_user(Method::GET, "/parse/users/me", &fresh))
            .await
            .0,
        200
    );
    let (status, _) = s.log_in("alice", "old").await;
    assert_eq!(status, 404);
    let (status, _) = s.log_in("alice", "new").await;
    assert_eq!(status, 200);
    let (status, checked) = s
        .post(
            "/parse/verifyPassword",
            json!({"username": "alice", "password": "new"}),
        )
        .await;
    assert_eq!(status, 200, "{checked}");
    assert!(checked.get("sessionToken").is_none());
}

#[tokio::test]
async fn sessions_expire_and_login_as_needs_the_master_key() {
    let s = TestServer::start_with(&["--allowClientClassCreation", "--sessionLength", "1"]).await;
    let (id, token) = s
        .sign_up(json!({"username": "alice", "password": "pw"}))
        .await;
    assert_eq!(
        send(s.as_user(Method::GET, "/parse/users/me", &token))
            .await
            .0,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let got = send(s.as_user(Method::GET, "/parse/users/me", &token)).await;
    assert_eq!(got, (400, error(209, "Session token is expired.")));

    let (status, _) = s.post("/parse/loginAs", json!({"userId": id})).await;
    assert_eq!(status, 403);
    let (status, res) = send(
        s.master(Method::POST, "/parse/loginAs")
            .json(&json!({"userId": id})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["objectId"], json!(id));
    assert!(res["sessionToken"].is_string());
}

#[tokio::test]
async fn acls_decide_who_reads_and_writes_objects() {
    let s = TestServer::start().await;
    let (alice, alice_token) = s
        .sign_up(json!({"username": "alice", "password": "pw"}))
        .await;
    let (_, bob_token) = s
        .sign_up(json!({"username": "bob", "password": "pw"}))
        .await;
    let create = |acl: Value, n: i64| {
        let token = alice_token.clone();
        let s = &s;
        async move {
            let (status, res) = send(
                s.as_user(Method::POST, "/parse/classes/Note", &token)
                    .json(&json!({"n": n, "ACL": acl})),
            )
            .await;
            assert_eq!(status, 201, "{res}");
            res["objectId"].as_str().unwrap().to_string()
        }
    };
    let private = create(json!({ &alice: {"read": true, "write": true} }), 1).await;
    let readable = create(
        json!({ &alice: {"read": true, "write": true}, "*": {"read": true} }),
        2,
    )
    .await;
    let open = create(json!({"*": {"read": true, "write": true}}), 3).await;

    let ids = |res: &Value| -> Vec<i64> {
        let mut v: Vec<i64> = res["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["n"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };
    let (_, res) = send(
        s.as_user(Method::GET, "/parse/classes/Note", &bob_token)
            .query(&[("count", "1")]),
    )
    .await;
    assert_eq!((ids(&res), res["count"].clone()), (vec![2, 3], json!(2)));
    let (_, res) = send(s.req(Method::GET, "/parse/classes/Note")).await;
    assert_eq!(ids(&res), vec![2, 3]);
    let (_, res) = send(s.as_user(Method::GET, "/parse/classes/Note", &alice_token)).await;
    assert_eq!(ids(&res), vec![1, 2, 3]);
    let (_, res) = send(s.master(Method::GET, "/parse/classes/Note")).await;
    assert_eq!(ids(&res), vec![1, 2, 3]);

    // Denied reads and writes are "not found", as Parse Server answers.
    let not_found = (404, error(101, "Object not found."));
    assert_eq!(
        send(s.as_user(
            Method::GET,
            &format!("/parse/classes/Note/{private}"),
            &bob_token
        ))
        .await,
        not_found
    );
    assert_eq!(
        send(
            s.as_user(
                Method::PUT,
                &format!("/parse/classes/Note/{readable}"),
                &bob_token
            )
            .json(&json!({"n": 9}))
        )
        .await,
        not_found
    );
    assert_eq!(
        send(s.as_user(
            Method::DELETE,
            &format!("/parse/classes/Note/{readable}"),
            &bob_token
        ))
        .await,
        not_found
    );
    let (status, _) = send(
        s.as_user(
            Method::PUT,
            &format!("/parse/classes/Note/{open}"),
            &bob_token,
        )
        .json(&json!({"n": 4})),
    )
    .await;
    assert_eq!(status, 200);

    // Includes and sub-queries see only what the reader may read.
    let (status, _) = send(
        s.as_user(Method::POST, "/parse/classes/Ref", &alice_token)
            .json(&json!({"to": {"__type": "Pointer", "className": "Note", "objectId": private}})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, res) = send(
        s.as_user(Method::GET, "/parse/classes/Ref", &bob_token)
            .query(&[("include", "to")]),
    )
    .await;
    // An included object the reader may not read is left out, as Parse Server does.
    assert!(res["results"][0].get("to").is_none(), "{res}");
    let (_, res) = send(
        s.as_user(Method::GET, "/parse/classes/Ref", &alice_token)
            .query(&[("include", "to")]),
    )
    .await;
    assert_eq!(res["results"][0]["to"]["n"], 1, "{res}");
    let in_query =
        json!({"to": {"$inQuery": {"where": {"n": 1}, "className": "Note"}}}).to_string();
    let (_, res) = send(
        s.as_user(Method::GET, "/parse/classes/Ref", &bob_token)
            .query(&[("where", in_query.as_str())]),
    )
    .await;
    assert_eq!(res["results"].as_array().unwrap().len(), 0);
    let (_, res) = send(
        s.as_user(Method::GET, "/parse/classes/Ref", &alice_token)
            .query(&[("where", in_query.as_str())]),
    )
    .await;
    assert_eq!(res["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn no_password_or_token_in_plain_text_in_the_log_or_the_read_model() {
    let s = TestServer::start().await;
    let password = "correct-horse-battery-staple";
    let (id, token) = s
        .sign_up(json!({"username": "alice", "password": password}))
        .await;
    let (_, login) = s
        .post(
            "/parse/login",
            json!({"username": "alice", "password": password}),
        )
        .await;
    let token2 = login["sessionToken"].as_str().unwrap().to_string();
    let (status, _) = send(
        s.as_user(Method::PUT, &format!("/parse/users/{id}"), &token2)
            .json(&json!({"password": "another-secret-9"})),
    )
    .await;
    assert_eq!(status, 200);
    let secrets = [
        password,
        "another-secret-9",
        token.as_str(),
        token2.as_str(),
        &token[2..],
        &token2[2..],
    ];

    let log = serde_json::to_string(&s.logged_events().await).unwrap();
    assert!(log.contains("_hashed_password"), "the log has the hashes");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} is in the log");
    }
    if common::distributed() {
        let dump = common::read_model_dump(&s).await;
        assert!(dump.contains("_hashed_password"));
        for secret in secrets {
            assert!(!dump.contains(secret), "{secret} is in the read model");
        }
    } else {
        let raw = std::fs::read(s.data_dir.join("events.sqlite")).unwrap();
        let raw = String::from_utf8_lossy(&raw);
        for secret in secrets {
            assert!(!raw.contains(secret), "{secret} is in the SQLite file");
        }
    }
}
