//! The projector's fold: deterministic (two folds of one log give identical read models),
//! all-or-nothing for transactions, and deciding races the command side cannot see.

use std::sync::Arc;

use events::{Actor, Event, EventLog, Origin, SqliteLog, Write, WriteKind};
use projector::{Outcome, Projector};
use readmodel::{MemoryStore, Outcomes, ProjectionStore, ReadStore};
use serde_json::{json, Map, Value};

fn origin(n: u32) -> Origin {
    Origin {
        app: "app".into(),
        at: format!("2024-01-01T00:00:{:02}.000Z", n % 60),
        actor: Actor::master(),
        request_id: None,
    }
}

fn write(kind: WriteKind, class: &str, id: &str, ops: Value) -> Write {
    let ops: Map<String, Value> = ops.as_object().cloned().unwrap_or_default();
    Write {
        kind,
        class: class.into(),
        object_id: id.into(),
        ops,
        internal: Default::default(),
    }
}

async fn fold_into_new_store(log: Arc<dyn EventLog>) -> (Arc<MemoryStore>, u64) {
    let store = Arc::new(MemoryStore::new());
    let mut p = Projector::new(
        log.reader(0).await.unwrap(),
        store.clone() as Arc<dyn ProjectionStore>,
        None,
    );
    let pos = p.catch_up().await.unwrap();
    (store, pos)
}

#[tokio::test]
async fn folding_is_deterministic_and_transactions_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteLog::open(&dir.path().join("log.sqlite"))
            .await
            .unwrap(),
    );
    let mut events = vec![
        Event::object(
            origin(1),
            write(WriteKind::Create, "A", "a1", json!({"n": 1, "tags": ["x"]})),
        ),
        Event::object(
            origin(2),
            write(
                WriteKind::Update,
                "A",
                "a1",
                json!({"n": {"__op": "Increment", "amount": 4}}),
            ),
        ),
        // Update of an object that does not exist: rejected with 101.
        Event::object(
            origin(3),
            write(WriteKind::Update, "A", "missing", json!({"n": 1})),
        ),
        // A transaction whose second write conflicts: nothing of it applies.
        Event::transaction(
            origin(4),
            vec![
                write(WriteKind::Create, "A", "a2", json!({"n": 2})),
                write(WriteKind::Update, "A", "a1", json!({"n": "text"})),
            ],
        ),
        Event::transaction(
            origin(5),
            vec![
                write(
                    WriteKind::Create,
                    "B",
                    "b1",
                    json!({"ref": {"__type": "Pointer", "className": "A", "objectId": "a1"}}),
                ),
                write(
                    WriteKind::Update,
                    "A",
                    "a1",
                    json!({"tags": {"__op": "AddUnique", "objects": ["y", "x"]}}),
                ),
            ],
        ),
        Event::object(
            origin(6),
            write(
                WriteKind::Create,
                "A",
                "a3",
                json!({"likes": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "B", "objectId": "b1"}]}}),
            ),
        ),
        Event::object(origin(7), write(WriteKind::Delete, "B", "b1", json!({}))),
    ];
    let ids: Vec<_> = events.iter().map(|e| e.id).collect();
    log.append(std::mem::take(&mut events)).await.unwrap();

    // Outcomes, as a waiting request sees them.
    let store = Arc::new(MemoryStore::new());
    let outcomes = Arc::new(Outcomes::new());
    let waits: Vec<_> = ids.iter().map(|id| outcomes.wait_for(*id)).collect();
    let mut p = Projector::new(
        log.reader(0).await.unwrap(),
        store.clone() as Arc<dyn ProjectionStore>,
        Some(outcomes),
    );
    assert_eq!(p.catch_up().await.unwrap(), 7);
    let mut got = Vec::new();
    for w in waits {
        got.push(w.await.unwrap());
    }
    match &got[1] {
        Outcome::Applied { writes: r } => assert_eq!(r[0].results["n"], json!(5)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(&got[2], Outcome::Rejected { index: 0, error } if error.code == 101));
    assert!(matches!(&got[3], Outcome::Rejected { index: 1, error } if error.code == 111));
    assert!(matches!(&got[4], Outcome::Applied { writes: r } if r.len() == 2));

    assert!(
        store.get("app", "A", "a2").await.unwrap().is_none(),
        "a rejected transaction applied a write"
    );
    let a1 = store.get("app", "A", "a1").await.unwrap().unwrap();
    assert_eq!(a1.fields["n"], json!(5));
    assert_eq!(a1.fields["tags"], json!(["x", "y"]));
    assert_eq!(a1.fields["updatedAt"], json!("2024-01-01T00:00:05.000Z"));
    assert!(store.get("app", "B", "b1").await.unwrap().is_none());
    assert_eq!(
        store.related("app", "A", "likes", "a3").await.unwrap(),
        vec!["b1".to_string()]
    );

    // Fold the same log again, twice, in batches of different sizes: same read model.
    let (again, _) = fold_into_new_store(log.clone()).await;
    assert_eq!(store.snapshot(), again.snapshot());
    assert!(!store.snapshot().is_empty());
}

#[tokio::test]
async fn a_purge_empties_the_class_for_the_events_after_it_in_the_same_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteLog::open(&dir.path().join("log.sqlite"))
            .await
            .unwrap(),
    );
    let rel = json!({"likes": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "B", "objectId": "b1"}]}});
    log.append(vec![
        Event::object(
            origin(1),
            write(WriteKind::Create, "A", "a1", json!({"n": 1})),
        ),
        Event::object(origin(2), write(WriteKind::Update, "A", "a1", rel)),
        Event::object(
            origin(3),
            write(WriteKind::Create, "B", "b1", json!({"n": 1})),
        ),
        Event::purge(origin(4), "A"),
        // After the purge, in the same batch: a1 is gone, a new object lands, B is untouched.
        Event::object(
            origin(5),
            write(WriteKind::Update, "A", "a1", json!({"n": 2})),
        ),
        Event::object(
            origin(6),
            write(WriteKind::Create, "A", "a2", json!({"n": "no"})),
        ),
        Event::object(
            origin(7),
            write(WriteKind::Create, "A", "a3", json!({"n": 3})),
        ),
    ])
    .await
    .unwrap();
    let (store, _) = fold_into_new_store(log).await;
    assert!(store.get("app", "A", "a1").await.unwrap().is_none());
    // The schema survives the purge: `n` is still a Number.
    assert!(store.get("app", "A", "a2").await.unwrap().is_none());
    assert!(store.get("app", "A", "a3").await.unwrap().is_some());
    assert!(store.get("app", "B", "b1").await.unwrap().is_some());
    assert!(store
        .related("app", "A", "likes", "a1")
        .await
        .unwrap()
        .is_empty());
    let snapshot = store.snapshot();
    assert!(!snapshot.contains("A/a1"), "{snapshot}");
}

#[tokio::test]
async fn deleted_fields_and_classes_are_gone_for_the_events_after_them_in_the_same_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteLog::open(&dir.path().join("log.sqlite"))
            .await
            .unwrap(),
    );
    let delete_f = json!({"fields": {"f": {"__op": "Delete"}}});
    let events = vec![
        Event::object(
            origin(1),
            write(WriteKind::Create, "A", "a1", json!({"f": 1, "g": 1})),
        ),
        Event::schema(origin(2), "A", delete_f),
        // a1 does not have f any more: the increment starts from nothing.
        Event::object(
            origin(3),
            write(
                WriteKind::Update,
                "A",
                "a1",
                json!({"f": {"__op": "Increment", "amount": 5}}),
            ),
        ),
        Event::object(
            origin(4),
            write(WriteKind::Create, "A", "a2", json!({"h": 1})),
        ),
        // Refused: A has objects.
        Event::schema_deleted(origin(5), "A"),
        Event::object(origin(6), write(WriteKind::Delete, "A", "a1", json!({}))),
        Event::object(origin(7), write(WriteKind::Delete, "A", "a2", json!({}))),
        // A is empty now: deleted, then created again with other types.
        Event::schema_deleted(origin(8), "A"),
        Event::object(
            origin(9),
            write(WriteKind::Create, "A", "a3", json!({"f": true})),
        ),
    ];
    let outcomes = Arc::new(Outcomes::new());
    let waits: Vec<_> = events.iter().map(|e| outcomes.wait_for(e.id)).collect();
    log.append(events).await.unwrap();
    let memory = Arc::new(MemoryStore::new());
    let mut p = Projector::new(
        log.reader(0).await.unwrap(),
        memory.clone() as Arc<dyn ProjectionStore>,
        Some(outcomes),
    );
    p.catch_up().await.unwrap();
    check_fields_and_classes_deleted(memory.as_ref()).await;
    // PostgreSQL applies a commit's net effect in its own order: the same log must give the
    // same state there.
    let pg = PgScratch::new().await;
    let mut p = Projector::new(
        log.reader(0).await.unwrap(),
        pg.store.clone() as Arc<dyn ProjectionStore>,
        None,
    );
    p.catch_up().await.unwrap();
    check_fields_and_classes_deleted(pg.store.as_ref()).await;
    pg.drop().await;
    let mut applied = Vec::new();
    for (i, w) in waits.into_iter().enumerate() {
        let outcome = w.await.unwrap();
        if i == 2 {
            let Outcome::Applied { writes } = &outcome else {
                panic!("{outcome:?}")
            };
            assert_eq!(writes[0].results["f"], json!(5));
        }
        applied.push(matches!(outcome, Outcome::Applied { .. }));
    }
    assert_eq!(
        applied,
        vec![true, true, true, true, false, true, true, true, true]
    );
}

async fn check_fields_and_classes_deleted(store: &dyn ReadStore) {
    let a = store.schema("app", "A").await.unwrap().unwrap();
    assert_eq!(a.fields["f"], model::FieldType::Boolean);
    assert!(!a.fields.contains_key("g"), "{a:?}");
    let a3 = store.get("app", "A", "a3").await.unwrap().unwrap();
    assert_eq!(a3.fields["f"], json!(true));
    for gone in ["a1", "a2"] {
        assert!(store.get("app", "A", gone).await.unwrap().is_none());
    }
}

/// A PostgreSQL read model in schemas of its own (`CHRONICLE_TEST_DATABASE_URL`).
struct PgScratch {
    store: Arc<readmodel::postgres::PgStore>,
    root: String,
}

impl PgScratch {
    async fn new() -> PgScratch {
        let url = std::env::var("CHRONICLE_TEST_DATABASE_URL")
            .expect("CHRONICLE_TEST_DATABASE_URL must point at a PostgreSQL database");
        let root = format!("fold_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let store = readmodel::postgres::PgStore::connect(&url, &root, 2)
            .await
            .unwrap();
        PgScratch {
            store: Arc::new(store),
            root,
        }
    }

    async fn drop(self) {
        let schemas: Vec<String> =
            sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1")
                .bind(format!("{}%", self.root))
                .fetch_all(self.store.pool())
                .await
                .unwrap();
        for s in schemas {
            sqlx::query(&format!("DROP SCHEMA \"{s}\" CASCADE"))
                .execute(self.store.pool())
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn a_deleted_field_is_stripped_from_objects_the_next_batch_reads_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteLog::open(&dir.path().join("log.sqlite"))
            .await
            .unwrap(),
    );
    let store = Arc::new(MemoryStore::new());
    let mut p = Projector::new(
        log.reader(0).await.unwrap(),
        store.clone() as Arc<dyn ProjectionStore>,
        None,
    );
    log.append(vec![Event::object(
        origin(1),
        write(WriteKind::Create, "A", "a1", json!({"f": 1, "g": 1})),
    )])
    .await
    .unwrap();
    p.catch_up().await.unwrap();
    log.append(vec![
        Event::schema(origin(2), "A", json!({"fields": {"f": {"__op": "Delete"}}})),
        Event::object(
            origin(3),
            write(WriteKind::Update, "A", "a1", json!({"g": 2})),
        ),
    ])
    .await
    .unwrap();
    p.catch_up().await.unwrap();
    let a1 = store.get("app", "A", "a1").await.unwrap().unwrap();
    assert!(!a1.fields.contains_key("f"), "{:?}", a1.fields);
    assert_eq!(a1.fields["g"], json!(2));
}

/// Batches folded one after the other with none committed (as the projector folds the next
/// while the previous commits): the purge and the deleted field of the first hold for the
/// objects the second reads from the store, which still has them.
#[tokio::test]
async fn an_uncommitted_batch_s_purge_and_deleted_fields_hold_for_the_next_batch() {
    let store = MemoryStore::new();
    let stored = |position: u64, event: Event| events::StoredEvent {
        position,
        event,
        local: false,
    };
    // An object event at `position`, its time taken from it.
    let object = |position: u64, kind: WriteKind, class: &str, id: &str, ops: Value| {
        let event = Event::object(origin(position as u32), write(kind, class, id, ops));
        stored(position, event)
    };
    let seed = [
        object(1, WriteKind::Create, "A", "a1", json!({"n": 1})),
        object(2, WriteKind::Create, "B", "b1", json!({"f": 1, "g": 1})),
    ];
    let (commit, _) = projector::fold_batch(&store, 0, 0, None, &seed, false)
        .await
        .unwrap();
    store.commit(commit).await.unwrap();

    let first = [
        stored(3, Event::purge(origin(3), "A")),
        stored(
            4,
            Event::schema(origin(4), "B", json!({"fields": {"f": {"__op": "Delete"}}})),
        ),
    ];
    let (_, pending) = projector::fold_batch(&store, 0, 2, None, &first, false)
        .await
        .unwrap();
    let second = [
        object(5, WriteKind::Update, "A", "a1", json!({"n": 2})),
        object(6, WriteKind::Update, "B", "b1", json!({"g": 2})),
        stored(7, Event::schema_deleted(origin(7), "A")),
    ];
    let (commit, _) = projector::fold_batch(&store, 0, 4, Some(&pending), &second, false)
        .await
        .unwrap();
    let outcomes: Vec<&Outcome> = commit.outcomes.iter().map(|(_, o)| o).collect();
    assert!(
        matches!(outcomes[0], Outcome::Rejected { error, .. } if error.code == 101),
        "a purged object is not there to update: {outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], Outcome::Applied { .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[2], Outcome::Applied { .. }),
        "a purged class is empty, so it may be deleted: {outcomes:?}"
    );
    let b1 = commit.changes.iter().find_map(|c| match c {
        readmodel::Change::PutObject { object, .. } if object.object_id() == "b1" => Some(object),
        _ => None,
    });
    let b1 = b1.expect("b1 is written");
    assert!(!b1.fields.contains_key("f"), "{:?}", b1.fields);
    assert_eq!(b1.fields["g"], json!(2));
}
