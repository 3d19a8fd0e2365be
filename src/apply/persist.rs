//! The persister: one task that owns writes to the state store during an apply.
//!
//! Steps finish concurrently; each hands its journal entry or resource to the persister and
//! waits for the acknowledgement. The persister drains everything queued into one batch, so
//! ten steps finishing together cost one durable write, and a write's cost is the batch's
//! size — never the whole state's.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::addr::InstanceAddr;
use crate::state::{JournalEntry, JournalStatus, ResourceInstanceState, State, StateStore};

type ResourceWrite = (InstanceAddr, Option<ResourceInstanceState>);

enum Msg {
    Journal(JournalEntry, oneshot::Sender<Result<(), String>>),
    Resource(InstanceAddr, Option<ResourceInstanceState>, oneshot::Sender<Result<(), String>>),
    /// A step's end: its resource write (if any), then the entry that closes its journal.
    Complete(Box<(Option<ResourceWrite>, JournalEntry)>, oneshot::Sender<Result<(), String>>),
    State(State, String, oneshot::Sender<Result<(), String>>),
    Finish(State, oneshot::Sender<Result<State, String>>),
    /// Acknowledged once everything queued before it is written.
    Barrier(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Persister {
    tx: mpsc::UnboundedSender<Msg>,
}

const MAX_BATCH: usize = 512;

impl Persister {
    pub fn spawn(store: Arc<dyn StateStore>, lineage: String, serial: u64) -> Persister {
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        tokio::spawn(async move {
            let mut serial = serial;
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(m) => batch.push(m),
                        Err(_) => break,
                    }
                }
                // One write per batch, ordered: opening entries (a step's "started" must be
                // durable before its call), resources, then closing entries (a step's
                // "succeeded" follows the resource it produced).
                let mut opening = Vec::new();
                let mut changes: Vec<ResourceWrite> = Vec::new();
                let mut closing = Vec::new();
                let mut acks = Vec::new();
                let mut others = Vec::new();
                for m in batch {
                    match m {
                        Msg::Journal(e, ack) if e.status == JournalStatus::Started => {
                            opening.push(e);
                            acks.push(ack);
                        }
                        Msg::Journal(e, ack) => {
                            closing.push(e);
                            acks.push(ack);
                        }
                        Msg::Resource(a, r, ack) => {
                            changes.push((a, r));
                            acks.push(ack);
                        }
                        Msg::Complete(step_end, ack) => {
                            let (write, e) = *step_end;
                            changes.extend(write);
                            closing.push(e);
                            acks.push(ack);
                        }
                        other => others.push(other),
                    }
                }
                if !acks.is_empty() {
                    let res = store
                        .write_batch(&lineage, serial + 1, &opening, &changes, &closing)
                        .await
                        .map_err(|e| e.to_string());
                    if res.is_ok() {
                        serial += changes.len() as u64;
                    }
                    for ack in acks {
                        let _ = ack.send(res.clone());
                    }
                }
                for m in others {
                    match m {
                        Msg::State(mut s, op, ack) => {
                            serial += 1;
                            s.serial = serial;
                            let _ = ack.send(store.write(&s, &op).await.map_err(|e| e.to_string()));
                        }
                        Msg::Finish(mut s, ack) => {
                            serial += 1;
                            s.serial = serial;
                            let res = store.finish_apply(&s).await.map(|_| s).map_err(|e| e.to_string());
                            let _ = ack.send(res);
                        }
                        Msg::Barrier(ack) => {
                            let _ = ack.send(());
                        }
                        _ => {}
                    }
                }
            }
        });
        Persister { tx }
    }

    pub async fn journal(&self, e: JournalEntry) -> Result<(), String> {
        let (ack, rx) = oneshot::channel();
        self.tx.send(Msg::Journal(e, ack)).map_err(|_| "state persister stopped".to_string())?;
        rx.await.map_err(|_| "state persister stopped".to_string())?
    }

    pub async fn write_resource(&self, addr: InstanceAddr, r: Option<ResourceInstanceState>) -> Result<(), String> {
        let (ack, rx) = oneshot::channel();
        self.tx.send(Msg::Resource(addr, r, ack)).map_err(|_| "state persister stopped".to_string())?;
        rx.await.map_err(|_| "state persister stopped".to_string())?
    }

    /// Ends a step: writes its resource change (`None`: nothing to store) and then the entry that
    /// closes its journal, durably, as one.
    pub async fn complete(&self, write: Option<ResourceWrite>, closing: JournalEntry) -> Result<(), String> {
        let (ack, rx) = oneshot::channel();
        self.tx
            .send(Msg::Complete(Box::new((write, closing)), ack))
            .map_err(|_| "state persister stopped".to_string())?;
        rx.await.map_err(|_| "state persister stopped".to_string())?
    }

    pub async fn write_state(&self, s: State, operation: &str) -> Result<(), String> {
        let (ack, rx) = oneshot::channel();
        self.tx.send(Msg::State(s, operation.to_string(), ack)).map_err(|_| "state persister stopped".to_string())?;
        rx.await.map_err(|_| "state persister stopped".to_string())?
    }

    /// Writes the final state (outputs, checks) and returns it with its serial.
    pub async fn finish(&self, s: State) -> Result<State, String> {
        let (ack, rx) = oneshot::channel();
        self.tx.send(Msg::Finish(s, ack)).map_err(|_| "state persister stopped".to_string())?;
        rx.await.map_err(|_| "state persister stopped".to_string())?
    }

    /// Waits until everything queued so far is written.
    pub async fn close(&self) {
        let (ack, rx) = oneshot::channel();
        if self.tx.send(Msg::Barrier(ack)).is_ok() {
            let _ = rx.await;
        }
    }
}
