//! A property test of read permissions: random users, roles (with inheritance, cycles
//! allowed), a random class-level permission and random ACLs, then random queries as every
//! user and as the public; each answer must be exactly what a straightforward reading of the
//! rules allows (computed here, independently of the server's code). `CHRONICLE_TEST_SEED`
//! replays a run.

mod common;

use std::collections::BTreeSet;

use common::{send, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const USERS: usize = 5;
const ROLES: usize = 4;
const OBJECTS: usize = 30;

fn pointer(class: &str, id: &str) -> Value {
    json!({"__type": "Pointer", "className": class, "objectId": id})
}

/// The roles each user holds: direct membership, then every role whose child roles include
/// one already held (a role's `roles` lists the roles whose users inherit it).
fn held_roles(
    members: &[BTreeSet<usize>],
    children: &[BTreeSet<usize>],
    user: usize,
) -> BTreeSet<usize> {
    let mut held: BTreeSet<usize> = (0..ROLES).filter(|r| members[*r].contains(&user)).collect();
    loop {
        let more: Vec<usize> = (0..ROLES)
            .filter(|p| !held.contains(p) && children[*p].iter().any(|c| held.contains(c)))
            .collect();
        if more.is_empty() {
            return held;
        }
        held.extend(more);
    }
}

#[tokio::test]
async fn reads_return_exactly_what_the_rules_allow() {
    let seed = std::env::var("CHRONICLE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let seeds: Vec<u64> = match seed {
        Some(s) => vec![s],
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7);
            (0..4).map(|i| now.wrapping_mul(2 * i + 1) | 1).collect()
        }
    };
    for seed in seeds {
        one_world(seed).await;
    }
}

/// One random world (users, roles, permissions, objects) and its queries.
async fn one_world(seed: u64) {
    println!("permissions property: seed {seed} (replay with CHRONICLE_TEST_SEED={seed})");
    let mut rng = Rng(seed);
    let s = TestServer::start().await;

    // Users.
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..USERS {
        let (status, res) = s
            .post(
                "/parse/users",
                json!({"username": format!("u{i}"), "password": "pw"}),
            )
            .await;
        assert_eq!(status, 201, "{res}");
        ids.push(res["objectId"].as_str().unwrap().to_string());
        tokens.push(res["sessionToken"].as_str().unwrap().to_string());
    }
    // Roles: random members and child roles (created first, then related, so cycles happen).
    let members: Vec<BTreeSet<usize>> = (0..ROLES)
        .map(|_| (0..USERS).filter(|_| rng.chance(30)).collect())
        .collect();
    let children: Vec<BTreeSet<usize>> = (0..ROLES)
        .map(|r| (0..ROLES).filter(|c| *c != r && rng.chance(25)).collect())
        .collect();
    let mut role_ids = Vec::new();
    for (r, role_members) in members.iter().enumerate() {
        let users: Vec<Value> = role_members
            .iter()
            .map(|u| pointer("_User", &ids[*u]))
            .collect();
        let mut body = json!({"name": format!("R{r}"), "ACL": {"*": {"read": true}}});
        if !users.is_empty() {
            body["users"] = json!({"__op": "AddRelation", "objects": users});
        }
        let (status, res) = send(s.master(Method::POST, "/parse/roles").json(&body)).await;
        assert_eq!(status, 201, "{res}");
        role_ids.push(res["objectId"].as_str().unwrap().to_string());
    }
    for (r, kids) in children.iter().enumerate() {
        if kids.is_empty() {
            continue;
        }
        let objects: Vec<Value> = kids
            .iter()
            .map(|c| pointer("_Role", &role_ids[*c]))
            .collect();
        let (status, res) = send(
            s.master(Method::PUT, &format!("/parse/roles/{}", role_ids[r]))
                .json(&json!({"roles": {"__op": "AddRelation", "objects": objects}})),
        )
        .await;
        assert_eq!(status, 200, "{res}");
    }
    let roles_of: Vec<BTreeSet<usize>> = (0..USERS)
        .map(|u| held_roles(&members, &children, u))
        .collect();

    // The class's find permission: public, some users and roles, authenticated users, or
    // pointer permissions on `owner`.
    #[derive(Debug)]
    enum FindRule {
        Public,
        Groups(BTreeSet<usize>, BTreeSet<usize>),
        Authenticated,
        Owner,
    }
    let rule = match rng.below(4) {
        0 => FindRule::Public,
        1 => FindRule::Groups(
            (0..USERS).filter(|_| rng.chance(40)).collect(),
            (0..ROLES).filter(|_| rng.chance(40)).collect(),
        ),
        2 => FindRule::Authenticated,
        _ => FindRule::Owner,
    };
    let find_clp = match &rule {
        FindRule::Public => json!({"*": true}),
        FindRule::Groups(users, roles) => {
            let mut m = serde_json::Map::new();
            for u in users {
                m.insert(ids[*u].clone(), json!(true));
            }
            for r in roles {
                m.insert(format!("role:R{r}"), json!(true));
            }
            Value::Object(m)
        }
        FindRule::Authenticated => json!({"requiresAuthentication": true}),
        FindRule::Owner => json!({"pointerFields": ["owner"]}),
    };
    let (status, res) = send(s.master(Method::POST, "/parse/schemas/Thing").json(&json!({
        "className": "Thing",
        "fields": {"n": {"type": "Number"}, "owner": {"type": "Pointer", "targetClass": "_User"}},
        "classLevelPermissions": {"find": find_clp, "get": {"*": true}, "create": {"*": true}}
    })))
    .await;
    assert_eq!(status, 200, "{res}");

    // Objects with random ACLs and owners.
    struct Thing {
        id: String,
        n: i64,
        owner: usize,
        acl: Option<(bool, BTreeSet<usize>, BTreeSet<usize>)>,
    }
    let mut things = Vec::new();
    for _ in 0..OBJECTS {
        let n = rng.below(5) as i64;
        let owner = rng.below(USERS);
        let acl = (!rng.chance(15)).then(|| {
            (
                rng.chance(25),
                (0..USERS)
                    .filter(|_| rng.chance(25))
                    .collect::<BTreeSet<_>>(),
                (0..ROLES)
                    .filter(|_| rng.chance(25))
                    .collect::<BTreeSet<_>>(),
            )
        });
        let mut body = json!({"n": n, "owner": pointer("_User", &ids[owner])});
        if let Some((public, users, roles)) = &acl {
            let mut m = serde_json::Map::new();
            if *public {
                m.insert("*".into(), json!({"read": true}));
            }
            for u in users {
                m.insert(ids[*u].clone(), json!({"read": true}));
            }
            for r in roles {
                m.insert(format!("role:R{r}"), json!({"read": true}));
            }
            body["ACL"] = Value::Object(m);
        }
        let (status, res) = send(s.master(Method::POST, "/parse/classes/Thing").json(&body)).await;
        assert_eq!(status, 201, "{res}");
        things.push(Thing {
            id: res["objectId"].as_str().unwrap().to_string(),
            n,
            owner,
            acl,
        });
    }

    // Queries as each user and as the public.
    let mut compared = 0;
    for caller in (0..=USERS).map(|c| (c < USERS).then_some(c)) {
        for _ in 0..6 {
            let n = rng.below(6) as i64; // 5 matches nothing
            let filter_n = rng.chance(60);
            let mut rb = s
                .req(Method::GET, "/parse/classes/Thing")
                .query(&[("limit", "1000")]);
            if filter_n {
                rb = rb.query(&[("where", json!({"n": {"$gte": n}}).to_string())]);
            }
            if let Some(u) = caller {
                rb = rb.header("X-Parse-Session-Token", &tokens[u]);
            }
            let (status, res) = send(rb).await;

            let roles = caller.map(|u| roles_of[u].clone()).unwrap_or_default();
            let allowed = match &rule {
                FindRule::Public | FindRule::Owner => true,
                FindRule::Authenticated => caller.is_some(),
                FindRule::Groups(users, rs) => {
                    caller.is_some_and(|u| users.contains(&u))
                        || rs.iter().any(|r| roles.contains(r))
                }
            };
            let context = format!("seed {seed}, caller {caller:?}, rule {rule:?}, roles {roles:?}");
            if !allowed {
                let expected = if matches!(rule, FindRule::Authenticated) {
                    404
                } else {
                    400
                };
                assert_eq!(status, expected, "{context}: {res}");
                continue;
            }
            assert_eq!(status, 200, "{context}: {res}");
            let expected: BTreeSet<&str> = things
                .iter()
                .filter(|t| !filter_n || t.n >= n)
                .filter(|t| !matches!(rule, FindRule::Owner) || caller == Some(t.owner))
                .filter(|t| match &t.acl {
                    None => true,
                    Some((public, users, rs)) => {
                        *public
                            || caller.is_some_and(|u| users.contains(&u))
                            || rs.iter().any(|r| roles.contains(r))
                    }
                })
                .map(|t| t.id.as_str())
                .collect();
            let got: BTreeSet<&str> = res["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|o| o["objectId"].as_str())
                .collect();
            assert_eq!(got, expected, "{context}");
            compared += 1;
        }
    }
    // A public find always answers, so every world compares something unless all is closed.
    assert!(compared > 0 || !matches!(rule, FindRule::Public | FindRule::Owner));
}
