//! The in-memory read model of the embedded stack: per app, class schemas, objects and relation
//! join tables, behind one lock per app. Rebuilt from the log at start.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use model::query::Query;
use model::{ClassSchema, Map, Object};
use parking_lot::RwLock;

use crate::{AuthChange, Change, Commit, ProjectionStore, ReadStore, StoreError, TrackedCount};

#[derive(Default, Debug, PartialEq)]
struct ClassData {
    objects: HashMap<String, Arc<Map>>,
    /// (field, owner id) -> related ids.
    relations: BTreeMap<(String, String), BTreeSet<String>>,
}

#[derive(Default, Debug, PartialEq)]
struct AppData {
    schemas: BTreeMap<String, ClassSchema>,
    classes: HashMap<String, ClassData>,
    /// (event name, hour, dimensions as JSON text) -> count.
    tracked: BTreeMap<(String, String, String), u64>,
}

pub struct MemoryStore {
    apps: DashMap<String, Arc<RwLock<AppData>>>,
    /// The embedded log has one partition, 0.
    position: AtomicU64,
    auth: tokio::sync::broadcast::Sender<AuthChange>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            apps: DashMap::new(),
            position: AtomicU64::new(0),
            auth: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn app(&self, app: &str) -> Option<Arc<RwLock<AppData>>> {
        self.apps.get(app).map(|a| a.clone())
    }

    fn app_mut(&self, app: &str) -> Arc<RwLock<AppData>> {
        self.apps.entry(app.to_string()).or_default().clone()
    }

    fn matching(&self, app: &str, class: &str, query: &Query) -> Vec<Arc<Map>> {
        let Some(app) = self.app(app) else {
            return vec![];
        };
        let data = app.read();
        let Some(class) = data.classes.get(class) else {
            return vec![];
        };
        class
            .objects
            .values()
            .filter(|o| query.matches(o))
            .cloned()
            .collect()
    }

    /// Every app's state, canonically ordered: equal for two stores folded from the same log.
    pub fn snapshot(&self) -> String {
        let mut apps: Vec<_> = self
            .apps
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        apps.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::new();
        for (name, app) in apps {
            let data = app.read();
            out.push_str(&format!("app {name}\n"));
            for (class, schema) in &data.schemas {
                out.push_str(&format!("schema {class} {:?}\n", schema.fields));
            }
            let mut classes: Vec<_> = data.classes.iter().collect();
            classes.sort_by(|a, b| a.0.cmp(b.0));
            for (class, cd) in classes {
                let objects: BTreeMap<_, _> = cd.objects.iter().collect();
                for (id, o) in objects {
                    out.push_str(&format!(
                        "{class}/{id} {}\n",
                        serde_json::Value::Object((**o).clone())
                    ));
                }
                for ((field, owner), ids) in &cd.relations {
                    out.push_str(&format!("{class}/{owner}.{field} {ids:?}\n"));
                }
            }
            for ((name, hour, dimensions), count) in &data.tracked {
                out.push_str(&format!("tracked {name} {hour} {dimensions} {count}\n"));
            }
        }
        out
    }
}

#[async_trait]
impl ReadStore for MemoryStore {
    async fn schema(&self, app: &str, class: &str) -> Result<Option<ClassSchema>, StoreError> {
        Ok(self
            .app(app)
            .and_then(|a| a.read().schemas.get(class).cloned()))
    }

    async fn get(
        &self,
        app: &str,
        class: &str,
        object_id: &str,
    ) -> Result<Option<Object>, StoreError> {
        Ok(self.app(app).and_then(|a| {
            let data = a.read();
            let o = data.classes.get(class)?.objects.get(object_id)?;
            Some(Object {
                fields: (**o).clone(),
            })
        }))
    }

    async fn get_many(
        &self,
        app: &str,
        class: &str,
        object_ids: &[String],
    ) -> Result<Vec<Object>, StoreError> {
        Ok(self
            .app(app)
            .map(|a| {
                let data = a.read();
                data.classes
                    .get(class)
                    .map(|c| {
                        object_ids
                            .iter()
                            .filter_map(|id| c.objects.get(id))
                            .map(|o| Object {
                                fields: (**o).clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_default())
    }

    async fn find(&self, app: &str, class: &str, query: &Query) -> Result<Vec<Object>, StoreError> {
        let mut found = self.matching(app, class, query);
        query.sort(&mut found);
        Ok(found
            .into_iter()
            .skip(query.skip)
            .take(query.limit)
            .map(|o| Object {
                fields: (*o).clone(),
            })
            .collect())
    }

    async fn count(&self, app: &str, class: &str, query: &Query) -> Result<u64, StoreError> {
        Ok(self.matching(app, class, query).len() as u64)
    }

    async fn related(
        &self,
        app: &str,
        class: &str,
        field: &str,
        owner: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .app(app)
            .and_then(|a| {
                let data = a.read();
                let ids = data
                    .classes
                    .get(class)?
                    .relations
                    .get(&(field.to_string(), owner.to_string()))?;
                Some(ids.iter().cloned().collect())
            })
            .unwrap_or_default())
    }

    async fn owners(
        &self,
        app: &str,
        class: &str,
        field: &str,
        targets: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .app(app)
            .and_then(|a| {
                let data = a.read();
                let cd = data.classes.get(class)?;
                Some(
                    cd.relations
                        .iter()
                        .filter(|((f, _), ids)| {
                            f == field && targets.iter().any(|t| ids.contains(t))
                        })
                        .map(|((_, owner), _)| owner.clone())
                        .collect(),
                )
            })
            .unwrap_or_default())
    }

    async fn schemas(&self, app: &str) -> Result<Vec<ClassSchema>, StoreError> {
        Ok(self
            .app(app)
            .map(|a| a.read().schemas.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn tracked(&self, app: &str, name: &str) -> Result<Vec<TrackedCount>, StoreError> {
        Ok(self
            .app(app)
            .map(|a| {
                a.read()
                    .tracked
                    .iter()
                    .filter(|((n, _, _), _)| n == name)
                    .map(|((_, hour, dimensions), count)| TrackedCount {
                        hour: hour.clone(),
                        dimensions: serde_json::from_str(dimensions).unwrap_or_default(),
                        count: *count,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    fn auth_changes(&self) -> Option<tokio::sync::broadcast::Receiver<AuthChange>> {
        Some(self.auth.subscribe())
    }

    async fn position(&self, _partition: u32) -> Result<u64, StoreError> {
        Ok(self.position.load(Ordering::Acquire))
    }
}

fn apply(data: &mut AppData, change: Change) {
    match change {
        Change::PutSchema { schema, .. } => {
            data.schemas.insert(schema.class_name.clone(), schema);
        }
        Change::PutObject { class, object, .. } => {
            let id = object.object_id().to_string();
            data.classes
                .entry(class)
                .or_default()
                .objects
                .insert(id, Arc::new(object.fields));
        }
        Change::DeleteObject {
            class, object_id, ..
        } => {
            if let Some(cd) = data.classes.get_mut(&class) {
                cd.objects.remove(&object_id);
                cd.relations.retain(|(_, owner), _| owner != &object_id);
            }
        }
        Change::Relation {
            class,
            owner,
            delta,
            ..
        } => {
            let cd = data.classes.entry(class).or_default();
            let key = (delta.field.clone(), owner);
            let ids = cd.relations.entry(key.clone()).or_default();
            ids.extend(delta.add.iter().cloned());
            for id in &delta.remove {
                ids.remove(id);
            }
            if ids.is_empty() {
                cd.relations.remove(&key);
            }
        }
        Change::PurgeClass { class, .. } => {
            data.classes.remove(&class);
        }
        Change::DropField { class, field, .. } => {
            if let Some(cd) = data.classes.get_mut(&class) {
                for fields in cd.objects.values_mut() {
                    if fields.contains_key(&field) {
                        Arc::make_mut(fields).remove(&field);
                    }
                }
                cd.relations.retain(|(f, _), _| f != &field);
            }
        }
        Change::DropClass { class, .. } => {
            data.classes.remove(&class);
            data.schemas.remove(&class);
        }
        Change::Tracked {
            name,
            hour,
            dimensions,
            ..
        } => {
            let dims = serde_json::Value::Object(dimensions).to_string();
            *data.tracked.entry((name, hour, dims)).or_default() += 1;
        }
    }
}

#[async_trait]
impl ProjectionStore for MemoryStore {
    /// Applies a commit under the write locks of every app it touches, so readers see all of
    /// it or none of it (a transaction is never seen half applied).
    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let mut names: Vec<String> = commit.changes.iter().map(|c| c.app().to_string()).collect();
        names.sort();
        names.dedup();
        let announced = crate::auth_changes_of(&commit.changes);
        let apps: Vec<_> = names.iter().map(|n| self.app_mut(n)).collect();
        let mut guards: HashMap<&str, _> = names
            .iter()
            .map(String::as_str)
            .zip(apps.iter().map(|a| a.write()))
            .collect();
        for change in commit.changes {
            if let Some(data) = guards.get_mut(change.app()) {
                apply(data, change);
            }
        }
        self.position.store(commit.position, Ordering::Release);
        drop(guards);
        for change in announced {
            // Nobody listening is fine: nothing is cached.
            let _ = self.auth.send(change);
        }
        Ok(())
    }
}
