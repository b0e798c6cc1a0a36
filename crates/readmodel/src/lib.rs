//! Read models: the `ReadStore` trait the query side reads through, the `Commit` the projector
//! writes through, and the in-memory store used by the embedded stack. The projector is the only
//! writer of any store.

mod memory;
mod outcomes;
pub mod postgres;

use async_trait::async_trait;
use model::outcome::Outcome;
use model::query::Query;
use model::write::RelationDelta;
use model::{ClassSchema, Map, Object};
use uuid::Uuid;

pub use memory::MemoryStore;
pub use outcomes::Outcomes;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("read model unavailable: {0}")]
    Unavailable(String),
    #[error("read model database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The store refused the query itself (e.g. a regular expression too complex to run).
    #[error("{0}")]
    Refused(String),
    /// A commit wrote an object as created (`Change::PutObject::created`) whose id the store
    /// holds: the fold assumed the id new without looking (see `ProjectionStore::refuses_known_ids`).
    #[error("an object the commit creates already exists")]
    Exists,
    #[error("partition {partition} is at {found}, not at {expected}: another projector moved it")]
    Moved {
        partition: u32,
        expected: u64,
        found: u64,
    },
}

/// Reads, for the query side and for the projector's view of current state.
#[async_trait]
pub trait ReadStore: Send + Sync + 'static {
    async fn schema(&self, app: &str, class: &str) -> Result<Option<ClassSchema>, StoreError>;
    async fn get(
        &self,
        app: &str,
        class: &str,
        object_id: &str,
    ) -> Result<Option<Object>, StoreError>;
    /// The objects among `object_ids` that exist, in no particular order.
    async fn get_many(
        &self,
        app: &str,
        class: &str,
        object_ids: &[String],
    ) -> Result<Vec<Object>, StoreError>;
    /// Matching objects, ordered, with `skip` and `limit` applied.
    async fn find(&self, app: &str, class: &str, query: &Query) -> Result<Vec<Object>, StoreError>;
    /// How many objects match, ignoring `skip` and `limit`.
    async fn count(&self, app: &str, class: &str, query: &Query) -> Result<u64, StoreError>;
    /// Ids of the objects in `owner`'s relation `field`.
    async fn related(
        &self,
        app: &str,
        class: &str,
        field: &str,
        owner: &str,
    ) -> Result<Vec<String>, StoreError>;
    /// Ids of the objects whose relation `field` holds any of `targets`.
    async fn owners(
        &self,
        app: &str,
        class: &str,
        field: &str,
        targets: &[String],
    ) -> Result<Vec<String>, StoreError>;
    /// Every class schema of the app, by class name.
    async fn schemas(&self, app: &str) -> Result<Vec<ClassSchema>, StoreError>;
    /// The hourly counts of analytics event `name`, by hour then dimensions.
    async fn tracked(&self, app: &str, name: &str) -> Result<Vec<TrackedCount>, StoreError>;
    /// Tells a store that caches schemas that this class's schema has changed in the store
    /// (the caller saw the change committed).
    fn schema_changed(&self, _app: &str, _class: &str) {}
    /// Announcements of committed changes to sessions, users and roles, for processes that
    /// cache who a session token is (`None`: this store announces nothing).
    fn auth_changes(&self) -> Option<tokio::sync::broadcast::Receiver<AuthChange>> {
        None
    }
    /// The position in log partition `partition` of the last event folded into this store
    /// (0 for none).
    async fn position(&self, partition: u32) -> Result<u64, StoreError>;
}

/// The classes a session cache is made of.
pub const AUTH_CLASSES: &[&str] = &["_Session", "_User", "_Role"];

/// A committed change to an object of one of `AUTH_CLASSES` (`object_id: None`: to the whole
/// class; `class` empty: anything may have changed, as after a lost notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChange {
    pub app: String,
    pub class: String,
    pub object_id: Option<String>,
}

/// The announcements a commit's changes make.
pub fn auth_changes_of(changes: &[Change]) -> Vec<AuthChange> {
    let change = |app: &str, class: &str, id: Option<&str>| {
        AUTH_CLASSES.contains(&class).then(|| AuthChange {
            app: app.to_string(),
            class: class.to_string(),
            object_id: id.map(str::to_string),
        })
    };
    changes
        .iter()
        .filter_map(|c| match c {
            Change::PutObject {
                app, class, object, ..
            } => change(app, class, Some(object.object_id())),
            Change::DeleteObject {
                app,
                class,
                object_id,
            } => change(app, class, Some(object_id)),
            Change::Relation {
                app, class, owner, ..
            } => change(app, class, Some(owner)),
            Change::PurgeClass { app, class }
            | Change::DropClass { app, class }
            | Change::DropField { app, class, .. } => change(app, class, None),
            Change::PutSchema { .. } | Change::Tracked { .. } => None,
        })
        .collect()
}

/// One change to the read model.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    PutSchema {
        app: String,
        schema: ClassSchema,
    },
    PutObject {
        app: String,
        class: String,
        object: Object,
        /// No object had this id when the write was folded (it created the object): the
        /// store may insert without looking for a row to replace.
        created: bool,
    },
    DeleteObject {
        app: String,
        class: String,
        object_id: String,
    },
    Relation {
        app: String,
        class: String,
        owner: String,
        delta: RelationDelta,
    },
    /// Every object of the class deleted (with its relation memberships); the schema stays.
    PurgeClass {
        app: String,
        class: String,
    },
    /// A field deleted through the schema API: its value gone from every object of the class
    /// (and, for a Relation, every membership). The schema itself comes as a `PutSchema`.
    DropField {
        app: String,
        class: String,
        field: String,
    },
    /// An empty class deleted through the schema API: its schema is gone.
    DropClass {
        app: String,
        class: String,
    },
    /// One more analytics event `name` with these dimensions in this hour.
    Tracked {
        app: String,
        name: String,
        hour: String,
        dimensions: Map,
    },
}

/// How many analytics events of one name, with one set of dimensions, happened in one hour.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedCount {
    pub hour: String,
    pub dimensions: Map,
    pub count: u64,
}

impl Change {
    pub fn app(&self) -> &str {
        match self {
            Change::PutSchema { app, .. }
            | Change::PutObject { app, .. }
            | Change::DeleteObject { app, .. }
            | Change::Relation { app, .. }
            | Change::Tracked { app, .. }
            | Change::PurgeClass { app, .. }
            | Change::DropField { app, .. }
            | Change::DropClass { app, .. } => app,
        }
    }
}

/// Everything the projector folded from a run of events of one log partition, applied
/// atomically with the position of the last of them (so a restart resumes exactly after it)
/// and the outcome of each event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Commit {
    pub partition: u32,
    /// The partition's position before these events: a store that has moved past it since
    /// (another projector got there first) refuses the commit.
    pub since: u64,
    pub position: u64,
    pub changes: Vec<Change>,
    pub outcomes: Vec<(Uuid, Outcome)>,
    /// Whether the outcomes are announced to other processes (stored, they always are). Not
    /// when the projector's own process appended every event and is told of them directly:
    /// announcing is a good part of a commit's cost in PostgreSQL (measured: 18 % of its CPU
    /// under a create load), and no other process waits for them.
    pub announce: bool,
}

/// The projector's side of a store.
#[async_trait]
pub trait ProjectionStore: ReadStore {
    async fn commit(&self, commit: Commit) -> Result<(), StoreError>;

    /// Whether `commit` refuses, with `StoreError::Exists` and writing nothing, a created object
    /// whose id is already stored. The fold may then take the ids its creates name for new
    /// without reading them first, and fold again, reading them, in the rare case it was wrong.
    fn refuses_known_ids(&self) -> bool {
        false
    }

    /// Does ahead what writing `commit` takes without the database (by default, nothing), so
    /// that the projector can do it while the commit before is being written.
    fn prepare(&self, commit: Commit) -> Result<Prepared, StoreError> {
        Ok(Prepared(PreparedKind::Commit(commit)))
    }

    /// Writes what `prepare` made ready: exactly what `commit` does.
    async fn write(&self, prepared: Prepared) -> Result<(), StoreError> {
        match prepared.0 {
            PreparedKind::Commit(commit) => self.commit(commit).await,
            PreparedKind::Postgres(_) => Err(StoreError::Unavailable(
                "a commit prepared by another store".into(),
            )),
        }
    }
}

/// A commit made ready to write by `ProjectionStore::prepare`.
pub struct Prepared(PreparedKind);

enum PreparedKind {
    Commit(Commit),
    Postgres(Box<postgres::Prepared>),
}
