//! Events: the versioned envelope every write becomes, and the `EventLog` that stores them in
//! order. The embedded log is a SQLite file with group commit; the distributed one is Kafka.

mod envelope;
mod error;
mod handoff;
mod kafka;
mod log;
mod sqlite;

pub use envelope::{
    Actor, Event, EventKind, FileRecord, Origin, Payload, StoredEvent, Tracked, Write, WriteKind,
    WriteRef, ENVELOPE_VERSION,
};
pub use error::LogError;
pub use kafka::{KafkaConfig, KafkaLog};
pub use log::{EventLog, PartitionReader};
pub use sqlite::SqliteLog;
