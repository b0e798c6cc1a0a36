//! The `EventLog` trait: append durably, read from a position, follow the tail.

use async_trait::async_trait;
use tokio::sync::watch;

use crate::{Event, LogError, StoredEvent};

#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` in order and returns their positions once they are durable.
    async fn append(&self, events: Vec<Event>) -> Result<Vec<u64>, LogError>;

    /// Up to `max` events at positions `>= from`, in order.
    async fn read(&self, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError>;

    /// The position of the last durable event (0 when the log is empty), watched.
    fn head(&self) -> watch::Receiver<u64>;

    /// Follows the tail: waits until an event at `>= from` exists, then returns up to `max`.
    async fn next_batch(&self, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        let mut head = self.head();
        loop {
            if *head.borrow_and_update() >= from {
                let batch = self.read(from, max).await?;
                if !batch.is_empty() {
                    return Ok(batch);
                }
            }
            head.changed().await.map_err(|_| LogError::Closed)?;
        }
    }
}
