//! The event log's two sides: `EventLog` appends (and hands out readers), `PartitionReader`
//! reads one partition in order and follows its tail. An app's events all go to one partition,
//! so each app's history is totally ordered; the embedded log has a single partition, 0.

use async_trait::async_trait;

use crate::{Event, LogError, StoredEvent};

#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` in order and returns once they are durable.
    async fn append(&self, events: Vec<Event>) -> Result<(), LogError>;

    /// The partitions of the log.
    async fn partitions(&self) -> Result<Vec<u32>, LogError>;

    /// A reader of one partition.
    async fn reader(&self, partition: u32) -> Result<Box<dyn PartitionReader>, LogError>;
}

#[async_trait]
pub trait PartitionReader: Send {
    fn partition(&self) -> u32;

    /// The position of the last event in the partition now (0 when empty). Positions start
    /// at 1 and only grow.
    async fn end(&mut self) -> Result<u64, LogError>;

    /// Follows the tail: waits until the event at position `from` exists, then returns it and
    /// up to `max - 1` more, at consecutive positions: a reader never skips a position.
    async fn next_batch(&mut self, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError>;
}
