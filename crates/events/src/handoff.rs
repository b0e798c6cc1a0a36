//! The short way from a Kafka append to a reader of the same partition in the same process
//! (`chronicle serve` on Kafka). Once the broker has acknowledged an event (`acks=all`), its
//! offset is known and it is in the log, so the reader need not wait for a fetch to bring it
//! back: the broker's fetch wait and its per-fetch work leave the path from write to read model.
//!
//! The log stays the only truth: a reader takes a handed-over event only at the position the
//! broker acknowledged for it, parses the same bytes the broker stored, and reads from Kafka
//! whatever was not handed over (other processes' events, events dropped when a reader fell
//! behind, everything before it started).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// Handed-over events a reader may hold unread. Past that, appends stop handing over to it and
/// it reads those events from Kafka like any other: the handoff never makes a slow reader
/// hold more memory.
pub(crate) const CAPACITY: usize = 8_192;

/// An event the broker acknowledged: its position (offset + 1) and its bytes as stored.
pub(crate) struct Acked {
    pub position: u64,
    pub body: Arc<str>,
}

/// This process's readers, by partition.
#[derive(Default)]
pub(crate) struct Handoff {
    readers: Mutex<HashMap<u32, Vec<mpsc::Sender<Acked>>>>,
}

impl Handoff {
    /// A new reader of `partition`: it receives what this process appends there from now on.
    pub fn subscribe(&self, partition: u32) -> mpsc::Receiver<Acked> {
        let (tx, rx) = mpsc::channel(CAPACITY);
        if let Ok(mut readers) = self.readers.lock() {
            readers.entry(partition).or_default().push(tx);
        }
        rx
    }

    /// Hands an acknowledged event to the partition's readers, if this process has any (a
    /// command-api alone never pays for the handoff). A full reader misses it (it will read
    /// it from Kafka); a dropped reader is forgotten.
    pub fn publish(&self, partition: u32, position: u64, body: &str) {
        let Ok(mut readers) = self.readers.lock() else {
            return;
        };
        let Some(list) = readers.get_mut(&partition).filter(|l| !l.is_empty()) else {
            return;
        };
        let body: Arc<str> = body.into();
        list.retain(|tx| {
            !matches!(
                tx.try_send(Acked {
                    position,
                    body: body.clone(),
                }),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }
}
