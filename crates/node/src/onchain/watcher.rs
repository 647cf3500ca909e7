//! The monitor task's state and its reactions to chain events (see [`super::MonitorHandle`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{Amount, OutPoint, Transaction, Txid};
use shandian_chain::{BlockRef, ChainEvent};
use shandian_monitor::{ChannelMonitor, Claim, Close, SweepPolicy};
use shandian_types::{BlockHeight, ChannelId};
use tokio::sync::{mpsc, watch};

use super::monitor::{
    channel_monitor, ClaimInfo, MonitorCommand, MonitorStatus, OutcomeSink, RESOLVE_DEPTH,
};
use super::{ChainBackend, ClosedChannel, OnchainError};
use crate::store::{
    ClaimStatus, FundingSpend, MonitoredChannel, Store, StoreError, StoredClaim, Writer,
};

mod htlcs;
mod preimages;

/// A claim the task follows.
struct Tracked {
    kind: String,
    tx: Transaction,
    txid: Txid,
    valid_at: u32,
    spends: OutPoint,
    status: ClaimStatus,
    confirmed_at: Option<u32>,
    broadcast: bool,
}

impl Tracked {
    fn from_claim(claim: &Claim) -> Tracked {
        Tracked {
            kind: format!("{:?}", claim.kind),
            tx: claim.tx.clone(),
            txid: claim.txid(),
            valid_at: claim.valid_at.0,
            spends: claim.spends,
            status: ClaimStatus::Pending,
            confirmed_at: None,
            broadcast: false,
        }
    }

    fn stored(&self, channel_id: ChannelId) -> StoredClaim {
        StoredClaim {
            txid: self.txid.to_byte_array(),
            channel_id,
            kind: self.kind.clone(),
            tx: serialize(&self.tx),
            valid_at: self.valid_at,
            spends: (self.spends.txid.to_byte_array(), self.spends.vout),
            status: self.status,
            confirmed_height: self.confirmed_at,
        }
    }

    fn restore(stored: &StoredClaim) -> Result<Tracked, OnchainError> {
        let tx: Transaction = deserialize(&stored.tx)
            .map_err(|_| StoreError::Corrupt { table: "monitor_claims", column: "tx" })?;
        Ok(Tracked {
            kind: stored.kind.clone(),
            txid: tx.compute_txid(),
            tx,
            valid_at: stored.valid_at,
            spends: OutPoint {
                txid: Txid::from_byte_array(stored.spends.0),
                vout: stored.spends.1,
            },
            status: stored.status,
            confirmed_at: stored.confirmed_height,
            broadcast: false,
        })
    }

    fn info(&self) -> ClaimInfo {
        ClaimInfo {
            kind: self.kind.clone(),
            txid: self.txid,
            valid_at: self.valid_at,
            amount: self.tx.output.iter().map(|o| o.value).sum::<Amount>(),
            status: self.status,
            broadcast: self.broadcast,
        }
    }

    /// An HTLC transaction of ours, whose output needs a second-stage sweep once confirmed.
    fn is_htlc_tx(&self) -> bool {
        self.kind == "HtlcTimeout" || self.kind == "HtlcSuccess"
    }
}

/// One closed channel under watch.
struct Watched {
    channel_id: ChannelId,
    monitor: ChannelMonitor,
    spend: Option<(Txid, u32, String)>,
    /// The spending transaction, once fetched (for second-stage justice).
    spend_tx: Option<Transaction>,
    claims: Vec<Tracked>,
    resolved: bool,
    /// What the funding spend was, once classified (again after a restart).
    close: Option<Close>,
    /// Our offered HTLCs whose on-chain outcome is recorded.
    outcomes: HashSet<u64>,
    /// Whether the monitor learned preimages from the store beyond its record's.
    learned_preimages: bool,
}

impl Watched {
    fn new(channel_id: ChannelId, monitor: ChannelMonitor) -> Watched {
        Watched {
            channel_id,
            monitor,
            spend: None,
            spend_tx: None,
            claims: Vec::new(),
            resolved: false,
            close: None,
            outcomes: HashSet::new(),
            learned_preimages: false,
        }
    }

    fn funding(&self) -> OutPoint {
        self.monitor.funding_outpoint()
    }

    fn status(&self) -> MonitorStatus {
        MonitorStatus {
            channel_id: self.channel_id,
            close: self.spend.as_ref().map(|s| s.2.clone()),
            claims: self.claims.iter().map(Tracked::info).collect(),
            resolved: self.resolved,
        }
    }
}

pub(crate) struct Watcher {
    chain: ChainBackend,
    store: Arc<Mutex<Store>>,
    seed: [u8; 32],
    watched: Vec<Watched>,
    /// Recorded closes whose record does not decode (reported once).
    unreadable: HashSet<ChannelId>,
    /// Told when on-chain HTLC outcomes were recorded.
    outcomes: OutcomeSink,
}

impl Watcher {
    pub(crate) fn new(
        chain: ChainBackend,
        store: Arc<Mutex<Store>>,
        seed: [u8; 32],
        outcomes: OutcomeSink,
    ) -> Watcher {
        Watcher { chain, store, seed, watched: Vec::new(), unreadable: HashSet::new(), outcomes }
    }

    /// Runs `f` in one store transaction, off the async threads.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Writer<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, OnchainError> {
        let store = Arc::clone(&self.store);
        let result = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().map_err(|_| OnchainError::Stopped)?;
            store.write(f).map_err(OnchainError::from)
        })
        .await
        .map_err(|_| OnchainError::Stopped)?;
        result
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, OnchainError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let store = store.lock().map_err(|_| OnchainError::Stopped)?;
            f(&store).map_err(OnchainError::from)
        })
        .await
        .map_err(|_| OnchainError::Stopped)?
    }

    /// Loads every unresolved closed channel from the store and registers its watches.
    /// Also called on every block, so a close recorded in the store but never handed to
    /// [`super::MonitorHandle::watch`] is picked up all the same.
    pub(crate) async fn resume(&mut self) -> Result<(), OnchainError> {
        let channels = self.read(|s| s.unresolved_closed_channels()).await?;
        for channel in channels {
            let id = channel.channel_id;
            if self.unreadable.contains(&id) || self.watched.iter().any(|w| w.channel_id == id) {
                continue;
            }
            let claims = self.read(move |s| s.claims(&id)).await?;
            let recorded = self.read(move |s| s.onchain_htlcs(&id)).await?;
            match self.restore(&channel, &claims) {
                Ok(mut watched) => {
                    watched.outcomes = recorded.iter().map(|h| h.htlc_id).collect();
                    if let Err(e) = self.load_preimages(&mut watched).await {
                        tracing::error!(channel = %id, error = %e, "cannot load preimages for closed channel");
                    }
                    self.add(watched).await
                }
                Err(e) => {
                    tracing::error!(channel = %id, error = %e, "cannot monitor closed channel");
                    self.unreadable.insert(id);
                }
            }
        }
        Ok(())
    }

    fn restore(
        &self,
        channel: &MonitoredChannel,
        claims: &[StoredClaim],
    ) -> Result<Watched, OnchainError> {
        let monitor = channel_monitor(&self.seed, channel.key_index, &channel.funded_record)?;
        let spend = channel
            .spend
            .as_ref()
            .map(|s: &FundingSpend| (Txid::from_byte_array(s.txid), s.height, s.kind.clone()));
        let claims = claims.iter().map(Tracked::restore).collect::<Result<_, _>>()?;
        let mut watched = Watched::new(channel.channel_id, monitor);
        watched.spend = spend;
        watched.claims = claims;
        Ok(watched)
    }

    /// Starts following `watched`: its funding output, or its claims once the spend is known.
    async fn add(&mut self, watched: Watched) {
        if self.watched.iter().any(|w| w.channel_id == watched.channel_id) {
            return;
        }
        let funding = watched.funding();
        let spent_at = watched.spend.as_ref().map(|s| BlockHeight(s.1));
        let pending: Vec<OutPoint> = watched
            .claims
            .iter()
            .filter(|c| c.status == ClaimStatus::Pending)
            .map(|c| c.spends)
            .collect();
        self.chain.watch_output(funding).await;
        for claim in watched.claims.iter().filter(|c| c.status != ClaimStatus::Lost) {
            self.chain.watch_tx(claim.txid).await;
            self.chain.watch_output(claim.spends).await;
        }
        self.watched.push(watched);
        match spent_at {
            None => self.find_old_spend(funding).await,
            Some(from) => {
                let index = self.watched.len() - 1;
                self.load_spend_tx(index).await;
                if self.watched[index].learned_preimages {
                    // Preimages learned after the claims were built: claim those HTLCs too.
                    if let Err(e) = self.refresh_claims(index).await {
                        tracing::error!(error = %e, "cannot add claims for late preimages");
                    }
                }
                for outpoint in pending {
                    self.find_old_claim_spend(outpoint, from).await;
                }
            }
        }
    }

    /// A pending claim's output may have been spent (by the claim, or by someone else) while
    /// the node was down for longer than the backend remembers.
    async fn find_old_claim_spend(&mut self, outpoint: OutPoint, from: BlockHeight) {
        let found = self.chain.find_spend(outpoint, from).await;
        let result = match found {
            Ok(Some((spender, block))) if self.find_claim(spender).is_some() => {
                self.on_confirmed(spender, block.height.0).await
            }
            Ok(Some((spender, block))) => self.on_spent(outpoint, spender, block).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(%outpoint, error = %e, "cannot look for an old claim spend");
        }
    }

    /// The funding output may have been spent before the backend's memory reaches (the node
    /// was down for long): look for the spend from the funding transaction's block on.
    async fn find_old_spend(&mut self, funding: OutPoint) {
        let from = match self.chain.transaction_position(funding.txid).await {
            Some((_, height, _)) => height,
            // Not confirmed yet: nothing can have spent it.
            None if self.chain.confirmations(&funding.txid).await == Some(0) => return,
            None => BlockHeight(0),
        };
        match self.chain.find_spend(funding, from).await {
            Ok(Some((spender, block))) => {
                if let Err(e) = self.on_spent(funding, spender, block).await {
                    tracing::error!(error = %e, "monitor could not handle an old funding spend");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot look for an old funding spend"),
        }
    }

    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<MonitorCommand>,
        mut events: mpsc::UnboundedReceiver<ChainEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                }
                command = commands.recv() => match command {
                    Some(MonitorCommand::Watch(closed)) => self.watch(closed).await,
                    Some(MonitorCommand::Preimage(channel_id, preimage)) => {
                        if let Err(e) = self.on_preimage(channel_id, preimage).await {
                            tracing::error!(channel = %channel_id, error = %e, "monitor could not use a preimage");
                        }
                    }
                    Some(MonitorCommand::Status(reply)) => {
                        let _ = reply.send(self.watched.iter().map(Watched::status).collect());
                    }
                    None => break,
                },
                event = events.recv() => match event {
                    Some(event) => {
                        if let Err(e) = self.on_event(event).await {
                            tracing::error!(error = %e, "monitor could not handle a chain event");
                        }
                    }
                    None => break,
                },
            }
        }
        tracing::debug!("monitor stopped");
    }

    async fn watch(&mut self, closed: ClosedChannel) {
        let id = closed.channel_id;
        let monitor = match channel_monitor(&self.seed, closed.key_index, &closed.funded_record) {
            Ok(monitor) => monitor,
            Err(e) => {
                tracing::error!(channel = %id, error = %e, "cannot monitor closed channel");
                return;
            }
        };
        // The manager recorded it in the close's batch; recording again is a no-op.
        let record = closed.clone();
        if let Err(e) = self.write(move |w| super::record_closed_channel(w, &record)).await {
            tracing::error!(channel = %id, error = %e, "cannot record closed channel");
        }
        let mut watched = Watched::new(id, monitor);
        if let Err(e) = self.load_preimages(&mut watched).await {
            tracing::error!(channel = %id, error = %e, "cannot load preimages for closed channel");
        }
        self.add(watched).await;
    }

    async fn on_event(&mut self, event: ChainEvent) -> Result<(), OnchainError> {
        match event {
            ChainEvent::OutputSpent { outpoint, spender, block } => {
                self.on_spent(outpoint, spender, block).await
            }
            ChainEvent::TxConfirmed { txid, block } => {
                self.on_confirmed(txid, block.height.0).await
            }
            ChainEvent::TxUnconfirmed { txid } => {
                self.set_claim(txid, ClaimStatus::Pending, None).await
            }
            ChainEvent::BlockConnected { height, .. } => self.on_block(height).await,
            ChainEvent::BlockDisconnected(_) | ChainEvent::OutputUnspent { .. } => Ok(()),
        }
    }

    async fn on_spent(
        &mut self,
        outpoint: OutPoint,
        spender: Txid,
        block: BlockRef,
    ) -> Result<(), OnchainError> {
        if let Some(index) =
            self.watched.iter().position(|w| !w.resolved && w.funding() == outpoint)
        {
            if self.watched[index].spend.as_ref().is_some_and(|s| s.0 == spender) {
                return Ok(()); // already resolved from this spend (a restart or a late watch)
            }
            return self.on_funding_spent(index, spender, block).await;
        }
        self.scan_preimages(outpoint, spender, block).await?;
        // A claim's output taken by someone else: that claim will never confirm.
        let lost: Vec<Txid> = self
            .watched
            .iter()
            .flat_map(|w| &w.claims)
            .filter(|c| {
                c.spends == outpoint && c.txid != spender && c.status == ClaimStatus::Pending
            })
            .map(|c| c.txid)
            .collect();
        for txid in lost {
            tracing::info!(%txid, %spender, "claim lost: its output was spent by another transaction");
            self.set_claim(txid, ClaimStatus::Lost, None).await?;
            if let Some((index, _)) = self.find_claim(txid) {
                self.revoked_second_stage(index, spender, block).await?;
            }
        }
        Ok(())
    }

    /// The counterparty got an HTLC transaction of its revoked commitment in before our
    /// justice claim: take that transaction's output with the revocation key.
    async fn revoked_second_stage(
        &mut self,
        index: usize,
        spender: Txid,
        block: BlockRef,
    ) -> Result<(), OnchainError> {
        let watched = &self.watched[index];
        let Some((commitment_txid, _, kind)) = &watched.spend else { return Ok(()) };
        if !kind.starts_with("RevokedCounterparty") {
            return Ok(());
        }
        let commitment = match &watched.spend_tx {
            Some(tx) => tx.clone(),
            None => match self.chain.transaction(*commitment_txid).await? {
                Some(tx) => tx,
                None => return Ok(()),
            },
        };
        let Some(full) = self.chain.block(block.hash).await? else { return Ok(()) };
        let Some(htlc_tx) = full.txdata.into_iter().find(|t| t.compute_txid() == spender) else {
            return Ok(());
        };
        let policy = SweepPolicy {
            destination: self.chain.shutdown_script().await?,
            feerate: self.chain.feerate().await,
        };
        let monitor = &self.watched[index].monitor;
        let Some(claim) =
            monitor.claim_revoked_second_stage(&commitment, &htlc_tx, block.height, &policy)?
        else {
            return Ok(());
        };
        if self.watched[index].claims.iter().any(|c| c.spends == claim.spends) {
            return Ok(());
        }
        let tracked = Tracked::from_claim(&claim);
        let stored = tracked.stored(self.watched[index].channel_id);
        self.write(move |w| w.save_claim(&stored)).await?;
        self.chain.watch_tx(tracked.txid).await;
        self.chain.watch_output(tracked.spends).await;
        self.watched[index].claims.push(tracked);
        let tip = self.chain.best_block().await.height.0.max(block.height.0);
        self.broadcast_ready(tip).await;
        Ok(())
    }

    /// The funding output was spent: classify, build the claims, store, watch.
    async fn on_funding_spent(
        &mut self,
        index: usize,
        spender: Txid,
        block: BlockRef,
    ) -> Result<(), OnchainError> {
        let Some(full) = self.chain.block(block.hash).await? else { return Ok(()) };
        let Some(tx) = full.txdata.iter().find(|t| t.compute_txid() == spender).cloned() else {
            return Ok(());
        };
        let policy = SweepPolicy {
            destination: self.chain.shutdown_script().await?,
            feerate: self.chain.feerate().await,
        };
        let watched = &self.watched[index];
        let resolution = watched.monitor.resolve(&tx, block.height, &policy)?;
        let kind = format!("{:?}", resolution.close);
        let channel_id = watched.channel_id;
        tracing::info!(channel = %channel_id, close = %kind, claims = resolution.claims.len(),
            unclaimed = resolution.unclaimed.len(), "funding output spent");
        let claims: Vec<Tracked> = resolution.claims.iter().map(Tracked::from_claim).collect();
        let stored: Vec<StoredClaim> = claims.iter().map(|c| c.stored(channel_id)).collect();
        let spend = FundingSpend {
            txid: spender.to_byte_array(),
            height: block.height.0,
            kind: kind.clone(),
        };
        self.write(move |w| {
            w.record_funding_spend(&channel_id, &spend)?;
            stored.iter().try_for_each(|c| w.save_claim(c))
        })
        .await?;
        for claim in &claims {
            self.chain.watch_tx(claim.txid).await;
            self.chain.watch_output(claim.spends).await;
        }
        let watched = &mut self.watched[index];
        // A different spend than before (a reorg): the old claims can never confirm.
        for old in watched.claims.iter_mut().filter(|c| c.status == ClaimStatus::Pending) {
            old.status = ClaimStatus::Lost;
        }
        watched.spend = Some((spender, block.height.0, kind));
        watched.close = Some(resolution.close);
        watched.claims.extend(claims);
        self.watch_commitment_outputs(&tx).await;
        self.watched[index].spend_tx = Some(tx);
        let tip = self.chain.best_block().await.height.0.max(block.height.0);
        self.broadcast_ready(tip).await;
        Ok(())
    }

    async fn on_confirmed(&mut self, txid: Txid, height: u32) -> Result<(), OnchainError> {
        let Some((index, claim)) = self.find_claim(txid) else { return Ok(()) };
        let htlc_tx = claim.is_htlc_tx().then(|| claim.tx.clone());
        self.set_claim(txid, ClaimStatus::Confirmed, Some(height)).await?;
        let Some(htlc_tx) = htlc_tx else { return Ok(()) };
        // Our HTLC transaction confirmed: its output is ours after the delay.
        let policy = SweepPolicy {
            destination: self.chain.shutdown_script().await?,
            feerate: self.chain.feerate().await,
        };
        let watched = &self.watched[index];
        let Some(second) =
            watched.monitor.claim_second_stage(&htlc_tx, BlockHeight(height), &policy)?
        else {
            return Ok(());
        };
        if watched.claims.iter().any(|c| c.spends == second.spends) {
            return Ok(());
        }
        let tracked = Tracked::from_claim(&second);
        let stored = tracked.stored(watched.channel_id);
        self.write(move |w| w.save_claim(&stored)).await?;
        self.chain.watch_tx(tracked.txid).await;
        self.chain.watch_output(tracked.spends).await;
        self.watched[index].claims.push(tracked);
        Ok(())
    }

    fn find_claim(&self, txid: Txid) -> Option<(usize, &Tracked)> {
        self.watched
            .iter()
            .enumerate()
            .find_map(|(i, w)| w.claims.iter().find(|c| c.txid == txid).map(|c| (i, c)))
    }

    async fn set_claim(
        &mut self,
        txid: Txid,
        status: ClaimStatus,
        height: Option<u32>,
    ) -> Result<(), OnchainError> {
        let Some((index, claim)) = self.find_claim(txid) else { return Ok(()) };
        if claim.status == status && claim.confirmed_at == height {
            return Ok(());
        }
        let key = txid.to_byte_array();
        self.write(move |w| w.set_claim_status(&key, status, height)).await?;
        if let Some(claim) = self.watched[index].claims.iter_mut().find(|c| c.txid == txid) {
            claim.status = status;
            claim.confirmed_at = height;
        }
        Ok(())
    }

    /// On every block: broadcast what became valid, then settle what is deep enough.
    async fn on_block(&mut self, height: BlockHeight) -> Result<(), OnchainError> {
        self.resume().await?;
        self.broadcast_ready(height.0).await;
        // Before a channel can resolve: what failed with it is recorded for the payments.
        self.record_failed_htlcs(height.0).await?;
        for index in 0..self.watched.len() {
            if self.settled(index, height.0) {
                let channel_id = self.watched[index].channel_id;
                let at = height.0;
                self.write(move |w| w.resolve_closed_channel(&channel_id, at)).await?;
                self.watched[index].resolved = true;
                tracing::info!(channel = %channel_id, "closed channel resolved: every claim is final");
            }
        }
        Ok(())
    }

    /// Whether the funding spend and every claim are final at `tip`.
    fn settled(&self, index: usize, tip: u32) -> bool {
        let watched = &self.watched[index];
        let deep = |h: u32| tip.saturating_sub(h).saturating_add(1) >= RESOLVE_DEPTH;
        let Some((_, spent_at, _)) = &watched.spend else { return false };
        !watched.resolved
            && deep(*spent_at)
            && self.late_preimage_window_closed(index, tip)
            && watched.claims.iter().all(|c| match c.status {
                ClaimStatus::Lost => true,
                ClaimStatus::Confirmed => c.confirmed_at.is_some_and(deep),
                ClaimStatus::Pending => false,
            })
    }

    /// Broadcasts every pending claim the next block can include (the backend rebroadcasts
    /// it until it confirms).
    async fn broadcast_ready(&mut self, tip: u32) {
        let mut ready = Vec::new();
        for watched in self.watched.iter().filter(|w| !w.resolved) {
            for claim in &watched.claims {
                let valid = tip.saturating_add(1) >= claim.valid_at;
                if valid && !claim.broadcast && claim.status == ClaimStatus::Pending {
                    ready.push((claim.txid, claim.tx.clone()));
                }
            }
        }
        for (txid, tx) in ready {
            match self.chain.broadcast(tx).await {
                Ok(()) => {
                    tracing::info!(%txid, "claim broadcast");
                    if let Some(claim) = self
                        .watched
                        .iter_mut()
                        .flat_map(|w| w.claims.iter_mut())
                        .find(|c| c.txid == txid)
                    {
                        claim.broadcast = true;
                    }
                }
                // Retried on the next block (e.g. the parent is not confirmed yet).
                Err(e) => tracing::debug!(%txid, error = %e, "claim not accepted yet"),
            }
        }
    }
}
