//! The deterministic fold of events into read-model changes. Reads go through an overlay of the
//! changes not yet committed, so later events in a batch see earlier ones; a transaction's writes
//! go to a scratch layer first and reach the overlay only if all of them apply.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use events::{Actor, EventKind, StoredEvent, WriteKind, WriteRef};
use model::schema_change::SchemaChange;
use model::write::{self, Applied};
use model::{ClassSchema, Object, ParseError};
use readmodel::{Change, Commit, ReadStore, StoreError};

use model::outcome::{Outcome, WriteResult};

type ObjectKey = (String, String, String);
type ClassKey = (String, String);

/// The objects and schemas a folded batch left, for folding the next one before it commits:
/// a layer (its changes gone to the commit) that the next fold reads through, not a copy.
#[derive(Default)]
pub struct Pending(Layer);

/// Changes not in the store yet. `purged` classes had every object deleted: below this layer
/// they have none, and `objects` holds only what was written to them after the purge.
/// `stripped` fields were deleted from their class: objects read from below this layer lose
/// them (objects in it were stripped when the field went). A `None` schema is a deleted class.
#[derive(Default)]
struct Layer {
    objects: HashMap<ObjectKey, Option<Object>>,
    schemas: HashMap<ClassKey, Option<ClassSchema>>,
    purged: HashSet<ClassKey>,
    stripped: Vec<(ClassKey, String)>,
    changes: Vec<Change>,
}

impl Layer {
    fn merge(&mut self, other: Layer) {
        for class in other.purged {
            purge(&mut self.objects, &class);
            self.purged.insert(class);
        }
        for (class, field) in other.stripped {
            strip(&mut self.objects, &class, &field);
            self.stripped.push((class, field));
        }
        self.objects.extend(other.objects);
        self.schemas.extend(other.schemas);
        self.changes.extend(other.changes);
    }
}

/// Forgets the objects of `class` in `objects`.
fn purge(objects: &mut HashMap<ObjectKey, Option<Object>>, class: &ClassKey) {
    objects.retain(|(app, c, _), _| (app, c) != (&class.0, &class.1));
}

/// Removes `field` from the objects of `class` in `objects`.
fn strip(objects: &mut HashMap<ObjectKey, Option<Object>>, class: &ClassKey, field: &str) {
    for ((app, c, _), o) in objects.iter_mut() {
        if let (true, Some(o)) = ((app, c) == (&class.0, &class.1), o) {
            o.fields.remove(field);
        }
    }
}

struct View<'a> {
    store: &'a dyn ReadStore,
    /// Objects the batch touches, as the store had them before it: fetched in one query per
    /// class instead of one per event.
    before: &'a Before,
    /// What the previous batch left, if it may not be committed yet.
    pending: Option<&'a Layer>,
    committed: &'a Layer,
    scratch: Layer,
}

impl View<'_> {
    /// The layers above the store, the latest first.
    fn layers(&self) -> impl Iterator<Item = &Layer> {
        [Some(&self.scratch), Some(self.committed), self.pending]
            .into_iter()
            .flatten()
    }

    async fn object(&self, app: &str, class: &str, id: &str) -> Result<Option<Object>, StoreError> {
        let key = (app.to_string(), class.to_string(), id.to_string());
        let class_key = (key.0.clone(), key.1.clone());
        for layer in self.layers() {
            if let Some(o) = layer.objects.get(&key) {
                return Ok(o.clone());
            }
            if layer.purged.contains(&class_key) {
                return Ok(None);
            }
        }
        let mut found = match self.before.objects.get(&key) {
            Some(o) => o.clone(),
            None => self.store.get(app, class, id).await?,
        };
        for layer in self.layers() {
            strip_one(&mut found, &class_key, &layer.stripped);
        }
        Ok(found)
    }

    /// The unique field (a username, an email, a role name) that `object` would share with
    /// another object of its class at this point of the fold.
    async fn unique_violation(
        &self,
        app: &str,
        class: &str,
        object: &Object,
    ) -> Result<Option<ParseError>, StoreError> {
        let fields = model::user::unique_keys(class, object);
        if fields.is_empty() {
            return Ok(None);
        }
        // Candidates: holders in the store, and whatever the overlay holds of the class; each
        // is then read as the fold sees it now (a later write in the batch wins).
        let mut ids: HashSet<String> = HashSet::new();
        for (field, _, _) in fields {
            let Some(value) = object.get(field.as_str()).filter(|v| !v.is_null()) else {
                continue;
            };
            let query = model::query::Query {
                filter: model::query::Filter::Field {
                    path: field.to_string(),
                    cond: model::query::Cond::Eq(value.clone()),
                },
                limit: 2,
                ..model::query::Query::default()
            };
            for o in self.store.find(app, class, &query).await? {
                ids.insert(o.object_id().to_string());
            }
        }
        let layers = self.layers().map(|layer| &layer.objects);
        for objects in layers.chain([&self.before.objects]) {
            for (a, c, id) in objects.keys() {
                if a == app && c == class {
                    ids.insert(id.clone());
                }
            }
        }
        let mut others = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(o) = self.object(app, class, &id).await? {
                others.push(o);
            }
        }
        Ok(model::user::unique_violation(class, object, &others))
    }

    /// How many objects `class` has at this point of the fold: the store's count corrected by
    /// what the layers above it created and deleted.
    async fn count(&self, app: &str, class: &str) -> Result<u64, StoreError> {
        let class_key = (app.to_string(), class.to_string());
        // Levels from the top down, stopping at the latest purge (nothing under it shows).
        let mut levels = Vec::new();
        let mut store_shows = true;
        for layer in self.layers() {
            levels.push(&layer.objects);
            if layer.purged.contains(&class_key) {
                store_shows = false;
                break;
            }
        }
        if store_shows {
            levels.push(&self.before.objects);
        }
        let mut verdicts: HashMap<&str, bool> = HashMap::new();
        for objects in levels.into_iter().rev() {
            for ((a, c, id), o) in objects {
                if (a, c) == (&class_key.0, &class_key.1) {
                    verdicts.insert(id, o.is_some());
                }
            }
        }
        if !store_shows {
            return Ok(verdicts.values().filter(|v| **v).count() as u64);
        }
        let ids: Vec<String> = verdicts.keys().map(|id| id.to_string()).collect();
        let in_store: HashSet<String> = self
            .store
            .get_many(app, class, &ids)
            .await?
            .iter()
            .map(|o| o.object_id().to_string())
            .collect();
        let mut n = self
            .store
            .count(app, class, &model::query::Query::default())
            .await? as i64;
        for (id, exists) in verdicts {
            n += exists as i64 - in_store.contains(id) as i64;
        }
        Ok(n.max(0) as u64)
    }

    /// The class's schema, and whether the class exists yet.
    async fn schema(
        &self,
        app: &str,
        class: &str,
    ) -> Result<(Cow<'_, ClassSchema>, bool), StoreError> {
        let key = (app.to_string(), class.to_string());
        let held = self
            .layers()
            .find_map(|layer| layer.schemas.get(&key))
            .or_else(|| self.before.schemas.get(&key));
        let stored = match held {
            Some(s) => s.as_ref().map(Cow::Borrowed),
            None => self.store.schema(app, class).await?.map(Cow::Owned),
        };
        Ok(match stored {
            Some(s) => (s, true),
            None => (Cow::Owned(ClassSchema::new(class)), false),
        })
    }

    /// Records a write that applied; `created` if no object had its id before it, `schema` the
    /// class's new schema if the write changes it.
    fn record(
        &mut self,
        app: &str,
        class: &str,
        schema: Option<ClassSchema>,
        applied: Applied,
        created: bool,
    ) {
        let (app, class) = (app.to_string(), class.to_string());
        let id = applied.object.object_id().to_string();
        if let Some(schema) = schema {
            self.scratch
                .schemas
                .insert((app.clone(), class.clone()), Some(schema.clone()));
            self.scratch.changes.push(Change::PutSchema {
                app: app.clone(),
                schema,
            });
        }
        self.scratch.objects.insert(
            (app.clone(), class.clone(), id.clone()),
            Some(applied.object.clone()),
        );
        self.scratch.changes.push(Change::PutObject {
            app: app.clone(),
            class: class.clone(),
            object: applied.object,
            created,
        });
        for delta in applied.relations {
            self.scratch.changes.push(Change::Relation {
                app: app.clone(),
                class: class.clone(),
                owner: id.clone(),
                delta,
            });
        }
    }

    /// Folds one write; `Ok(Err(_))` is a Parse-level rejection, `Err(_)` a storage failure.
    async fn write(
        &mut self,
        app: &str,
        at: &str,
        actor: &Actor,
        w: WriteRef<'_>,
    ) -> Result<Result<WriteResult, ParseError>, StoreError> {
        let current = self.object(app, w.class, w.object_id).await?;
        // An update or delete the actor's ACL entries do not allow is, to them, of nothing.
        if let (WriteKind::Update | WriteKind::Delete, Some(cur)) = (w.kind, &current) {
            if let Some(groups) = writers(actor) {
                if !model::acl::allows(cur.get("ACL"), "write", &groups) {
                    return Ok(Err(ParseError::not_found()));
                }
            }
        }
        let kind = match w.kind {
            WriteKind::Create => write::WriteKind::Create,
            _ => write::WriteKind::Update,
        };
        let ops = match write::parse_body(w.ops, kind) {
            Ok(ops) => ops,
            Err(e) => return Ok(Err(e)),
        };
        let (schema, exists) = self.schema(app, w.class).await?;
        let applied = match (w.kind, &current) {
            (WriteKind::Create, Some(_)) => {
                return Ok(Err(ParseError::new(
                    model::code::DUPLICATE_VALUE,
                    "A duplicate value for a field with unique values was provided",
                )))
            }
            (WriteKind::Create, None) => write::create(&schema, w.object_id, at, &ops),
            (_, None) => return Ok(Err(ParseError::not_found())),
            (WriteKind::Update, Some(cur)) => write::update(&schema, cur, at, &ops),
            (WriteKind::Delete, Some(cur)) => {
                let key = (
                    app.to_string(),
                    w.class.to_string(),
                    w.object_id.to_string(),
                );
                self.scratch.objects.insert(key, None);
                self.scratch.changes.push(Change::DeleteObject {
                    app: app.to_string(),
                    class: w.class.to_string(),
                    object_id: w.object_id.to_string(),
                });
                return Ok(Ok(WriteResult {
                    object_id: w.object_id.to_string(),
                    created_at: cur.created_at().to_string(),
                    updated_at: cur.updated_at().to_string(),
                    results: Default::default(),
                }));
            }
        };
        let applied = match applied.and_then(|mut a| {
            write::set_internal(&mut a.object, w.internal)?;
            Ok(a)
        }) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        // The first object of a class creates the class, even with no fields of its own.
        let schema = (!applied.new_fields.is_empty() || !exists).then(|| {
            let mut schema = schema.into_owned();
            schema.fields.extend(applied.new_fields.iter().cloned());
            schema
        });
        if let Some(e) = self.unique_violation(app, w.class, &applied.object).await? {
            return Ok(Err(e));
        }
        let result = WriteResult {
            object_id: w.object_id.to_string(),
            created_at: applied.object.created_at().to_string(),
            updated_at: applied.object.updated_at().to_string(),
            results: applied.results.clone(),
        };
        self.record(app, w.class, schema, applied, current.is_none());
        Ok(Ok(result))
    }
}

/// The ACL entries an actor writes with; `None` for the master key, which every ACL lets in.
fn writers(actor: &Actor) -> Option<Vec<String>> {
    match actor.kind.as_str() {
        "master" => None,
        _ => Some(model::acl::groups(actor.user_id.as_deref(), &actor.roles)),
    }
}

/// The store's state before the batch, for everything the batch writes.
#[derive(Default)]
struct Before {
    objects: HashMap<ObjectKey, Option<Object>>,
    schemas: HashMap<ClassKey, Option<ClassSchema>>,
}

/// Removes from `object` (of `class`) the fields `stripped` deleted from its class.
fn strip_one(object: &mut Option<Object>, class: &ClassKey, stripped: &[(ClassKey, String)]) {
    if let Some(o) = object {
        for (c, field) in stripped {
            if c == class {
                o.fields.remove(field);
            }
        }
    }
}

/// Reads what the batch will write in two queries per class (its schema and its objects)
/// instead of one or two per event. With `assume_new`, the objects the batch only creates are
/// taken for new without reading them (the store refuses the commit if one was not).
async fn prefetch(
    store: &dyn ReadStore,
    batch: &[StoredEvent],
    assume_new: bool,
) -> Result<Before, StoreError> {
    let mut wanted: HashMap<ClassKey, Vec<(String, bool)>> = HashMap::new();
    for stored in batch {
        for w in stored.event.writes() {
            let create = w.kind == WriteKind::Create;
            wanted
                .entry((stored.event.app.clone(), w.class.to_string()))
                .or_default()
                .push((w.object_id.to_string(), create));
        }
    }
    let mut before = Before::default();
    for ((app, class), mut writes) in wanted {
        writes.sort();
        let mut ids: Vec<String> = Vec::with_capacity(writes.len());
        let mut read: Vec<String> = Vec::with_capacity(writes.len());
        // Sorted, an id's non-create writes (`false`) come before its creates.
        for (id, create) in writes {
            if ids.last() == Some(&id) {
                continue;
            }
            if !(assume_new && create) {
                read.push(id.clone());
            }
            ids.push(id);
        }
        let schema = store.schema(&app, &class).await?;
        let found = match read.is_empty() {
            true => Vec::new(),
            false => store.get_many(&app, &class, &read).await?,
        };
        for id in ids {
            before
                .objects
                .insert((app.clone(), class.clone(), id), None);
        }
        for o in found {
            let key = (app.clone(), class.clone(), o.object_id().to_string());
            before.objects.insert(key, Some(o));
        }
        before.schemas.insert((app, class), schema);
    }
    Ok(before)
}

/// Folds a run of events of one partition into one commit, with the outcome of each event.
///
/// `since` is the position the batch follows. `pending` is the state a previous batch left
/// that may not be committed yet: it overrides what the store says, so the projector can fold
/// the next batch while the previous one commits. `assume_new`: the objects the batch creates
/// are taken for new without reading them; only for a store that `refuses_known_ids`, and
/// the batch is folded again without it if the store refuses the commit.
pub async fn fold_batch(
    store: &dyn ReadStore,
    partition: u32,
    since: u64,
    pending: Option<&Pending>,
    batch: &[StoredEvent],
    assume_new: bool,
) -> Result<(Commit, Pending), StoreError> {
    let mut committed = Layer::default();
    let mut outcomes = Vec::with_capacity(batch.len());
    let before = prefetch(store, batch, assume_new).await?;
    let mut position = since;
    for stored in batch {
        let event = &stored.event;
        let span = tracing::trace_span!(
            "event",
            position = stored.position,
            kind = event.kind.as_str()
        );
        let _enter = span.enter();
        let mut view = View {
            store,
            before: &before,
            pending: pending.map(|p| &p.0),
            committed: &committed,
            scratch: Layer::default(),
        };
        let mut results = Vec::new();
        let mut rejected = None;
        for (index, w) in event.writes().into_iter().enumerate() {
            match view.write(&event.app, &event.at, &event.actor, w).await? {
                Ok(r) => results.push(r),
                Err(error) => {
                    rejected = Some(Outcome::Rejected { index, error });
                    break;
                }
            }
        }
        if let (EventKind::SchemaUpdated, Some(class), Some(change)) =
            (event.kind, &event.class, &event.payload.schema)
        {
            let current = view.schema(&event.app, class).await?;
            let decided = SchemaChange::from_event(class, change).and_then(|c| {
                c.apply(class, current.1.then_some(&current.0))
                    .map(|schema| (schema, c.delete))
            });
            match decided {
                Ok((schema, deleted)) => {
                    let key = (event.app.clone(), class.clone());
                    for field in deleted {
                        view.scratch.stripped.push((key.clone(), field.clone()));
                        view.scratch.changes.push(Change::DropField {
                            app: event.app.clone(),
                            class: class.clone(),
                            field,
                        });
                    }
                    view.scratch.schemas.insert(key, Some(schema.clone()));
                    view.scratch.changes.push(Change::PutSchema {
                        app: event.app.clone(),
                        schema,
                    });
                }
                Err(error) => rejected = Some(Outcome::Rejected { index: 0, error }),
            }
        }
        if let (EventKind::SchemaDeleted, Some(class)) = (event.kind, &event.class) {
            match view.count(&event.app, class).await? {
                0 => {
                    let key = (event.app.clone(), class.clone());
                    view.scratch.schemas.insert(key, None);
                    view.scratch.changes.push(Change::DropClass {
                        app: event.app.clone(),
                        class: class.clone(),
                    });
                }
                n => {
                    let error = model::schema_change::not_empty(class, n);
                    rejected = Some(Outcome::Rejected { index: 0, error });
                }
            }
        }
        let mut scratch = view.scratch;
        if let Some(class) = event.purged_class() {
            scratch
                .purged
                .insert((event.app.clone(), class.to_string()));
            scratch.changes.push(Change::PurgeClass {
                app: event.app.clone(),
                class: class.to_string(),
            });
        }
        if let Some(t) = &event.payload.tracked {
            scratch
                .changes
                .push(tracked_change(&event.app, &event.at, t));
        }
        let outcome = match rejected {
            Some(r) => r,
            None => {
                committed.merge(scratch);
                Outcome::Applied { writes: results }
            }
        };
        outcomes.push((event.id, outcome));
        position = stored.position;
    }
    let commit = Commit {
        partition,
        since,
        position,
        changes: std::mem::take(&mut committed.changes),
        outcomes,
        announce: true,
    };
    let state = Pending(committed);
    Ok((commit, state))
}

/// The count an analytics event adds to: its hour (the client's `at`, else the event's time)
/// and its dimensions with keys sorted, so equal dimensions count together.
fn tracked_change(app: &str, at: &str, t: &events::Tracked) -> Change {
    let hour =
        t.at.as_deref()
            .and_then(model::time::hour_of)
            .or_else(|| model::time::hour_of(at))
            .unwrap_or_default();
    let mut keys: Vec<&String> = t.dimensions.keys().collect();
    keys.sort();
    let dimensions = keys
        .into_iter()
        .map(|k| (k.clone(), t.dimensions[k].clone()))
        .collect();
    Change::Tracked {
        app: app.to_string(),
        name: t.name.clone(),
        hour,
        dimensions,
    }
}
