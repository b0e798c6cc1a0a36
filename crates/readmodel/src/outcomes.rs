//! Requests waiting for their events' outcomes. The projector publishes into it directly when
//! it runs in the same process; in the distributed stack a PostgreSQL listener feeds it.

use dashmap::DashMap;
use model::outcome::Outcome;
use tokio::sync::oneshot;
use uuid::Uuid;

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

    /// Events still waiting, for a poller that recovers notifications lost in transit.
    pub fn pending(&self) -> Vec<Uuid> {
        self.waiting.iter().map(|e| *e.key()).collect()
    }
}
