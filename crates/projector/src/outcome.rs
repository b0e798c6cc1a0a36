//! Outcomes: what the projector decided for each event, delivered to the request waiting on it.

use dashmap::DashMap;
use model::{Map, ParseError};
use tokio::sync::oneshot;
use uuid::Uuid;

/// What one write of an applied event produced.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteResult {
    pub object_id: String,
    pub created_at: String,
    pub updated_at: String,
    /// Values the operations produced (the new counter, the new array).
    pub results: Map,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Applied; one result per write, in order.
    Applied(Vec<WriteResult>),
    /// Rejected as a whole; `index` is the write that failed.
    Rejected { index: usize, error: ParseError },
}

/// Requests waiting for their events' outcomes (in process: the embedded stack).
#[derive(Default)]
pub struct Outcomes {
    waiting: DashMap<Uuid, oneshot::Sender<Outcome>>,
}

impl Outcomes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers interest in an event before it is appended, so the outcome cannot be missed.
    pub fn wait_for(&self, event: Uuid) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        self.waiting.insert(event, tx);
        rx
    }

    /// Forgets a wait (the append failed or the request gave up).
    pub fn cancel(&self, event: &Uuid) {
        self.waiting.remove(event);
    }

    pub fn publish(&self, event: Uuid, outcome: Outcome) {
        if let Some((_, tx)) = self.waiting.remove(&event) {
            let _ = tx.send(outcome);
        }
    }
}
