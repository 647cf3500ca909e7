//! [`MonitorHandle`]: the node's on-chain enforcement task. For every channel closed other
//! than cooperatively it watches the funding output, feeds the spend to
//! `shandian_monitor::ChannelMonitor`, broadcasts each claim once its timelock allows (checked
//! on every block), follows the claims to confirmation, and marks the channel resolved when
//! all are deep enough. Everything it learns is in the store first, so a restart resumes.

use std::path::Path;
use std::sync::{Arc, Mutex};

use shandian_channel::{ChannelRecord, ChannelSigner};
use shandian_monitor::ChannelMonitor;
use shandian_tx::InMemorySigner;
use shandian_types::{ChannelId, PaymentPreimage};
use tokio::sync::{mpsc, oneshot, watch};

use super::watcher::Watcher;
use super::{ChainBackend, ClosedChannel, OnchainError};
use crate::store::{ClaimStatus, Store};

/// Confirmations after which a claim (and the funding spend) counts as final.
pub const RESOLVE_DEPTH: u32 = 6;

/// One claim as [`MonitorHandle::status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimInfo {
    /// What it takes (`DelayedToLocal`, `ToRemote`, `CounterpartyHtlcTimeout`,
    /// `JusticeToLocal`, ...: the monitor crate's `ClaimKind`).
    pub kind: String,
    /// The claim transaction.
    pub txid: bitcoin::Txid,
    /// The first height that can include it.
    pub valid_at: u32,
    /// What it pays to the wallet (after its fee).
    pub amount: bitcoin::Amount,
    /// Pending, confirmed or lost.
    pub status: ClaimStatus,
    /// Whether this run has broadcast it.
    pub broadcast: bool,
}

/// A watched channel as [`MonitorHandle::status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorStatus {
    /// The channel.
    pub channel_id: ChannelId,
    /// The kind of close, once the funding spend was seen.
    pub close: Option<String>,
    /// Its claims.
    pub claims: Vec<ClaimInfo>,
    /// Whether everything is settled (the channel is no longer watched).
    pub resolved: bool,
}

/// What the monitor calls after it recorded how HTLCs we offered ended on chain: the
/// channel manager's wake-up (it then reads the outcomes from the store).
#[derive(Clone, Default)]
pub(crate) struct OutcomeSink(Arc<Mutex<Option<Wake>>>);

/// The channel manager's wake-up.
type Wake = Box<dyn Fn() + Send>;

impl OutcomeSink {
    fn set(&self, notify: Box<dyn Fn() + Send>) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(notify);
    }

    pub(crate) fn notify(&self) {
        if let Some(notify) = &*self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            notify();
        }
    }
}

impl std::fmt::Debug for OutcomeSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutcomeSink")
    }
}

pub(crate) enum MonitorCommand {
    Watch(ClosedChannel),
    Preimage(ChannelId, PaymentPreimage),
    Status(oneshot::Sender<Vec<MonitorStatus>>),
}

/// Hands closed channels to the monitor task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MonitorHandle {
    commands: mpsc::UnboundedSender<MonitorCommand>,
    outcomes: OutcomeSink,
}

impl MonitorHandle {
    /// Opens the store in `data_dir`, resumes every unresolved closed channel recorded there,
    /// and starts the monitor task (until `shutdown` turns true or every handle is dropped).
    /// `seed` is the node seed the channel signers derive from.
    pub async fn start(
        chain: ChainBackend,
        data_dir: &Path,
        seed: [u8; 32],
        shutdown: watch::Receiver<bool>,
    ) -> Result<MonitorHandle, OnchainError> {
        let dir = data_dir.to_owned();
        let store = tokio::task::spawn_blocking(move || Store::open(dir))
            .await
            .map_err(|_| OnchainError::Stopped)??;
        // Subscribe before registering any watch, so no answer is missed.
        let events = chain.subscribe();
        let outcomes = OutcomeSink::default();
        let mut watcher = Watcher::new(chain, Arc::new(Mutex::new(store)), seed, outcomes.clone());
        watcher.resume().await?;
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(watcher.run(receiver, events, shutdown));
        Ok(MonitorHandle { commands, outcomes })
    }

    /// Watches a closed channel (already recorded with
    /// [`record_closed_channel`](super::record_closed_channel) in the close's batch).
    pub fn watch(&self, closed: ClosedChannel) {
        if self.commands.send(MonitorCommand::Watch(closed)).is_err() {
            tracing::warn!("monitor stopped; the close is recorded and resumes on restart");
        }
    }

    /// Hands the monitor the preimage of an HTLC the counterparty offered us on the closed
    /// channel `channel_id`, learned after the close (a forward fulfilled downstream late).
    /// It must be in the store first (a fulfilled forward, a paid invoice: a restart reloads
    /// it from there); the monitor then claims the HTLC with it: HTLC-success on our commitment, a
    /// direct spend on the counterparty's (BOLT 5). A preimage of no received HTLC of the
    /// channel is ignored.
    pub fn provide_preimage(&self, channel_id: ChannelId, preimage: PaymentPreimage) {
        if self.commands.send(MonitorCommand::Preimage(channel_id, preimage)).is_err() {
            tracing::warn!("monitor stopped; the preimage is recorded and resumes on restart");
        }
    }

    /// Calls `notify` each time the monitor has recorded (in the store) how HTLCs we offered
    /// ended on chain: fulfilled by the counterparty's preimage, or failed. The channel
    /// manager registers its wake-up here and hands the outcomes to the payment logic.
    pub fn on_htlc_outcomes(&self, notify: Box<dyn Fn() + Send>) {
        self.outcomes.set(notify);
    }

    /// Every channel watched since start (resolved ones included) and its claims.
    pub async fn status(&self) -> Vec<MonitorStatus> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(MonitorCommand::Status(reply)).is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }
}

/// The monitor of a closed channel: its record decoded with the signer re-derived from
/// `seed` (at the record's revocation count).
pub(crate) fn channel_monitor(
    seed: &[u8; 32],
    key_index: u32,
    record: &[u8],
) -> Result<ChannelMonitor, OnchainError> {
    let header = ChannelRecord::header(record)?;
    let index = header.key_index.unwrap_or(key_index);
    let inner =
        InMemorySigner::from_node_seed(seed, index)?.with_revoked_count(header.revoked_count);
    let decoded = ChannelRecord::decode(record, Some(ChannelSigner::new(index, inner)))?;
    Ok(ChannelMonitor::from_record(&decoded)?)
}
