//! The PostgreSQL read model of the distributed stack.
//!
//! Layout (all names derived from `root`, `chronicle` by default):
//! - `"<root>".positions(partition, position)`: how far each log partition is folded;
//! - `"<root>".outcomes(event_id, partition, position, outcome)`: the projector's decision per
//!   event, also sent with `NOTIFY "<root>_outcomes"` so waiting command-api processes learn it;
//! - one schema per app, `"<root>_<first 16 hex digits of sha256(app id)>"`, holding `_schema(class, schema)`,
//!   `_join(class, field, owner, target)` (relations) and one table per class:
//!   `(object_id PK, created_at, updated_at, data jsonb, _rperm text[], _wperm text[])` with
//!   btree indexes on the timestamps and GIN indexes on `data` without the keys that are also
//!   columns (jsonb_path_ops) and on `_rperm`. `data` holds every field but `objectId`,
//!   `createdAt` and `updatedAt`, which are only in their columns (rows written before may
//!   still hold them).
//!
//! The projector's commit is one transaction: changes, outcomes and the partition's position.

mod listen;
mod pending_lists;
mod regex_pg;
mod sql;

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use model::outcome::Outcome;
use model::query::Query;
use model::{ClassSchema, Object};
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

use crate::{Change, Commit, ProjectionStore, ReadStore, StoreError, TrackedCount};

pub use listen::{spawn_outcome_listener, spawn_schema_listener};

/// Quotes an identifier. Class names are validated before they get here; quoting keeps even a
/// hostile name inert.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How long a pooled connection may sit idle and still be used without a ping first.
const IDLE_BEFORE_PING: std::time::Duration = std::time::Duration::from_secs(1);

/// What a read selects of an object's row: `data` holds every field but the id and the two
/// timestamps, which are only in their columns (written once per row, not twice).
const OBJECT_COLUMNS: &str = "data, object_id, created_at, updated_at";

/// An object's row as `OBJECT_COLUMNS` selects it.
type ObjectRow = (Value, String, String, String);

/// Rows of `OBJECT_COLUMNS` as objects, the id and the timestamps put back among the fields.
fn objects(rows: Vec<ObjectRow>) -> Vec<Object> {
    rows.into_iter()
        .filter_map(|(data, id, created, updated)| match data {
            Value::Object(mut fields) => {
                fields.insert("objectId".into(), Value::String(id));
                fields.insert("createdAt".into(), Value::String(created));
                fields.insert("updatedAt".into(), Value::String(updated));
                Some(Object { fields })
            }
            _ => None,
        })
        .collect()
}

/// PostgreSQL refusing a query for what it asks (an invalid or too complex regular expression)
/// rather than failing: the client's mistake, not the server's.
fn refused(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d)
            if matches!(d.code().as_deref(), Some("2201B") | Some("54001")) =>
        {
            StoreError::Refused(d.message().to_string())
        }
        _ => e.into(),
    }
}

/// Whether an error means "the schema or table does not exist (yet)".
fn is_missing(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("42P01") | Some("3F000")))
}

pub struct PgStore {
    pool: PgPool,
    root: String,
    /// Whether `btree_gin` is available: then each declared index gets a GIN companion over
    /// its first key and `_rperm` (see `sync_indexes`).
    acl_indexes: std::sync::atomic::AtomicBool,
    /// Where the auth listener announces committed session, user and role changes.
    auth: tokio::sync::broadcast::Sender<crate::AuthChange>,
    /// Apps and classes whose tables this process has seen committed: DDL is skipped for them.
    known: dashmap::DashSet<String>,
    /// Class schemas read before; only existing classes are kept. Entries go when this
    /// process commits a change to them or another process announces one on
    /// `<root>_schemas` (see `listen`), so a schema is never older than that notification.
    schemas: dashmap::DashMap<(String, String), ClassSchema>,
    /// Whether the schema listener runs (set by `listen::spawn_schema_listener`).
    schema_listening: std::sync::atomic::AtomicBool,
    /// Bumped by every forget: a schema read while a change was announced is not kept.
    schema_generation: std::sync::atomic::AtomicU64,
    /// Merges the GIN pending lists of the tables commits write to, off the commit path.
    pending_lists: pending_lists::PendingLists,
}

/// `_rperm`/`_wperm` from a REST ACL: who may read, who may write. An object without an ACL is
/// everyone's: `["*"]`, not NULL, so that a reader's filter is the one GIN-indexable
/// `_rperm && $entries` (PostgreSQL then ANDs its bitmap with the query's index and reads only
/// the rows the reader may see).
pub fn permissions(data: &model::Map) -> (Vec<String>, Vec<String>) {
    let Some(acl) = data.get("ACL").and_then(Value::as_object) else {
        return (vec!["*".to_string()], vec!["*".to_string()]);
    };
    let with = |perm: &str| {
        acl.iter()
            .filter(|(_, p)| p.get(perm) == Some(&Value::Bool(true)))
            .map(|(who, _)| who.clone())
            .collect::<Vec<_>>()
    };
    (with("read"), with("write"))
}

impl PgStore {
    /// Connects and creates the root tables if needed. `root` must be a plain lowercase name.
    pub async fn connect(
        url: &str,
        root: &str,
        max_connections: u32,
    ) -> Result<PgStore, StoreError> {
        if root.is_empty()
            || root.len() > 40
            || !root
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(StoreError::Unavailable(format!(
                "invalid read model schema name {root:?}"
            )));
        }
        // No JIT: its compile time dwarfs the short queries a Parse API runs. (Field names are
        // bind parameters, so only a custom plan can match the expressions of the schema API's
        // indexes; PostgreSQL's default plan cache mode keeps custom plans exactly where the
        // generic one would be worse, as measured in docs/benchmarks.md.)
        let options = url
            .parse::<sqlx::postgres::PgConnectOptions>()?
            .options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // sqlx pings a connection (a round trip) each time it leaves the pool; one used a
            // moment ago is taken as it is (a dead one fails its query and is dropped), one
            // idle for longer is checked first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        let store = PgStore {
            pending_lists: pending_lists::PendingLists::start(pool.clone(), root.to_string()),
            pool,
            root: root.to_string(),
            acl_indexes: Default::default(),
            auth: tokio::sync::broadcast::channel(1024).0,
            known: Default::default(),
            schemas: Default::default(),
            schema_listening: Default::default(),
            schema_generation: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// The NOTIFY channel outcomes are announced on.
    /// The NOTIFY channel schema changes are announced on (payload `<app>\n<class>`).
    pub fn schema_channel(&self) -> String {
        format!("{}_schemas", self.root)
    }

    /// The NOTIFY channel session, user and role changes are announced on (payload
    /// `<app>\n<class>[\n<objectId>]`).
    pub fn auth_channel(&self) -> String {
        format!("{}_auth", self.root)
    }

    /// Passes an announcement on to this process's session caches.
    pub(crate) fn announce(&self, change: crate::AuthChange) {
        let _ = self.auth.send(change);
    }

    /// Forgets cached schemas: one class's, or all of them (`None`, after a lost listener
    /// connection, when notifications may have been missed).
    pub fn forget_schema(&self, which: Option<(&str, &str)>) {
        self.schema_generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        match which {
            Some((app, class)) => {
                self.schemas.remove(&(app.to_string(), class.to_string()));
            }
            None => self.schemas.clear(),
        }
    }

    pub fn outcome_channel(&self) -> String {
        format!("{}_outcomes", self.root)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let r = ident(&self.root);
        let mut tx = self.pool.begin().await?;
        // Several processes may start at once; one migrates at a time.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('chronicle.migrate'))")
            .execute(&mut *tx)
            .await?;
        for stmt in [
            format!("CREATE SCHEMA IF NOT EXISTS {r}"),
            format!("CREATE TABLE IF NOT EXISTS {r}.positions (partition int PRIMARY KEY, position bigint NOT NULL)"),
            format!(
                "CREATE TABLE IF NOT EXISTS {r}.outcomes (event_id uuid PRIMARY KEY, partition int NOT NULL, \
                 position bigint NOT NULL, outcome jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())"
            ),
            format!("CREATE TABLE IF NOT EXISTS {r}.migrations (name text PRIMARY KEY)"),
        ] {
            sqlx::query(&stmt).execute(&mut *tx).await?;
        }
        self.migrate_classes(&mut tx).await?;
        // btree_gin ships with PostgreSQL's contrib and is a trusted extension; without it
        // (or the right to create it) queries are still right, users' ones just read more rows.
        // Under the migration lock, so processes starting together do not race to create it;
        // in a savepoint, so that a refusal leaves the migration standing.
        sqlx::query("SAVEPOINT btree_gin").execute(&mut *tx).await?;
        match sqlx::query("CREATE EXTENSION IF NOT EXISTS btree_gin")
            .execute(&mut *tx)
            .await
        {
            Ok(_) => {
                sqlx::query("RELEASE SAVEPOINT btree_gin")
                    .execute(&mut *tx)
                    .await?;
                self.acl_indexes
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            Err(e) => {
                tracing::warn!(error = %e, "btree_gin unavailable: declared indexes get no ACL companion");
                sqlx::query("ROLLBACK TO SAVEPOINT btree_gin")
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs `statements` for every class table of the read model, once per read model: the
    /// migration is recorded under `name` in the same transaction.
    async fn migrate_class_tables(
        &self,
        tx: &mut sqlx::PgConnection,
        name: &str,
        statements: impl Fn(&str, &str) -> Vec<String>,
    ) -> Result<(), StoreError> {
        let r = ident(&self.root);
        let done: Option<String> =
            sqlx::query_scalar(&format!("SELECT name FROM {r}.migrations WHERE name = $1"))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            return Ok(());
        }
        let tables: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_schema::text, table_name::text FROM information_schema.columns \
             WHERE table_schema LIKE $1 AND column_name = '_rperm'",
        )
        .bind(format!("{}\\_%", self.root))
        .fetch_all(&mut *tx)
        .await?;
        for (schema, table) in tables {
            for stmt in statements(&schema, &table) {
                sqlx::query(&stmt).execute(&mut *tx).await?;
            }
        }
        sqlx::query(&format!("INSERT INTO {r}.migrations (name) VALUES ($1)"))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// The read model's migrations of class tables, oldest first.
    async fn migrate_classes(&self, tx: &mut sqlx::PgConnection) -> Result<(), StoreError> {
        // Objects without an ACL stored a NULL `_rperm` before readers' filters became the
        // indexable `_rperm && $entries`; they are everyone's, `{*}`.
        self.migrate_class_tables(tx, "public_rperm_star", |schema, table| {
            vec![format!(
                "UPDATE {}.{} SET _rperm = '{{*}}', _wperm = '{{*}}' WHERE _rperm IS NULL",
                ident(schema),
                ident(table)
            )]
        })
        .await?;
        // The GIN index on `data` became one on `data` without the keys that are also columns.
        self.migrate_class_tables(tx, "gin_without_columns", |schema, table| {
            let (s, t) = (ident(schema), ident(table));
            vec![
                format!(
                    "DROP INDEX IF EXISTS {s}.{}",
                    ident(&format!("{table}_data"))
                ),
                fields_index(&format!("{s}.{t}"), &ident(&class_index(table, "fields"))),
            ]
        })
        .await?;
        // The `_rperm` GIN index had the server's default pending list (4 MB): merging it
        // stalled a commit for tens of milliseconds.
        self.migrate_class_tables(tx, "rperm_pending_list", |schema, table| {
            vec![format!(
                "ALTER INDEX IF EXISTS {}.{} SET (gin_pending_list_limit = {PENDING_LIST_KB})",
                ident(schema),
                ident(&class_index(table, "rperm"))
            )]
        })
        .await
    }

    /// Makes the class's btree indexes those its schema declares (`indexes` of the schema API):
    /// one per declared index, named from a hash of class and index name, over the typed keys
    /// the query compiler compares and sorts by, ending with `object_id` so that an `order` on
    /// the last key is read straight from the index. With `btree_gin`, each also gets a GIN
    /// companion over its first key and `_rperm`: a user's query (`key = $v AND _rperm &&
    /// $entries`) then reads only the rows that user may see, instead of every row of the key
    /// and filtering them.
    async fn sync_indexes(
        &self,
        tx: &mut sqlx::PgConnection,
        app: &str,
        schema: &ClassSchema,
    ) -> Result<(), StoreError> {
        use sha2::Digest;
        let class = &schema.class_name;
        let mut wanted: HashMap<String, String> = HashMap::new();
        for (name, keys) in &schema.indexes {
            let digest = sha2::Sha256::digest(format!("{class}\n{name}").as_bytes());
            let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
            let mut columns = Vec::new();
            let mut last = 1;
            for (field, direction) in keys {
                let Some(key) = schema
                    .field_type(field)
                    .and_then(|t| sql::index_key(field, t))
                else {
                    continue;
                };
                columns.push(format!("{key} ASC NULLS FIRST"));
                last = direction.as_i64().unwrap_or(1);
            }
            let first = keys.keys().next().and_then(|field| {
                schema
                    .field_type(field)
                    .and_then(|t| sql::index_key(field, t))
            });
            let id_order = if last < 0 { "DESC" } else { "ASC" };
            columns.push(format!("object_id COLLATE \"C\" {id_order}"));
            wanted.insert(format!("ix_{hex}"), format!("({})", columns.join(", ")));
            if let (Some(first), true) = (
                first,
                self.acl_indexes.load(std::sync::atomic::Ordering::Acquire),
            ) {
                // No pending list: a user's query reads the tree, never a list of fresh rows.
                wanted.insert(
                    format!("ia_{hex}"),
                    format!("USING gin (({first}), _rperm) WITH (fastupdate = off)"),
                );
            }
        }
        let existing: Vec<String> = sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 \
             AND (indexname LIKE 'ix\\_%' OR indexname LIKE 'ia\\_%')",
        )
        .bind(self.app_schema(app))
        .bind(class)
        .fetch_all(&mut *tx)
        .await?;
        let s = ident(&self.app_schema(app));
        for old in existing.iter().filter(|e| !wanted.contains_key(*e)) {
            sqlx::query(&format!("DROP INDEX IF EXISTS {s}.{}", ident(old)))
                .execute(&mut *tx)
                .await?;
        }
        for (name, columns) in wanted.iter().filter(|(n, _)| !existing.contains(n)) {
            sqlx::query(&format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} {columns}",
                ident(name),
                self.table(app, class)
            ))
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// The schema holding an app's classes; derived from the app id, so every process agrees
    /// without coordination.
    fn app_schema(&self, app: &str) -> String {
        app_schema(&self.root, app)
    }

    fn table(&self, app: &str, class: &str) -> String {
        format!("{}.{}", ident(&self.app_schema(app)), ident(class))
    }

    async fn ensure_app(&self, tx: &mut sqlx::PgConnection, app: &str) -> Result<(), StoreError> {
        if self.known.contains(app) {
            return Ok(());
        }
        let s = ident(&self.app_schema(app));
        for stmt in [
            format!("CREATE SCHEMA IF NOT EXISTS {s}"),
            format!("CREATE TABLE IF NOT EXISTS {s}._schema (class text PRIMARY KEY, schema jsonb NOT NULL)"),
            format!(
                "CREATE TABLE IF NOT EXISTS {s}._join (class text NOT NULL, field text NOT NULL, owner text NOT NULL, \
                 target text NOT NULL, PRIMARY KEY (class, field, owner, target))"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {s}._analytics (name text NOT NULL, hour text NOT NULL, \
                 dimensions jsonb NOT NULL, count bigint NOT NULL, PRIMARY KEY (name, hour, dimensions))"
            ),
            // Relation constraints in `where` look owners up by target.
            format!("CREATE INDEX IF NOT EXISTS _join_target ON {s}._join (class, field, target)"),
        ] {
            sqlx::query(&stmt).execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// Runs a class-wide change. A deleted class keeps its (empty) table: other projectors
    /// remember which tables exist, and an empty table without a schema row is no class.
    async fn apply_clear(
        &self,
        tx: &mut sqlx::PgConnection,
        clear: &Clear,
    ) -> Result<(), StoreError> {
        let (app, class) = clear.class();
        let join = format!("{}._join", ident(&self.app_schema(app)));
        match clear {
            Clear::Purge(..) | Clear::DropClass(..) => {
                sqlx::query(&format!("DELETE FROM {}", self.table(app, class)))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&format!("DELETE FROM {join} WHERE class = $1"))
                    .bind(class)
                    .execute(&mut *tx)
                    .await?;
            }
            Clear::DropField(_, _, field) => {
                sqlx::query(&format!(
                    "UPDATE {} SET data = data - $1 WHERE data ? $1",
                    self.table(app, class)
                ))
                .bind(field)
                .execute(&mut *tx)
                .await?;
                sqlx::query(&format!(
                    "DELETE FROM {join} WHERE class = $1 AND field = $2"
                ))
                .bind(class)
                .bind(field)
                .execute(&mut *tx)
                .await?;
            }
        }
        if let Clear::DropClass(..) = clear {
            sqlx::query(&format!(
                "DELETE FROM {}._schema WHERE class = $1",
                ident(&self.app_schema(app))
            ))
            .bind(class)
            .execute(&mut *tx)
            .await?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(self.schema_channel())
                .bind(format!("{app}\n{class}"))
                .execute(&mut *tx)
                .await?;
            self.sync_indexes(tx, app, &ClassSchema::new(class)).await?;
        }
        Ok(())
    }

    async fn ensure_class(
        &self,
        tx: &mut sqlx::PgConnection,
        app: &str,
        class: &str,
    ) -> Result<(), StoreError> {
        if self.known.contains(&format!("{app}/{class}")) {
            return Ok(());
        }
        let t = self.table(app, class);
        let idx = |suffix: &str| ident(&class_index(class, suffix));
        for stmt in [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (object_id text COLLATE \"C\" PRIMARY KEY, \
                 created_at text COLLATE \"C\" NOT NULL, updated_at text COLLATE \"C\" NOT NULL, \
                 data jsonb NOT NULL, _rperm text[], _wperm text[])"
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {t} (created_at)",
                idx("created_at")
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {t} (updated_at)",
                idx("updated_at")
            ),
            fields_index(&t, &idx("fields")),
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {t} USING gin (_rperm) \
                 WITH (gin_pending_list_limit = {PENDING_LIST_KB})",
                idx("rperm")
            ),
        ] {
            sqlx::query(&stmt).execute(&mut *tx).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ReadStore for PgStore {
    async fn schema(&self, app: &str, class: &str) -> Result<Option<ClassSchema>, StoreError> {
        let key = (app.to_string(), class.to_string());
        if let Some(s) = self.schemas.get(&key) {
            return Ok(Some(s.clone()));
        }
        let generation = self
            .schema_generation
            .load(std::sync::atomic::Ordering::Acquire);
        let sql = format!(
            "SELECT schema FROM {}._schema WHERE class = $1",
            ident(&self.app_schema(app))
        );
        let found = match sqlx::query_scalar::<_, Value>(&sql)
            .bind(class)
            .fetch_optional(&self.pool)
            .await
        {
            Ok(v) => v.as_ref().and_then(ClassSchema::from_json),
            Err(e) if is_missing(&e) => None,
            Err(e) => return Err(e.into()),
        };
        // Only while someone listens for changes may a schema be kept.
        if let Some(s) = &found {
            let unchanged = self
                .schema_generation
                .load(std::sync::atomic::Ordering::Acquire)
                == generation;
            if unchanged
                && self
                    .schema_listening
                    .load(std::sync::atomic::Ordering::Acquire)
            {
                self.schemas.insert(key, s.clone());
            }
        }
        Ok(found)
    }

    async fn get(
        &self,
        app: &str,
        class: &str,
        object_id: &str,
    ) -> Result<Option<Object>, StoreError> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM {} WHERE object_id = $1",
            self.table(app, class)
        );
        // Prepared: a primary-key equality's generic plan is an index scan at any size (unlike
        // `get_many`'s).
        match sqlx::query_as::<_, ObjectRow>(&sql)
            .bind(object_id)
            .fetch_optional(&self.pool)
            .await
        {
            Ok(v) => Ok(objects(v.into_iter().collect()).pop()),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_many(
        &self,
        app: &str,
        class: &str,
        object_ids: &[String],
    ) -> Result<Vec<Object>, StoreError> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM {} WHERE object_id = ANY($1)",
            self.table(app, class)
        );
        // Planned at each call, not prepared: a class table starts empty, and the generic plan
        // of `= ANY($1)` that PostgreSQL caches while it holds a page or two is a sequential
        // scan that it keeps until the table's first autovacuum analyze (measured: 3.4 ms per
        // projector prefetch after 30,000 creates, instead of 0.05 ms).
        match sqlx::query_as::<_, ObjectRow>(&sql)
            .persistent(false)
            .bind(object_ids)
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => Ok(objects(rows)),
            Err(e) if is_missing(&e) => Ok(vec![]),
            Err(e) => Err(e.into()),
        }
    }

    async fn find(&self, app: &str, class: &str, query: &Query) -> Result<Vec<Object>, StoreError> {
        // The compiler takes simpler paths for fields the schema types (cached: no round trip).
        let schema = self.schema(app, class).await?;
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT {OBJECT_COLUMNS} FROM {} WHERE ",
            self.table(app, class)
        ));
        sql::push_filter(&mut qb, &query.filter, schema.as_ref());
        sql::push_readers(&mut qb, query);
        sql::push_sort(&mut qb, query, schema.as_ref());
        sql::push_page(&mut qb, query);
        match qb.build_query_as::<ObjectRow>().fetch_all(&self.pool).await {
            Ok(rows) => Ok(objects(rows)),
            Err(e) if is_missing(&e) => Ok(vec![]),
            Err(e) => Err(refused(e)),
        }
    }

    async fn count(&self, app: &str, class: &str, query: &Query) -> Result<u64, StoreError> {
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT count(*) FROM {} WHERE ",
            self.table(app, class)
        ));
        let schema = self.schema(app, class).await?;
        sql::push_filter(&mut qb, &query.filter, schema.as_ref());
        sql::push_readers(&mut qb, query);
        match qb.build_query_scalar::<i64>().fetch_one(&self.pool).await {
            Ok(n) => Ok(n as u64),
            Err(e) if is_missing(&e) => Ok(0),
            Err(e) => Err(refused(e)),
        }
    }

    async fn related(
        &self,
        app: &str,
        class: &str,
        field: &str,
        owner: &str,
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT target FROM {}._join WHERE class = $1 AND field = $2 AND owner = $3 ORDER BY target",
            ident(&self.app_schema(app))
        );
        match sqlx::query_scalar(&sql)
            .bind(class)
            .bind(field)
            .bind(owner)
            .fetch_all(&self.pool)
            .await
        {
            Ok(v) => Ok(v),
            Err(e) if is_missing(&e) => Ok(vec![]),
            Err(e) => Err(e.into()),
        }
    }

    fn schema_changed(&self, app: &str, class: &str) {
        self.forget_schema(Some((app, class)));
    }

    async fn owners(
        &self,
        app: &str,
        class: &str,
        field: &str,
        targets: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT owner FROM {}._join WHERE class = $1 AND field = $2 AND target = ANY($3) ORDER BY owner",
            ident(&self.app_schema(app))
        );
        // Not prepared: see `get_many`.
        match sqlx::query_scalar(&sql)
            .persistent(false)
            .bind(class)
            .bind(field)
            .bind(targets)
            .fetch_all(&self.pool)
            .await
        {
            Ok(v) => Ok(v),
            Err(e) if is_missing(&e) => Ok(vec![]),
            Err(e) => Err(e.into()),
        }
    }

    async fn schemas(&self, app: &str) -> Result<Vec<ClassSchema>, StoreError> {
        let sql = format!(
            "SELECT schema FROM {}._schema ORDER BY class COLLATE \"C\"",
            ident(&self.app_schema(app))
        );
        match sqlx::query_scalar::<_, Value>(&sql)
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => Ok(rows.iter().filter_map(ClassSchema::from_json).collect()),
            Err(e) if is_missing(&e) => Ok(vec![]),
            Err(e) => Err(e.into()),
        }
    }

    async fn tracked(&self, app: &str, name: &str) -> Result<Vec<TrackedCount>, StoreError> {
        let sql = format!(
            "SELECT hour, dimensions, count FROM {}._analytics WHERE name = $1 ORDER BY hour, dimensions::text",
            ident(&self.app_schema(app))
        );
        match sqlx::query_as::<_, (String, Value, i64)>(&sql)
            .bind(name)
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => Ok(rows
                .into_iter()
                .map(|(hour, dimensions, count)| TrackedCount {
                    hour,
                    dimensions: match dimensions {
                        Value::Object(m) => m,
                        _ => model::Map::new(),
                    },
                    count: count.max(0) as u64,
                })
                .collect()),
            Err(e) if is_missing(&e) => Ok(vec![]),
            Err(e) => Err(e.into()),
        }
    }

    fn auth_changes(&self) -> Option<tokio::sync::broadcast::Receiver<crate::AuthChange>> {
        Some(self.auth.subscribe())
    }

    async fn position(&self, partition: u32) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT position FROM {}.positions WHERE partition = $1",
            ident(&self.root)
        );
        let p: Option<i64> = sqlx::query_scalar(&sql)
            .bind(partition as i32)
            .fetch_optional(&self.pool)
            .await?;
        Ok(p.unwrap_or(0) as u64)
    }
}

/// The net effect of a commit's changes: the final state of each object and schema (the fold
/// already resolved their order), and relation changes in order.
#[derive(Default)]
pub(crate) struct Net {
    schemas: Vec<(String, ClassSchema)>,
    objects: Vec<((String, String, String), Option<Object>)>,
    relations: Vec<Change>,
    /// (app, event name, hour, dimensions as JSON text) -> how many.
    tracked: HashMap<(String, String, String, String), i64>,
    /// Classes emptied, fields dropped and classes deleted, in log order, before any of the
    /// schemas, objects and relations above (which came after them).
    clears: Vec<Clear>,
    /// Objects whose first write in the batch (after any clear of their class) created them:
    /// the store has no row for them.
    fresh: HashSet<ObjectKey>,
}

/// A change that reaches every object of a class.
enum Clear {
    Purge(String, String),
    DropField(String, String, String),
    DropClass(String, String),
}

impl Clear {
    fn class(&self) -> (&str, &str) {
        match self {
            Clear::Purge(a, c) | Clear::DropField(a, c, _) | Clear::DropClass(a, c) => (a, c),
        }
    }
}

impl Net {
    /// Forgets what the batch wrote to `class` before a clear: the clear runs first.
    fn forget_objects(
        &mut self,
        app: &str,
        class: &str,
        object_at: &mut HashMap<ObjectKey, usize>,
    ) {
        let of_class = |a: &str, c: &str| a == app && c == class;
        self.objects.retain(|((a, c, _), _)| !of_class(a, c));
        self.fresh.retain(|(a, c, _)| !of_class(a, c));
        *object_at = self
            .objects
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        self.relations
            .retain(|r| !matches!(r, Change::Relation { app: a, class: c, .. } if of_class(a, c)));
    }
}

fn net_effect(changes: Vec<Change>) -> Net {
    let mut net = Net::default();
    let mut schema_at: HashMap<(String, String), usize> = HashMap::new();
    let mut object_at: HashMap<(String, String, String), usize> = HashMap::new();
    for change in changes {
        match change {
            Change::PutSchema { app, schema } => {
                let key = (app.clone(), schema.class_name.clone());
                match schema_at.get(&key) {
                    Some(&i) => net.schemas[i] = (app, schema),
                    None => {
                        schema_at.insert(key, net.schemas.len());
                        net.schemas.push((app, schema));
                    }
                }
            }
            Change::PutObject {
                app,
                class,
                object,
                created,
            } => {
                let key = (app, class, object.object_id().to_string());
                if created && !object_at.contains_key(&key) {
                    net.fresh.insert(key.clone());
                }
                upsert(&mut net.objects, &mut object_at, key, Some(object));
            }
            Change::DeleteObject {
                app,
                class,
                object_id,
            } => {
                upsert(
                    &mut net.objects,
                    &mut object_at,
                    (app, class, object_id),
                    None,
                );
            }
            relation @ Change::Relation { .. } => net.relations.push(relation),
            Change::PurgeClass { app, class } => {
                net.forget_objects(&app, &class, &mut object_at);
                net.clears.push(Clear::Purge(app, class));
            }
            Change::DropField { app, class, field } => {
                // Objects written before the drop lose the field; later ones may have it again.
                for ((a, c, _), state) in net.objects.iter_mut() {
                    if let (true, Some(o)) = (a == &app && c == &class, state) {
                        o.fields.remove(&field);
                    }
                }
                net.relations.retain(|r| {
                    !matches!(r, Change::Relation { app: a, class: c, delta, .. }
                        if a == &app && c == &class && delta.field == field)
                });
                net.clears.push(Clear::DropField(app, class, field));
            }
            Change::DropClass { app, class } => {
                net.forget_objects(&app, &class, &mut object_at);
                if let Some(i) = schema_at.remove(&(app.clone(), class.clone())) {
                    net.schemas.remove(i);
                    schema_at = net
                        .schemas
                        .iter()
                        .enumerate()
                        .map(|(i, (a, s))| ((a.clone(), s.class_name.clone()), i))
                        .collect();
                }
                net.clears.push(Clear::DropClass(app, class));
            }
            Change::Tracked {
                app,
                name,
                hour,
                dimensions,
            } => {
                let dims = Value::Object(dimensions).to_string();
                *net.tracked.entry((app, name, hour, dims)).or_default() += 1;
            }
        }
    }
    net
}

type ObjectKey = (String, String, String);

fn upsert(
    list: &mut Vec<(ObjectKey, Option<Object>)>,
    at: &mut HashMap<ObjectKey, usize>,
    key: ObjectKey,
    v: Option<Object>,
) {
    match at.get(&key) {
        Some(&i) => list[i].1 = v,
        None => {
            at.insert(key.clone(), list.len());
            list.push((key, v));
        }
    }
}

/// The GIN index of a class table (`table` and `name` quoted): over `sql::INDEXED_DATA`, with a
/// short pending list (GIN's fast update queues new entries in a list that every search reads
/// in full until a vacuum merges it; at the 4 MB default a freshly written class answers an
/// indexed equality ten times slower).
fn fields_index(table: &str, name: &str) -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({} jsonb_path_ops) \
         WITH (gin_pending_list_limit = {PENDING_LIST_KB})",
        sql::INDEXED_DATA
    )
}

/// The pending list limit of the class tables' GIN indexes, in kB: a bound on what a search
/// reads of fresh rows outside the tree, should `pending_lists` fall behind.
const PENDING_LIST_KB: u32 = 128;

/// The name of a class table's index (`<class>_<suffix>`), unquoted.
fn class_index(class: &str, suffix: &str) -> String {
    format!("{class}_{suffix}")
}

/// An app's schema under the read model's `root`: `<root>_<first 16 hex digits of
/// sha256(app id)>`.
fn app_schema(root: &str, app: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(app.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{root}_{hex}")
}

/// The GIN indexes with pending lists of a class table, qualified and quoted.
fn gin_indexes(root: &str, app: &str, class: &str) -> [String; 2] {
    let schema = ident(&app_schema(root, app));
    ["fields", "rperm"].map(|suffix| format!("{schema}.{}", ident(&class_index(class, suffix))))
}

/// One class's objects to write: those the store has no row for, and those replacing a row.
#[derive(Default)]
struct Puts {
    new: Vec<Object>,
    replacing: Vec<Object>,
}

impl Net {
    /// Takes the batch's objects: the deleted ones' keys, and the written ones by class.
    fn take_objects(&mut self) -> (Vec<ObjectKey>, HashMap<(String, String), Puts>) {
        let mut deleted = Vec::new();
        let mut puts: HashMap<(String, String), Puts> = HashMap::new();
        for (key, state) in std::mem::take(&mut self.objects) {
            let Some(object) = state else {
                deleted.push(key);
                continue;
            };
            let fresh = self.fresh.contains(&key);
            let (app, class, _) = key;
            let class_puts = puts.entry((app, class)).or_default();
            match fresh {
                true => class_puts.new.push(object),
                false => class_puts.replacing.push(object),
            }
        }
        (deleted, puts)
    }
}

/// A PostgreSQL array literal of `items`, each quoted: permissions travel as text, as `text[]`
/// cannot hold rows of different lengths and parsing a literal is cheaper than unpacking JSON.
fn text_array(items: &[String]) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// The rows of one class's insert or upsert, as parallel arrays for `UNNEST`.
struct Rows {
    ids: Vec<String>,
    created: Vec<String>,
    updated: Vec<String>,
    data: Vec<Value>,
    rperm: Vec<String>,
    wperm: Vec<String>,
}

impl Rows {
    fn of(objects: Vec<Object>) -> Rows {
        let mut rows = Rows {
            ids: Vec::with_capacity(objects.len()),
            created: Vec::with_capacity(objects.len()),
            updated: Vec::with_capacity(objects.len()),
            data: Vec::with_capacity(objects.len()),
            rperm: Vec::with_capacity(objects.len()),
            wperm: Vec::with_capacity(objects.len()),
        };
        for mut o in objects {
            // The id and the timestamps go to their columns only (`objects` puts them back on
            // reading).
            rows.ids.push(take_string(&mut o.fields, "objectId"));
            rows.created.push(take_string(&mut o.fields, "createdAt"));
            rows.updated.push(take_string(&mut o.fields, "updatedAt"));
            let (r, w) = permissions(&o.fields);
            rows.rperm.push(text_array(&r));
            rows.wperm.push(text_array(&w));
            rows.data.push(Value::Object(o.fields));
        }
        rows
    }

    /// Encodes the six arrays into `args`, in `write_sql`'s order.
    fn encode(self, args: &mut PgArguments) -> Result<(), StoreError> {
        add(args, self.ids)?;
        add(args, self.created)?;
        add(args, self.updated)?;
        add(args, self.data)?;
        add(args, self.rperm)?;
        add(args, self.wperm)
    }
}

/// Removes `key` from `fields`, its string value or "".
fn take_string(fields: &mut model::Map, key: &str) -> String {
    match fields.remove(key) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Encodes one more argument of a statement.
fn add<'q, T>(args: &mut PgArguments, value: T) -> Result<(), StoreError>
where
    T: sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + 'q,
{
    sqlx::Arguments::add(args, value).map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))
}

/// The insert of one class's `Rows`, its arrays bound from `$first`; `guard` is a `WHERE`
/// clause on the rows, or empty. `replace`: rows may exist and are replaced (an upsert);
/// otherwise none does, and a plain insert spares PostgreSQL the search for a conflict.
fn write_sql(table: &str, first: usize, guard: &str, replace: bool) -> String {
    let p: Vec<String> = (first..first + 6).map(|i| format!("${i}")).collect();
    let conflict = if replace {
        " ON CONFLICT (object_id) DO UPDATE SET created_at = EXCLUDED.created_at, \
           updated_at = EXCLUDED.updated_at, data = EXCLUDED.data, \
           _rperm = EXCLUDED._rperm, _wperm = EXCLUDED._wperm"
    } else {
        ""
    };
    format!(
        "INSERT INTO {table} (object_id, created_at, updated_at, data, _rperm, _wperm) \
         SELECT i, c, u, d, r::text[], w::text[] \
         FROM UNNEST({}::text[], {}::text[], {}::text[], {}::jsonb[], {}::text[], {}::text[]) AS x(i, c, u, d, r, w){guard}{conflict}",
        p[0], p[1], p[2], p[3], p[4], p[5]
    )
}

/// Event ids and outcomes, as parallel arrays for `outcomes_sql`.
fn outcome_rows(outcomes: &[(uuid::Uuid, Outcome)]) -> (Vec<uuid::Uuid>, Vec<Value>) {
    outcomes
        .iter()
        .map(|(id, o)| (*id, serde_json::to_value(o).unwrap_or(Value::Null)))
        .unzip()
}

/// A notification's payload stays under PostgreSQL's 8,000 bytes.
const NOTICE_MAX: usize = 7_900;

/// The payload announcing a commit's outcomes: the outcomes themselves as JSON
/// `[[eventId, outcome], …]`, so that a waiting command-api needs no query; or, past what a
/// notification holds, `<partition>:<position>`, and listeners read them from the table.
fn outcome_notice(partition: u32, position: u64, ids: &[uuid::Uuid], values: &[Value]) -> String {
    let pairs: Vec<(&uuid::Uuid, &Value)> = ids.iter().zip(values).collect();
    match serde_json::to_string(&pairs) {
        Ok(json) if json.len() <= NOTICE_MAX => json,
        _ => format!("{partition}:{position}"),
    }
}

/// The insert of `outcome_rows` (ids and outcomes bound at `$first` and the next), with the
/// partition and position bound at `$partition` and `$position`.
fn outcomes_sql(
    root: &str,
    first: usize,
    partition: usize,
    position: usize,
    guard: &str,
) -> String {
    format!(
        "INSERT INTO {root}.outcomes (event_id, partition, position, outcome) \
         SELECT id, ${partition}, ${position}, o FROM UNNEST(${first}::uuid[], ${}::jsonb[]) AS x(id, o){guard} \
         ON CONFLICT DO NOTHING",
        first + 1
    )
}

impl PgStore {
    /// Whether creating and updating objects of known apps is all the batch does: the common
    /// case, which `commit_puts` makes in one statement.
    fn puts_only(&self, net: &Net) -> bool {
        net.schemas.is_empty()
            && net.relations.is_empty()
            && net.tracked.is_empty()
            && net.clears.is_empty()
            && net
                .objects
                .iter()
                .all(|((app, _, _), state)| state.is_some() && self.known.contains(app.as_str()))
    }

    /// Each class's table, whether its rows replace others, and the rows: one entry for the
    /// new objects of a class, one for those replacing a row.
    fn put_rows(&self, puts: HashMap<(String, String), Puts>) -> Vec<(String, bool, Rows)> {
        let mut tables = Vec::new();
        for ((app, class), puts) in puts {
            let table = self.table(&app, &class);
            for (replace, objects) in [(false, puts.new), (true, puts.replacing)] {
                if !objects.is_empty() {
                    tables.push((table.clone(), replace, Rows::of(objects)));
                }
            }
        }
        tables
    }

    /// Creates and updates as a single statement, so a single round trip: the position is
    /// claimed first and every insert is conditional on the claim, so a batch whose partition
    /// moved writes nothing. (A statement is its own transaction.) Its arguments are encoded
    /// here, ahead of the write.
    fn puts_statement(
        &self,
        (partition, since, position): (u32, u64, u64),
        puts: HashMap<(String, String), Puts>,
        outcomes: &[(uuid::Uuid, Outcome)],
        announce: bool,
    ) -> Result<Statement, StoreError> {
        let r = ident(&self.root);
        let guard = " WHERE EXISTS (SELECT 1 FROM claimed)";
        let mut sql = format!(
            "WITH claimed AS (UPDATE {r}.positions SET position = $2 \
             WHERE partition = $1 AND position = $3 RETURNING 1)"
        );
        let mut args = PgArguments::default();
        add(&mut args, partition as i32)?;
        add(&mut args, position as i64)?;
        add(&mut args, since as i64)?;
        let mut next = 4;
        let classes = puts.keys().cloned().collect();
        for (i, (table, replace, rows)) in self.put_rows(puts).into_iter().enumerate() {
            let write = write_sql(&table, next, guard, replace);
            sql.push_str(&format!(", put{i} AS ({write})"));
            rows.encode(&mut args)?;
            next += 6;
        }
        let notify = if outcomes.is_empty() {
            "NULL".to_string()
        } else {
            sql.push_str(&format!(
                ", stored AS ({})",
                outcomes_sql(&r, next, 1, 2, guard)
            ));
            let (ids, values) = outcome_rows(outcomes);
            let notice = announce.then(|| outcome_notice(partition, position, &ids, &values));
            add(&mut args, ids)?;
            add(&mut args, values)?;
            match notice {
                Some(notice) => {
                    add(&mut args, self.outcome_channel())?;
                    add(&mut args, notice)?;
                    format!(
                        "CASE WHEN EXISTS (SELECT 1 FROM claimed) THEN pg_notify(${}, ${}) END",
                        next + 2,
                        next + 3
                    )
                }
                None => "NULL".to_string(),
            }
        };
        // Not waiting for the WAL flush: see `write_general`.
        sql.push_str(&format!(
            " SELECT EXISTS (SELECT 1 FROM claimed), \
             set_config('synchronous_commit', 'off', true), {notify}"
        ));
        Ok(Statement {
            sql,
            args,
            partition,
            since,
            classes,
        })
    }

    /// Runs a `puts_statement`.
    async fn write_statement(&self, statement: Statement) -> Result<(), StoreError> {
        let Statement {
            sql,
            args,
            partition,
            since,
            ..
        } = statement;
        let row = sqlx::query_with(&sql, args).fetch_one(&self.pool).await?;
        if sqlx::Row::try_get::<bool, _>(&row, 0)? {
            Ok(())
        } else {
            Err(self.moved(partition, since).await)
        }
    }

    /// The refusal of a commit from `since` on a partition another projector has moved.
    async fn moved(&self, partition: u32, since: u64) -> StoreError {
        let found: Result<Option<i64>, _> = sqlx::query_scalar(&format!(
            "SELECT position FROM {}.positions WHERE partition = $1",
            ident(&self.root)
        ))
        .bind(partition as i32)
        .fetch_optional(&self.pool)
        .await;
        match found {
            Ok(found) => StoreError::Moved {
                partition,
                expected: since,
                found: found.unwrap_or(0) as u64,
            },
            Err(e) => e.into(),
        }
    }
}

#[async_trait]
impl ProjectionStore for PgStore {
    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let prepared = self.prepare(commit)?;
        self.write(prepared).await
    }

    fn refuses_known_ids(&self) -> bool {
        true
    }

    fn prepare(&self, mut commit: Commit) -> Result<crate::Prepared, StoreError> {
        let announced = crate::auth_changes_of(&commit.changes);
        let mut net = net_effect(std::mem::take(&mut commit.changes));
        let prepared = if commit.since > 0 && announced.is_empty() && self.puts_only(&net) {
            let (_, puts) = net.take_objects();
            let at = (commit.partition, commit.since, commit.position);
            Prepared::Puts(self.puts_statement(at, puts, &commit.outcomes, commit.announce)?)
        } else {
            Prepared::General {
                commit,
                net,
                announced,
            }
        };
        Ok(crate::Prepared(crate::PreparedKind::Postgres(Box::new(
            prepared,
        ))))
    }

    async fn write(&self, prepared: crate::Prepared) -> Result<(), StoreError> {
        let written = match prepared.0 {
            crate::PreparedKind::Postgres(mut prepared) => {
                let classes = prepared.take_classes();
                let written = match *prepared {
                    Prepared::Puts(statement) => self.write_statement(statement).await,
                    Prepared::General {
                        commit,
                        net,
                        announced,
                    } => self.write_general(commit, net, announced).await,
                };
                if written.is_ok() && !classes.is_empty() {
                    self.pending_lists.written(classes);
                }
                written
            }
            crate::PreparedKind::Commit(commit) => self.commit(commit).await,
        };
        // Created objects are plain inserts: one whose id is stored fails on its table's primary
        // key (the only unique index of ours a commit can violate: its other inserts skip
        // conflicts). Not so a violation in the catalog (two processes making one table).
        written.map_err(|e| match &e {
            StoreError::Database(sqlx::Error::Database(d))
                if d.code().as_deref() == Some("23505")
                    && d.constraint().is_some_and(|c| !c.starts_with("pg_")) =>
            {
                StoreError::Exists
            }
            _ => e,
        })
    }
}

/// A commit made ready by `PgStore::prepare`.
pub(crate) enum Prepared {
    /// Creates and updates of known apps: one statement, its arguments encoded.
    Puts(Statement),
    /// Anything else, for the general transaction (`changes` already folded into `net`).
    General {
        commit: Commit,
        net: Net,
        announced: Vec<crate::AuthChange>,
    },
}

impl Prepared {
    /// The classes (app, class) whose tables the commit writes rows to (deletes add no index
    /// entries).
    fn take_classes(&mut self) -> Vec<(String, String)> {
        match self {
            Prepared::Puts(statement) => std::mem::take(&mut statement.classes),
            Prepared::General { net, .. } => {
                let mut classes: Vec<(String, String)> = net
                    .objects
                    .iter()
                    .filter(|(_, state)| state.is_some())
                    .map(|((app, class, _), _)| (app.clone(), class.clone()))
                    .chain(net.clears.iter().map(|c| {
                        let (app, class) = c.class();
                        (app.to_string(), class.to_string())
                    }))
                    .collect();
                classes.sort();
                classes.dedup();
                classes
            }
        }
    }
}

/// A statement and its encoded arguments.
pub(crate) struct Statement {
    sql: String,
    args: PgArguments,
    partition: u32,
    since: u64,
    /// The classes (app, class) whose tables it writes rows to.
    classes: Vec<(String, String)>,
}

impl PgStore {
    /// Writes any commit in one transaction, a statement per kind of change.
    async fn write_general(
        &self,
        commit: Commit,
        mut net: Net,
        announced: Vec<crate::AuthChange>,
    ) -> Result<(), StoreError> {
        let r = ident(&self.root);
        // The read model is derived from the log and its positions commit with its changes, so
        // a commit lost in a PostgreSQL crash is one the projector makes again from the log, with
        // the same outcome (the fold is deterministic). It need not wait for its WAL flush.
        let mut tx = self
            .pool
            .begin_with("BEGIN; SET LOCAL synchronous_commit = off")
            .await?;
        // Claims the partition's position first (the row lock serialises rival projectors),
        // and only if it is still where this batch was folded from.
        let claimed = sqlx::query(&format!(
            "UPDATE {r}.positions SET position = $2 WHERE partition = $1 AND position = $3"
        ))
        .bind(commit.partition as i32)
        .bind(commit.position as i64)
        .bind(commit.since as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1
            || (commit.since == 0
                && sqlx::query(&format!(
                    "INSERT INTO {r}.positions (partition, position) VALUES ($1, $2) \
                     ON CONFLICT (partition) DO NOTHING"
                ))
                .bind(commit.partition as i32)
                .bind(commit.position as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1);
        if !claimed {
            drop(tx);
            return Err(self.moved(commit.partition, commit.since).await);
        }
        let mut apps: Vec<&str> = net
            .schemas
            .iter()
            .map(|(a, _)| a.as_str())
            .chain(net.objects.iter().map(|((a, _, _), _)| a.as_str()))
            .chain(net.tracked.keys().map(|(a, _, _, _)| a.as_str()))
            .chain(net.clears.iter().map(|c| c.class().0))
            .collect();
        apps.sort();
        apps.dedup();
        for app in &apps {
            self.ensure_app(&mut tx, app).await?;
        }
        let mut created: Vec<String> = apps.iter().map(|a| a.to_string()).collect();
        for clear in &net.clears {
            let (app, class) = clear.class();
            self.ensure_class(&mut tx, app, class).await?;
            created.push(format!("{app}/{class}"));
            self.apply_clear(&mut tx, clear).await?;
        }
        for (app, schema) in &net.schemas {
            self.ensure_class(&mut tx, app, &schema.class_name).await?;
            created.push(format!("{app}/{}", schema.class_name));
            sqlx::query(&format!(
                "INSERT INTO {}._schema (class, schema) VALUES ($1, $2) \
                 ON CONFLICT (class) DO UPDATE SET schema = EXCLUDED.schema",
                ident(&self.app_schema(app))
            ))
            .bind(&schema.class_name)
            .bind(schema.to_json())
            .execute(&mut *tx)
            .await?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(self.schema_channel())
                .bind(format!("{app}\n{}", schema.class_name))
                .execute(&mut *tx)
                .await?;
            self.sync_indexes(&mut tx, app, schema).await?;
        }
        // Objects, grouped per class: a statement per class for the new ones and one for the
        // others.
        let (deleted, puts) = net.take_objects();
        for (app, class, id) in deleted {
            sqlx::query(&format!(
                "DELETE FROM {} WHERE object_id = $1",
                self.table(&app, &class)
            ))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "DELETE FROM {}._join WHERE class = $1 AND owner = $2",
                ident(&self.app_schema(&app))
            ))
            .bind(&class)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        }
        for (table, replace, rows) in self.put_rows(puts) {
            let mut args = PgArguments::default();
            rows.encode(&mut args)?;
            sqlx::query_with(&write_sql(&table, 1, "", replace), args)
                .execute(&mut *tx)
                .await?;
        }
        for change in net.relations {
            if let Change::Relation {
                app,
                class,
                owner,
                delta,
            } = change
            {
                let j = format!("{}._join", ident(&self.app_schema(&app)));
                if !delta.add.is_empty() {
                    sqlx::query(&format!(
                        "INSERT INTO {j} (class, field, owner, target) SELECT $1, $2, $3, t FROM UNNEST($4::text[]) t \
                         ON CONFLICT DO NOTHING"
                    ))
                    .bind(&class)
                    .bind(&delta.field)
                    .bind(&owner)
                    .bind(&delta.add)
                    .execute(&mut *tx)
                    .await?;
                }
                if !delta.remove.is_empty() {
                    sqlx::query(&format!(
                        "DELETE FROM {j} WHERE class = $1 AND field = $2 AND owner = $3 AND target = ANY($4)"
                    ))
                    .bind(&class)
                    .bind(&delta.field)
                    .bind(&owner)
                    .bind(&delta.remove)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        let mut tracked: HashMap<String, Vec<(String, String, String, i64)>> = HashMap::new();
        for ((app, name, hour, dims), n) in net.tracked {
            tracked.entry(app).or_default().push((name, hour, dims, n));
        }
        for (app, rows) in tracked {
            let (mut names, mut hours, mut dims, mut counts) = (vec![], vec![], vec![], vec![]);
            for (name, hour, d, n) in rows {
                names.push(name);
                hours.push(hour);
                dims.push(d);
                counts.push(n);
            }
            sqlx::query(&format!(
                "INSERT INTO {a}._analytics AS t (name, hour, dimensions, count) \
                 SELECT n, h, d::jsonb, c FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[]) AS x(n, h, d, c) \
                 ON CONFLICT (name, hour, dimensions) DO UPDATE SET count = t.count + EXCLUDED.count",
                a = ident(&self.app_schema(&app))
            ))
            .bind(&names)
            .bind(&hours)
            .bind(&dims)
            .bind(&counts)
            .execute(&mut *tx)
            .await?;
        }
        for change in &announced {
            let mut payload = format!("{}\n{}", change.app, change.class);
            if let Some(id) = &change.object_id {
                payload.push('\n');
                payload.push_str(id);
            }
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(self.auth_channel())
                .bind(payload)
                .execute(&mut *tx)
                .await?;
        }
        if !commit.outcomes.is_empty() {
            let (ids, outcomes) = outcome_rows(&commit.outcomes);
            // One notification per commit, sent in the same statement (see `outcome_notice`);
            // an empty channel name sends none.
            let (channel, notice) = match commit.announce {
                true => (
                    self.outcome_channel(),
                    outcome_notice(commit.partition, commit.position, &ids, &outcomes),
                ),
                false => (String::new(), String::new()),
            };
            sqlx::query(&format!(
                "WITH stored AS ({}) SELECT CASE WHEN $5 <> '' THEN pg_notify($5, $6) END",
                outcomes_sql(&r, 1, 3, 4, "")
            ))
            .bind(&ids)
            .bind(&outcomes)
            .bind(commit.partition as i32)
            .bind(commit.position as i64)
            .bind(channel)
            .bind(notice)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        for name in created {
            self.known.insert(name);
        }
        for (app, schema) in &net.schemas {
            self.forget_schema(Some((app, &schema.class_name)));
        }
        for clear in &net.clears {
            if let Clear::DropClass(app, class) = clear {
                self.forget_schema(Some((app, class)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(n: usize) -> Vec<(uuid::Uuid, Outcome)> {
        (0..n)
            .map(|i| {
                let error = model::ParseError::new(137, format!("duplicate value {i}"));
                (uuid::Uuid::new_v4(), Outcome::Rejected { index: i, error })
            })
            .collect()
    }

    #[test]
    fn a_notice_carries_the_outcomes_while_they_fit_and_points_at_the_table_beyond() {
        let few = rejected(3);
        let (ids, values) = outcome_rows(&few);
        let notice = outcome_notice(2, 40, &ids, &values);
        let carried: Vec<(uuid::Uuid, Outcome)> = serde_json::from_str(&notice).unwrap();
        assert_eq!(carried, few);

        let many = rejected(200);
        let (ids, values) = outcome_rows(&many);
        assert_eq!(outcome_notice(2, 240, &ids, &values), "2:240");
    }
}
