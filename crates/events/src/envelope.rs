//! The event envelope (version 1) and its payloads, as documented in `docs/events.md`.
//! Events are facts: they carry everything needed to replay them (ids, timestamps, the
//! normalised operations, the actor) and never a secret in plain text.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

pub const ENVELOPE_VERSION: u16 = 1;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// `master`, `user` or `public` (app keys only).
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<String>,
    /// The user's roles (names, inherited ones included) as the server saw them when it took
    /// the request: the projector checks write ACLs with them, so a replay decides the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl Actor {
    pub fn master() -> Self {
        Actor {
            kind: "master".into(),
            ..Default::default()
        }
    }

    pub fn public() -> Self {
        Actor {
            kind: "public".into(),
            ..Default::default()
        }
    }
}

/// What a single write does to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteKind {
    #[serde(rename = "object.created")]
    Create,
    #[serde(rename = "object.updated")]
    Update,
    #[serde(rename = "object.deleted")]
    Delete,
}

/// One write to one object: the unit of an object event and of a transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Write {
    pub kind: WriteKind,
    pub class: String,
    pub object_id: String,
    /// Field operations in Parse's JSON form (`{"n":{"__op":"Increment","amount":1}}`), or
    /// plain values; empty for a delete.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub ops: Map<String, Value>,
    /// Fields only the server writes and no client ever reads (`_hashed_password`, the hash of a
    /// session token, …): set as given (`null` removes), outside the schema.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal: Map<String, Value>,
}

/// A write as an event holds it, borrowed: what the fold reads, without copying its operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteRef<'a> {
    pub kind: WriteKind,
    pub class: &'a str,
    pub object_id: &'a str,
    pub ops: &'a Map<String, Value>,
    pub internal: &'a Map<String, Value>,
}

impl Write {
    pub fn as_ref(&self) -> WriteRef<'_> {
        WriteRef {
            kind: self.kind,
            class: &self.class,
            object_id: &self.object_id,
            ops: &self.ops,
            internal: &self.internal,
        }
    }
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "object.created")]
    ObjectCreated,
    #[serde(rename = "object.updated")]
    ObjectUpdated,
    #[serde(rename = "object.deleted")]
    ObjectDeleted,
    /// A batch sent with `"transaction": true`: applied all together or not at all.
    #[serde(rename = "transaction")]
    Transaction,
    /// An analytics event (`POST /events/<name>`).
    #[serde(rename = "analytics.tracked")]
    AnalyticsTracked,
    /// Every object of `class` deleted, its schema kept (`DELETE /purge/<class>`).
    #[serde(rename = "class.purged")]
    ClassPurged,
    /// The schema API created or changed `class` (`POST`/`PUT /schemas/<class>`).
    #[serde(rename = "schema.updated")]
    SchemaUpdated,
    /// The schema API deleted `class`, which must have no objects (`DELETE /schemas/<class>`).
    #[serde(rename = "schema.deleted")]
    SchemaDeleted,
    /// A file was uploaded (`POST /files/<name>`); its bytes live in the file store.
    #[serde(rename = "file.stored")]
    FileStored,
    /// A file was deleted (`DELETE /files/<name>`, master key).
    #[serde(rename = "file.deleted")]
    FileDeleted,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::ObjectCreated => "object.created",
            EventKind::ObjectUpdated => "object.updated",
            EventKind::ObjectDeleted => "object.deleted",
            EventKind::Transaction => "transaction",
            EventKind::AnalyticsTracked => "analytics.tracked",
            EventKind::ClassPurged => "class.purged",
            EventKind::SchemaUpdated => "schema.updated",
            EventKind::SchemaDeleted => "schema.deleted",
            EventKind::FileStored => "file.stored",
            EventKind::FileDeleted => "file.deleted",
        }
    }
}

/// The kind-specific part of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Payload {
    /// Object events: the field operations, as in [`Write::ops`].
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub ops: Map<String, Value>,
    /// Object events: the server-only fields, as in [`Write::internal`].
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal: Map<String, Value>,
    /// Transactions: the writes, in request order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<Write>,
    /// Schema events: the change (`create`, `fields` added, `classLevelPermissions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Analytics events: what was tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracked: Option<Tracked>,
    /// File events: which file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRecord>,
}

/// A file as the log knows it: its stored name and, when uploaded, its size, content type and
/// SHA-256 (hex), so the log can vouch for the bytes the file store holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// An analytics event: its name, its dimensions (at most eight string pairs) and, when the
/// client gave one, the time it says the event happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Tracked {
    pub name: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub dimensions: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Envelope version; consumers must ignore fields they do not know.
    pub v: u16,
    pub id: Uuid,
    pub app: String,
    /// Server time of the write, ISO 8601 UTC with milliseconds; it becomes the objects'
    /// `createdAt`/`updatedAt`, so replay reproduces them exactly.
    pub at: String,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub kind: EventKind,
    /// The object's class and id, for object events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default)]
    pub payload: Payload,
}

/// Where and by whom an event happened: the envelope fields shared by every kind.
#[derive(Debug, Clone)]
pub struct Origin {
    pub app: String,
    pub at: String,
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl Event {
    fn new(origin: Origin, kind: EventKind) -> Self {
        Event {
            v: ENVELOPE_VERSION,
            id: Uuid::now_v7(),
            app: origin.app,
            at: origin.at,
            actor: origin.actor,
            request_id: origin.request_id,
            kind,
            class: None,
            object_id: None,
            payload: Payload::default(),
        }
    }

    /// An event for one object write.
    pub fn object(origin: Origin, write: Write) -> Self {
        let kind = match write.kind {
            WriteKind::Create => EventKind::ObjectCreated,
            WriteKind::Update => EventKind::ObjectUpdated,
            WriteKind::Delete => EventKind::ObjectDeleted,
        };
        let mut e = Event::new(origin, kind);
        e.class = Some(write.class);
        e.object_id = Some(write.object_id);
        e.payload.ops = write.ops;
        e.payload.internal = write.internal;
        e
    }

    /// An all-or-nothing batch of writes.
    pub fn transaction(origin: Origin, writes: Vec<Write>) -> Self {
        let mut e = Event::new(origin, EventKind::Transaction);
        e.payload.writes = writes;
        e
    }

    /// An analytics event.
    pub fn tracked(origin: Origin, tracked: Tracked) -> Self {
        let mut e = Event::new(origin, EventKind::AnalyticsTracked);
        e.payload.tracked = Some(tracked);
        e
    }

    /// Deletes every object of `class`.
    pub fn purge(origin: Origin, class: &str) -> Self {
        let mut e = Event::new(origin, EventKind::ClassPurged);
        e.class = Some(class.to_string());
        e
    }

    /// A schema change of `class`.
    pub fn schema(origin: Origin, class: &str, change: Value) -> Self {
        let mut e = Event::new(origin, EventKind::SchemaUpdated);
        e.class = Some(class.to_string());
        e.payload.schema = Some(change);
        e
    }

    /// A file stored (`FileStored`) or deleted (`FileDeleted`).
    pub fn file(origin: Origin, kind: EventKind, file: FileRecord) -> Self {
        let mut e = Event::new(origin, kind);
        e.payload.file = Some(file);
        e
    }

    /// Deletes the (empty) class `class`.
    pub fn schema_deleted(origin: Origin, class: &str) -> Self {
        let mut e = Event::new(origin, EventKind::SchemaDeleted);
        e.class = Some(class.to_string());
        e
    }

    /// The class this event purges, if it is a purge.
    pub fn purged_class(&self) -> Option<&str> {
        match self.kind {
            EventKind::ClassPurged => self.class.as_deref(),
            _ => None,
        }
    }

    /// The writes this event makes, in order.
    pub fn writes(&self) -> Vec<WriteRef<'_>> {
        let kind = match self.kind {
            EventKind::ObjectCreated => WriteKind::Create,
            EventKind::ObjectUpdated => WriteKind::Update,
            EventKind::ObjectDeleted => WriteKind::Delete,
            EventKind::Transaction => {
                return self.payload.writes.iter().map(Write::as_ref).collect()
            }
            EventKind::AnalyticsTracked
            | EventKind::ClassPurged
            | EventKind::SchemaUpdated
            | EventKind::SchemaDeleted
            | EventKind::FileStored
            | EventKind::FileDeleted => return vec![],
        };
        vec![WriteRef {
            kind,
            class: self.class.as_deref().unwrap_or_default(),
            object_id: self.object_id.as_deref().unwrap_or_default(),
            ops: &self.payload.ops,
            internal: &self.payload.internal,
        }]
    }
}

/// An event with its position in the log (positions start at 1 and only grow).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: u64,
    pub event: Event,
    /// Handed over by this process's own producer (see `handoff`): whoever waits for its
    /// outcome waits in this process.
    pub local: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin() -> Origin {
        Origin {
            app: "app".into(),
            at: "2024-01-01T00:00:00.000Z".into(),
            actor: Actor::master(),
            request_id: Some("req-1".into()),
        }
    }

    #[test]
    fn object_event_json_shape() {
        let mut ops = Map::new();
        ops.insert("n".into(), json!({"__op": "Increment", "amount": 1}));
        let w = Write {
            kind: WriteKind::Update,
            class: "C".into(),
            object_id: "o1".into(),
            ops,
            internal: Default::default(),
        };
        let e = Event::object(origin(), w.clone());
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["kind"], "object.updated");
        assert_eq!(v["class"], "C");
        assert_eq!(v["objectId"], "o1");
        assert_eq!(v["payload"]["ops"]["n"]["amount"], 1);
        assert_eq!(v["actor"], json!({"kind": "master"}));
        assert_eq!(v["requestId"], "req-1");
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.writes(), vec![w.as_ref()]);
    }

    #[test]
    fn transaction_event_json_shape() {
        let w = Write {
            kind: WriteKind::Delete,
            class: "C".into(),
            object_id: "o1".into(),
            ops: Map::new(),
            internal: Default::default(),
        };
        let e = Event::transaction(origin(), vec![w.clone(), w.clone()]);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "transaction");
        assert!(v.get("class").is_none());
        assert_eq!(
            v["payload"]["writes"][1],
            json!({"kind": "object.deleted", "class": "C", "objectId": "o1"})
        );
        assert_eq!(e.writes().len(), 2);
    }

    #[test]
    fn analytics_event_round_trips_and_writes_nothing() {
        let mut dimensions = Map::new();
        dimensions.insert("source".into(), json!("web"));
        let e = Event::tracked(
            origin(),
            Tracked {
                name: "Search".into(),
                dimensions,
                at: None,
            },
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "analytics.tracked");
        assert_eq!(
            v["payload"],
            json!({"tracked": {"name": "Search", "dimensions": {"source": "web"}}})
        );
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
        assert!(back.writes().is_empty());
    }
}
