//! Roles over HTTP: `/roles` with Parse's rules (name and ACL required, the name's characters,
//! unique, fixed once saved), and ACLs granting `role:Name` to the role's users and to the
//! users of its child roles, with membership changes seen at once and cycles cut.

mod common;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

fn pointer(class: &str, id: &str) -> Value {
    json!({"__type": "Pointer", "className": class, "objectId": id})
}

async fn sign_up(s: &TestServer, name: &str) -> (String, String) {
    s.sign_up(json!({"username": name, "password": "pw"})).await
}

async fn role(s: &TestServer, name: &str, users: &[&str], roles: &[&str]) -> String {
    let mut body = json!({"name": name, "ACL": {"*": {"read": true}}});
    if !users.is_empty() {
        body["users"] = json!({"__op": "AddRelation", "objects": users.iter().map(|u| pointer("_User", u)).collect::<Vec<_>>()});
    }
    if !roles.is_empty() {
        body["roles"] = json!({"__op": "AddRelation", "objects": roles.iter().map(|r| pointer("_Role", r)).collect::<Vec<_>>()});
    }
    let (status, res) = send(s.master(Method::POST, "/parse/roles").json(&body)).await;
    assert_eq!(status, 201, "{res}");
    res["objectId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn role_rules() {
    let s = TestServer::start().await;
    let err = |code: i64, msg: &str| json!({"code": code, "error": msg});
    let id = role(&s, "Admins", &[], &[]).await;
    for (body, expected) in [
        (json!({"ACL": {}}), err(111, "name is required.")),
        (json!({"name": "Mods"}), err(111, "ACL is required.")),
        (
            json!({"name": "Bad.Name", "ACL": {}}),
            err(
                139,
                "A role's name can only contain alphanumeric characters, _, -, and spaces.",
            ),
        ),
        (
            json!({"name": "Admins", "ACL": {}}),
            err(
                137,
                "A duplicate value for a field with unique values was provided",
            ),
        ),
    ] {
        let (status, res) = send(s.master(Method::POST, "/parse/roles").json(&body)).await;
        assert_eq!((status, res), (400, expected), "{body}");
    }
    let (status, res) = send(
        s.master(Method::PUT, &format!("/parse/roles/{id}"))
            .json(&json!({"name": "Other"})),
    )
    .await;
    assert_eq!(
        (status, res),
        (
            400,
            err(
                136,
                "A role's name can only be set before it has been saved."
            )
        )
    );
    let (status, got) = s.get(&format!("/parse/roles/{id}")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["name"], "Admins");
    assert_eq!(
        got["users"],
        json!({"__type": "Relation", "className": "_User"})
    );
    assert_eq!(
        got["roles"],
        json!({"__type": "Relation", "className": "_Role"})
    );
    assert_eq!(s.all("_Role").await.len(), 1);
}

#[tokio::test]
async fn role_acls_reach_members_and_child_roles() {
    let s = TestServer::start().await;
    let (ann, ann_token) = sign_up(&s, "ann").await;
    let (_, bea_token) = sign_up(&s, "bea").await;
    let (cid, cid_token) = sign_up(&s, "cid").await;
    // Moderators' users inherit Admins (Admins.roles holds Moderators); a cycle back is cut.
    let mods = role(&s, "Moderators", &[&cid], &[]).await;
    let admins = role(&s, "Admins", &[&ann], &[&mods]).await;
    let (status, _) =
        send(s.master(Method::PUT, &format!("/parse/roles/{mods}")).json(
            &json!({"roles": {"__op": "AddRelation", "objects": [pointer("_Role", &admins)]}}),
        ))
        .await;
    assert_eq!(status, 200);
    let (status, res) = send(
        s.master(Method::POST, "/parse/classes/Secret")
            .json(&json!({"n": 1, "ACL": {"role:Admins": {"read": true, "write": true}}})),
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let secret = res["objectId"].as_str().unwrap().to_string();

    let count = |token: String| {
        let s = &s;
        async move {
            let (status, res) = send(s.as_user(Method::GET, "/parse/classes/Secret", &token)).await;
            assert_eq!(status, 200, "{res}");
            res["results"].as_array().unwrap().len()
        }
    };
    assert_eq!(count(ann_token.clone()).await, 1, "a member");
    assert_eq!(
        count(cid_token.clone()).await,
        1,
        "a member of a child role"
    );
    assert_eq!(count(bea_token.clone()).await, 0, "not a member");
    let (status, _) = send(
        s.as_user(
            Method::PUT,
            &format!("/parse/classes/Secret/{secret}"),
            &cid_token,
        )
        .json(&json!({"n": 2})),
    )
    .await;
    assert_eq!(status, 200, "role members write too");

    // Membership changes count at once, for sessions already in use.
    let (status, _) =
        send(s.master(Method::PUT, &format!("/parse/roles/{mods}")).json(
            &json!({"users": {"__op": "RemoveRelation", "objects": [pointer("_User", &cid)]}}),
        ))
        .await;
    assert_eq!(status, 200);
    let mut seen = 1;
    for _ in 0..40 {
        seen = count(cid_token.clone()).await;
        if seen == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 0, "no longer a member");
}
