//! On PostgreSQL the projector takes the ids a batch creates for new without reading them, and
//! the store refuses a commit that creates an id it holds. A create naming a stored id must
//! still be refused (137) and change nothing, its batch's other events applied once, whether
//! the projector is catching up or following the log with a client waiting. Needs PostgreSQL
//! at `CHRONICLE_TEST_DATABASE_URL`.

use std::sync::Arc;
use std::time::Duration;

use events::{Actor, Event, EventLog, Origin, SqliteLog, Write, WriteKind};
use projector::{Outcome, Projector};
use readmodel::postgres::PgStore;
use readmodel::{Outcomes, ProjectionStore, ReadStore};
use serde_json::json;

fn create(id: &str, n: i64) -> Event {
    let origin = Origin {
        app: "app".into(),
        at: "2026-01-01T00:00:00.000Z".into(),
        actor: Actor::master(),
        request_id: None,
    };
    let ops = json!({ "n": n }).as_object().cloned().unwrap_or_default();
    Event::object(
        origin,
        Write {
            kind: WriteKind::Create,
            class: "Thing".into(),
            object_id: id.into(),
            ops,
            internal: Default::default(),
        },
    )
}

async fn n_of(store: &PgStore, id: &str) -> Option<i64> {
    let object = store.get("app", "Thing", id).await.unwrap();
    object.and_then(|o| o.get("n").and_then(|v| v.as_i64()))
}

fn code(outcome: &Outcome) -> Option<i32> {
    match outcome {
        Outcome::Rejected { error, .. } => Some(error.code),
        Outcome::Applied { .. } => None,
    }
}

#[tokio::test]
async fn a_create_of_a_stored_id_is_refused_and_its_batch_applied_once() {
    let url = std::env::var("CHRONICLE_TEST_DATABASE_URL")
        .expect("CHRONICLE_TEST_DATABASE_URL must point at a PostgreSQL database");
    let root = format!("ids_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let store = Arc::new(PgStore::connect(&url, &root, 2).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteLog::open(&dir.path().join("log.sqlite"))
            .await
            .unwrap(),
    );
    let projector = |hub: Option<Arc<Outcomes>>| {
        let (log, store) = (log.clone(), store.clone());
        async move {
            Projector::new(
                log.reader(0).await.unwrap(),
                store as Arc<dyn ProjectionStore>,
                hub,
            )
        }
    };

    // Catching up: "x" is stored by the first batch; the second creates it again between
    // two new objects.
    log.append(vec![create("x", 1)]).await.unwrap();
    assert_eq!(projector(None).await.catch_up().await.unwrap(), 1);
    let again = create("x", 2);
    let again_id = again.id;
    log.append(vec![create("y", 1), again, create("z", 1)])
        .await
        .unwrap();
    assert_eq!(projector(None).await.catch_up().await.unwrap(), 4);
    assert_eq!(n_of(&store, "x").await, Some(1));
    assert_eq!(n_of(&store, "y").await, Some(1));
    assert_eq!(n_of(&store, "z").await, Some(1));
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let recorded: serde_json::Value = sqlx::query_scalar(&format!(
        "SELECT outcome FROM \"{root}\".outcomes WHERE event_id = $1"
    ))
    .bind(again_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(recorded["error"]["code"], 137, "{recorded}");

    // Following the log: the refused commit is the last thing in it, and the waiting client
    // learns the outcome without another event coming to wake the projector.
    let hub = Arc::new(Outcomes::new());
    let mut follower = projector(Some(hub.clone())).await;
    let following = tokio::spawn(async move { follower.run().await });
    let duplicate = create("y", 5);
    let waiting = hub.wait_for(duplicate.id);
    log.append(vec![duplicate]).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the outcome of a refused create arrives")
        .unwrap();
    assert_eq!(code(&outcome), Some(137), "{outcome:?}");
    let fresh = create("w", 7);
    let waiting = hub.wait_for(fresh.id);
    log.append(vec![fresh]).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code(&outcome), None, "{outcome:?}");
    following.abort();
    assert_eq!(n_of(&store, "y").await, Some(1));
    assert_eq!(n_of(&store, "w").await, Some(7));
    assert_eq!(store.position(0).await.unwrap(), 6);

    let app_schema: String = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1 || '\\_%'",
    )
    .bind(&root)
    .fetch_one(&pool)
    .await
    .unwrap();
    for schema in [&app_schema, &root] {
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&pool)
            .await
            .unwrap();
    }
}
