//! The PostgreSQL projection commit: a commit from a position the partition has left is
//! refused and writes nothing, whether it takes the one-statement way (creates and updates
//! only) or the general one. Needs PostgreSQL at `CHRONICLE_TEST_DATABASE_URL`.

use model::outcome::{Outcome, WriteResult};
use model::{ClassSchema, Object};
use readmodel::postgres::PgStore;
use readmodel::{Change, Commit, ProjectionStore, ReadStore, StoreError};
use serde_json::json;

const APP: &str = "app";

fn object(id: &str, n: i64) -> Object {
    let fields = json!({
        "objectId": id, "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:00.000Z", "n": n
    });
    match fields {
        serde_json::Value::Object(fields) => Object { fields },
        _ => unreachable!(),
    }
}

fn put(id: &str, n: i64) -> Change {
    Change::PutObject {
        app: APP.into(),
        class: "Thing".into(),
        object: object(id, n),
        created: false,
    }
}

fn applied(id: &str) -> (uuid::Uuid, Outcome) {
    let write = WriteResult {
        object_id: id.into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        results: Default::default(),
    };
    (
        uuid::Uuid::new_v4(),
        Outcome::Applied {
            writes: vec![write],
        },
    )
}

/// The change that makes the class `Thing`.
fn thing() -> Change {
    Change::PutSchema {
        app: APP.into(),
        schema: ClassSchema::new("Thing"),
    }
}

fn commit(since: u64, position: u64, changes: Vec<Change>, ids: &[&str]) -> Commit {
    Commit {
        partition: 0,
        since,
        position,
        changes,
        outcomes: ids.iter().map(|id| applied(id)).collect(),
        announce: true,
    }
}

async fn outcome_count(pool: &sqlx::PgPool, root: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM \"{root}\".outcomes"))
        .fetch_one(pool)
        .await
        .unwrap()
}

fn refused(r: Result<(), StoreError>, expected: u64, found: u64) {
    match r {
        Err(StoreError::Moved {
            partition: 0,
            expected: e,
            found: f,
        }) if (e, f) == (expected, found) => {}
        other => panic!("expected a refusal from {expected} (at {found}), got {other:?}"),
    }
}

/// A store on a fresh root schema, and a pool to look at it with.
struct Fresh {
    url: String,
    root: String,
    store: PgStore,
    pool: sqlx::PgPool,
}

impl Fresh {
    async fn new(prefix: &str) -> Fresh {
        let url = std::env::var("CHRONICLE_TEST_DATABASE_URL")
            .expect("CHRONICLE_TEST_DATABASE_URL must point at a PostgreSQL database");
        let root = format!(
            "{prefix}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let store = PgStore::connect(&url, &root, 2).await.unwrap();
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        Fresh {
            url,
            root,
            store,
            pool,
        }
    }

    async fn app_schema(&self) -> String {
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1 || '\\_%'")
            .bind(&self.root)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn drop(self) {
        for schema in [self.app_schema().await, self.root.clone()] {
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(&self.pool)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_commit_from_a_position_the_partition_left_is_refused_and_writes_nothing() {
    let fresh = Fresh::new("commit").await;
    let (store, pool, root) = (&fresh.store, &fresh.pool, &fresh.root);

    // The first commit makes the class (the general way); the second only creates (one
    // statement).
    store
        .commit(commit(0, 2, vec![thing(), put("a", 1)], &["a"]))
        .await
        .unwrap();
    store
        .commit(commit(2, 4, vec![put("b", 1), put("a", 2)], &["b", "a"]))
        .await
        .unwrap();
    assert_eq!(store.position(0).await.unwrap(), 4);
    assert_eq!(outcome_count(pool, root).await, 3);

    // A rival folded from 2 as well: refused, the one-statement way and the general way.
    refused(
        store
            .commit(commit(2, 5, vec![put("c", 1), put("a", 9)], &["c", "a"]))
            .await,
        2,
        4,
    );
    let delete = Change::DeleteObject {
        app: APP.into(),
        class: "Thing".into(),
        object_id: "b".into(),
    };
    refused(
        store
            .commit(commit(2, 5, vec![delete, put("d", 1)], &["d"]))
            .await,
        2,
        4,
    );
    // And one that thinks the partition is new.
    refused(
        store.commit(commit(0, 1, vec![put("e", 1)], &["e"])).await,
        0,
        4,
    );

    assert_eq!(store.position(0).await.unwrap(), 4);
    assert_eq!(outcome_count(pool, root).await, 3);
    for (id, n) in [
        ("a", Some(2)),
        ("b", Some(1)),
        ("c", None),
        ("d", None),
        ("e", None),
    ] {
        let got = store.get(APP, "Thing", id).await.unwrap();
        assert_eq!(
            got.and_then(|o| o.get("n").and_then(|v| v.as_i64())),
            n,
            "{id}"
        );
    }

    // The partition goes on from where it is.
    store
        .commit(commit(4, 6, vec![put("c", 3)], &["c"]))
        .await
        .unwrap();
    assert_eq!(store.position(0).await.unwrap(), 6);
    let c = store.get(APP, "Thing", "c").await.unwrap();
    assert_eq!(c.and_then(|o| o.get("n").and_then(|v| v.as_i64())), Some(3));
    fresh.drop().await;
}

#[tokio::test]
async fn a_read_model_of_an_older_layout_gets_the_current_indexes_at_start() {
    let mut fresh = Fresh::new("gin").await;
    fresh
        .store
        .commit(commit(0, 2, vec![thing(), put("a", 1)], &["a"]))
        .await
        .unwrap();
    let (pool, root) = (fresh.pool.clone(), fresh.root.clone());
    let app_schema = fresh.app_schema().await;
    let indexes = || {
        let (pool, app_schema) = (pool.clone(), app_schema.clone());
        async move {
            // Filtered here, not by SQL on `indexdef`: that could read the definitions of other
            // tests' indexes as they are dropped.
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT indexname::text, indexdef FROM pg_indexes \
                 WHERE schemaname = $1 AND tablename = 'Thing'",
            )
            .bind(&app_schema)
            .fetch_all(&pool)
            .await
            .unwrap();
            rows.into_iter()
                .filter(|(_, def)| def.contains("jsonb_path_ops"))
                .collect::<Vec<_>>()
        }
    };
    let now = indexes().await;
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, "Thing_fields");
    assert!(
        now[0].1.contains("'{objectId,createdAt,updatedAt}'"),
        "{now:?}"
    );

    // The layout of before: the whole of `data` indexed, the `_rperm` index with the server's
    // default pending list, the migrations not recorded.
    let rperm = format!("\"{app_schema}\".\"Thing_rperm\"");
    for stmt in [
        format!("DROP INDEX \"{app_schema}\".\"Thing_fields\""),
        format!(
            "CREATE INDEX \"Thing_data\" ON \"{app_schema}\".\"Thing\" USING gin (data jsonb_path_ops)"
        ),
        format!("ALTER INDEX {rperm} RESET (gin_pending_list_limit)"),
        format!(
            "DELETE FROM \"{root}\".migrations WHERE name IN ('gin_without_columns', 'rperm_pending_list')"
        ),
    ] {
        sqlx::query(&stmt).execute(&pool).await.unwrap();
    }
    assert!(index_options(&pool, &rperm).await.is_empty());
    // A process starting on it migrates it.
    fresh.store = PgStore::connect(&fresh.url, &root, 2).await.unwrap();
    let after = indexes().await;
    assert_eq!(
        after.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["Thing_fields"],
        "{after:?}"
    );
    assert_eq!(
        index_options(&pool, &rperm).await,
        ["gin_pending_list_limit=128"]
    );
    assert!(fresh.store.get(APP, "Thing", "a").await.unwrap().is_some());
    fresh.drop().await;
}

#[tokio::test]
async fn permissions_reach_their_columns_whatever_the_entries_hold() {
    let fresh = Fresh::new("perm").await;
    // Entries with the characters an array literal gives a meaning to.
    let readers = [
        "*",
        "role:a \"quoted\" b",
        "role:back\\slash",
        "u,{1}",
        "NULL",
        "",
    ];
    let mut acl = serde_json::Map::new();
    for r in readers {
        acl.insert(r.into(), json!({"read": true}));
    }
    acl.insert("w\"\\".into(), json!({"write": true}));
    let mut secured = object("s", 1);
    secured
        .fields
        .insert("ACL".into(), serde_json::Value::Object(acl));
    let schema = thing();
    // The general way makes the class; the one-statement way writes the object as created,
    // then as replaced.
    fresh
        .store
        .commit(commit(0, 1, vec![schema], &[]))
        .await
        .unwrap();
    for (since, created) in [(1, true), (2, false)] {
        let change = Change::PutObject {
            app: APP.into(),
            class: "Thing".into(),
            object: secured.clone(),
            created,
        };
        fresh
            .store
            .commit(commit(since, since + 1, vec![change], &["s"]))
            .await
            .unwrap();
        let (rperm, wperm): (Vec<String>, Vec<String>) = sqlx::query_as(&format!(
            "SELECT _rperm, _wperm FROM \"{}\".\"Thing\" WHERE object_id = 's'",
            fresh.app_schema().await
        ))
        .fetch_one(&fresh.pool)
        .await
        .unwrap();
        let mut got = rperm.clone();
        got.sort();
        let mut want: Vec<String> = readers.iter().map(|r| r.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{rperm:?}");
        assert_eq!(wperm, ["w\"\\"]);
    }
    fresh.drop().await;
}

/// `createdAt` and `updatedAt` are stored once, in their columns, whichever way a commit writes
/// the object, and every read puts them back; a row written while `data` still held them reads
/// the same.
#[tokio::test]
async fn the_timestamps_are_stored_in_their_columns_only_and_read_back() {
    let fresh = Fresh::new("stamps").await;
    let mut created = object("t", 1);
    created
        .fields
        .insert("updatedAt".into(), json!("2026-01-02T00:00:00.000Z"));
    let mut replaced = created.clone();
    replaced
        .fields
        .insert("updatedAt".into(), json!("2026-01-03T00:00:00.000Z"));
    replaced.fields.insert("n".into(), json!(2));
    let put = |object: &Object, created: bool| Change::PutObject {
        app: APP.into(),
        class: "Thing".into(),
        object: object.clone(),
        created,
    };
    let schema = thing();
    // The general way (with the schema), then the one-statement way (an upsert).
    let commits = [
        (vec![schema, put(&created, true)], &created),
        (vec![put(&replaced, false)], &replaced),
    ];
    for (since, (changes, expected)) in commits.into_iter().enumerate() {
        let since = since as u64;
        fresh
            .store
            .commit(commit(since, since + 1, changes, &["t"]))
            .await
            .unwrap();
        let (in_data, created_at, updated_at): (bool, String, String) = sqlx::query_as(&format!(
            "SELECT data ?| '{{createdAt,updatedAt}}', created_at, updated_at \
             FROM \"{}\".\"Thing\" WHERE object_id = 't'",
            fresh.app_schema().await
        ))
        .fetch_one(&fresh.pool)
        .await
        .unwrap();
        assert!(!in_data, "the timestamps are in data too");
        assert_eq!(created_at, expected.created_at());
        assert_eq!(updated_at, expected.updated_at());
        let got = fresh.store.get(APP, "Thing", "t").await.unwrap();
        assert_eq!(got.as_ref(), Some(expected));
        let many = fresh
            .store
            .get_many(APP, "Thing", &["t".to_string()])
            .await
            .unwrap();
        assert_eq!(many, vec![expected.clone()]);
        let found = fresh
            .store
            .find(APP, "Thing", &model::query::Query::default())
            .await
            .unwrap();
        assert_eq!(found, vec![expected.clone()]);
    }

    // A row from before: its data holds the timestamps as well.
    let old = object("old", 3);
    sqlx::query(&format!(
        "INSERT INTO \"{}\".\"Thing\" (object_id, created_at, updated_at, data, _rperm, _wperm) \
         VALUES ('old', $1, $2, $3, '{{*}}', '{{*}}')",
        fresh.app_schema().await
    ))
    .bind(old.created_at())
    .bind(old.updated_at())
    .bind(sqlx::types::Json(serde_json::Value::Object(
        old.fields.clone(),
    )))
    .execute(&fresh.pool)
    .await
    .unwrap();
    let got = fresh.store.get(APP, "Thing", "old").await.unwrap();
    assert_eq!(got, Some(old));
    fresh.drop().await;
}

#[tokio::test]
async fn outcomes_are_stored_always_and_announced_only_when_asked() {
    let fresh = Fresh::new("announce").await;
    let (store, pool, root) = (&fresh.store, &fresh.pool, &fresh.root);
    let mut listener = sqlx::postgres::PgListener::connect(&fresh.url)
        .await
        .unwrap();
    listener.listen(&store.outcome_channel()).await.unwrap();
    let schema = thing();
    // Unannounced: the general way (the first commit makes the class), then the one-statement
    // way (creates only), then announced, the one-statement way and the general way.
    let quiet = |c: Commit| Commit {
        announce: false,
        ..c
    };
    store
        .commit(quiet(commit(0, 1, vec![schema, put("a", 1)], &["a"])))
        .await
        .unwrap();
    store
        .commit(quiet(commit(1, 2, vec![put("b", 1)], &["b"])))
        .await
        .unwrap();
    store
        .commit(commit(2, 3, vec![put("c", 1)], &["c"]))
        .await
        .unwrap();
    let delete = Change::DeleteObject {
        app: APP.into(),
        class: "Thing".into(),
        object_id: "a".into(),
    };
    store
        .commit(commit(3, 4, vec![delete], &["a"]))
        .await
        .unwrap();
    assert_eq!(outcome_count(pool, root).await, 4);
    // Notifications arrive in commit order: the first two commits sent none.
    let mut heard = Vec::new();
    for _ in 0..2 {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
            .await
            .expect("an announced commit's notification")
            .unwrap();
        let carried: Vec<(uuid::Uuid, Outcome)> = serde_json::from_str(n.payload()).unwrap();
        for (_, outcome) in carried {
            if let Outcome::Applied { writes } = outcome {
                heard.extend(writes.into_iter().map(|w| w.object_id));
            }
        }
    }
    assert_eq!(heard, vec!["c".to_string(), "a".to_string()]);
    fresh.drop().await;
}

/// The pages in a GIN index's pending list (`pgstattuple`'s view of it, which merges nothing).
async fn pending_pages(pool: &sqlx::PgPool, index: &str) -> i64 {
    sqlx::query_scalar("SELECT pending_pages::bigint FROM pgstatginindex($1::regclass)")
        .bind(index)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The storage options of an index.
async fn index_options(pool: &sqlx::PgPool, index: &str) -> Vec<String> {
    sqlx::query_scalar::<_, Option<Vec<String>>>(
        "SELECT reloptions FROM pg_class WHERE oid = $1::regclass",
    )
    .bind(index)
    .fetch_one(pool)
    .await
    .unwrap()
    .unwrap_or_default()
}

/// Waits until no GIN index of `Thing` has a pending list; fails past `LIMIT`.
async fn pending_lists_merged(pool: &sqlx::PgPool, indexes: &[String]) {
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(20);
    let started = std::time::Instant::now();
    loop {
        let mut pending = Vec::new();
        for index in indexes {
            pending.push(pending_pages(pool, index).await);
        }
        if pending.iter().all(|&p| p == 0) {
            return;
        }
        assert!(
            started.elapsed() < LIMIT,
            "pending pages of {indexes:?} still {pending:?} after {LIMIT:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn commits_leave_no_gin_pending_list_behind() {
    let fresh = Fresh::new("pending").await;
    // Another test binary may be creating it at the same moment: then it exists.
    if sqlx::query("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .execute(&fresh.pool)
        .await
        .is_err()
    {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The general way (it makes the class), then the one-statement way.
    fresh
        .store
        .commit(commit(0, 2, vec![thing(), put("a", 1)], &["a"]))
        .await
        .unwrap();
    let app_schema = fresh.app_schema().await;
    let indexes = ["Thing_fields", "Thing_rperm"].map(|i| format!("\"{app_schema}\".\"{i}\""));
    for index in &indexes {
        assert_eq!(
            index_options(&fresh.pool, index).await,
            ["gin_pending_list_limit=128"],
            "{index}"
        );
    }
    pending_lists_merged(&fresh.pool, &indexes).await;
    let ids: Vec<String> = (0..200).map(|i| format!("o{i}")).collect();
    let puts = ids.iter().map(|id| put(id, 1)).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    fresh.store.commit(commit(2, 3, puts, &refs)).await.unwrap();
    pending_lists_merged(&fresh.pool, &indexes).await;
    fresh.drop().await;
}
