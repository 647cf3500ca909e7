//! How the HTLCs we offered end on chain, recorded for the payment logic (BOLT 5 "HTLC
//! Output Handling"): fulfilled when the counterparty's spend reveals the preimage (at once),
//! failed when our HTLC-timeout is deep enough or the confirmed commitment carries no output
//! for the HTLC (once that commitment is deep enough). Each outcome is written to the store
//! first; the channel manager then hands it to the payment logic exactly once.

use bitcoin::{OutPoint, Transaction, Txid};
use shandian_chain::BlockRef;
use shandian_monitor::Close;
use shandian_types::BlockHeight;

use super::{Tracked, Watched, Watcher};
use crate::onchain::monitor::RESOLVE_DEPTH;
use crate::onchain::OnchainError;
use crate::store::{ClaimStatus, OnchainOutcome};

impl Watcher {
    /// Watches every output of the commitment that spent the funding output, so any spend
    /// revealing a preimage is seen, also of outputs no claim of ours takes.
    pub(super) async fn watch_commitment_outputs(&self, commitment: &Transaction) {
        let txid = commitment.compute_txid();
        for vout in 0..commitment.output.len() {
            let Ok(vout) = u32::try_from(vout) else { break };
            self.chain.watch_output(OutPoint { txid, vout }).await;
        }
    }

    /// After a restart: fetches the commitment that spent the funding output, classifies it
    /// again and watches its outputs.
    pub(super) async fn load_spend_tx(&mut self, index: usize) {
        let Some(watched) = self.watched.get(index) else { return };
        let Some((txid, spent_at, _)) = watched.spend.clone() else { return };
        if watched.spend_tx.is_some() {
            return;
        }
        let tx = match self.chain.transaction_position(txid).await {
            Some((tx, _, _)) => Some(tx),
            None => self.chain.transaction(txid).await.ok().flatten(),
        };
        let Some(tx) = tx else {
            tracing::warn!(%txid, "cannot fetch the funding spend: HTLC outcomes wait");
            return;
        };
        self.watch_commitment_outputs(&tx).await;
        let outputs = tx.output.len();
        let watched = &mut self.watched[index];
        watched.close = watched.monitor.classify(&tx).ok();
        watched.spend_tx = Some(tx);
        // Spends made while the node was down are older than the backend's memory: look
        // them up, so a preimage revealed meanwhile is not missed.
        for vout in (0..outputs).filter_map(|v| u32::try_from(v).ok()) {
            let outpoint = OutPoint { txid, vout };
            let found = self.chain.find_spend(outpoint, BlockHeight(spent_at)).await;
            let result = match found {
                Ok(Some((spender, block))) => self.scan_preimages(outpoint, spender, block).await,
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(%outpoint, error = %e, "cannot look for an old commitment spend");
            }
        }
    }

    /// An output of a commitment we watch was spent: the preimages the spend reveals fulfil
    /// our HTLCs. BOLT 5: MUST extract the payment preimage from the transaction input
    /// witness (and fulfil the incoming HTLC).
    pub(super) async fn scan_preimages(
        &mut self,
        outpoint: OutPoint,
        spender: Txid,
        block: BlockRef,
    ) -> Result<(), OnchainError> {
        let Some(index) = self
            .watched
            .iter()
            .position(|w| w.spend.as_ref().is_some_and(|s| s.0 == outpoint.txid))
        else {
            return Ok(());
        };
        let Some(full) = self.chain.block(block.hash).await? else { return Ok(()) };
        let Some(tx) = full.txdata.iter().find(|t| t.compute_txid() == spender) else {
            return Ok(());
        };
        let watched = &self.watched[index];
        let found: Vec<(u64, OnchainOutcome)> = watched
            .monitor
            .preimages_in(tx, outpoint.txid)
            .into_iter()
            .filter(|(id, _)| !watched.outcomes.contains(id))
            .map(|(id, preimage)| (id, OnchainOutcome::Fulfilled(preimage)))
            .collect();
        self.record_outcomes(index, found, block.height.0).await
    }

    /// On every block: records the HTLCs of ours that can no longer be paid.
    pub(super) async fn record_failed_htlcs(&mut self, tip: u32) -> Result<(), OnchainError> {
        for index in 0..self.watched.len() {
            let Some((_, spent_at, _)) = self.watched[index].spend.clone() else { continue };
            if self.watched[index].resolved {
                continue;
            }
            if self.watched[index].close.is_none() {
                self.load_spend_tx(index).await;
            }
            let settled = self.settled(index, tip);
            let watched = &self.watched[index];
            let Some(close) = watched.close else { continue };
            let failed = failed_htlcs(watched, close, tip, spent_at, settled)?;
            let failed: Vec<(u64, OnchainOutcome)> = failed
                .into_iter()
                .filter(|id| !watched.outcomes.contains(id))
                .map(|id| (id, OnchainOutcome::Failed))
                .collect();
            self.record_outcomes(index, failed, tip).await?;
        }
        Ok(())
    }

    /// Stores outcomes (the first one of an HTLC stays), then wakes the channel manager.
    async fn record_outcomes(
        &mut self,
        index: usize,
        outcomes: Vec<(u64, OnchainOutcome)>,
        height: u32,
    ) -> Result<(), OnchainError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let channel_id = self.watched[index].channel_id;
        let rows = outcomes.clone();
        self.write(move |w| {
            rows.iter().try_for_each(|(id, outcome)| {
                w.record_onchain_htlc(&channel_id, *id, *outcome, height).map(|_| ())
            })
        })
        .await?;
        for (id, outcome) in outcomes {
            let what = match outcome {
                OnchainOutcome::Fulfilled(_) => "fulfilled by the counterparty's preimage",
                OnchainOutcome::Failed => "failed",
            };
            tracing::info!(channel = %channel_id, htlc = id, "offered HTLC {what} on chain");
            self.watched[index].outcomes.insert(id);
        }
        self.outcomes.notify();
        Ok(())
    }
}

/// Our offered HTLCs that failed on chain by `tip`: those the confirmed commitment carries
/// no output for, once it is deep enough (BOLT 5: once it has reached reasonable depth, MUST
/// fail the corresponding incoming HTLC), and those our HTLC-timeout took back, once it is
/// deep enough (on our commitment the HTLC-timeout transaction, on the counterparty's our
/// direct timeout spend of its HTLC output). After a revoked commitment, once every claim is final (`settled`), all
/// those the counterparty did not take with the preimage: justice took the rest.
fn failed_htlcs(
    watched: &Watched,
    close: Close,
    tip: u32,
    spent_at: u32,
    settled: bool,
) -> Result<Vec<u64>, OnchainError> {
    let deep = |h: u32| tip.saturating_sub(h).saturating_add(1) >= RESOLVE_DEPTH;
    let mut failed = Vec::new();
    if settled && matches!(close, Close::RevokedCounterparty { .. }) {
        failed.extend(watched.monitor.offered_htlcs().into_iter().map(|(id, _)| id));
    }
    if deep(spent_at) {
        failed.extend(watched.monitor.offered_on_chain(close).failed);
    }
    let kind = match close {
        Close::HolderLatest { .. } => "HtlcTimeout",
        Close::Counterparty { .. } => "CounterpartyHtlcTimeout",
        _ => return Ok(failed),
    };
    let commitment = watched.spend.as_ref().map(|s| s.0);
    let timeouts: Vec<&Tracked> = watched
        .claims
        .iter()
        .filter(|c| c.kind == kind && c.status == ClaimStatus::Confirmed)
        .filter(|c| c.confirmed_at.is_some_and(deep) && Some(c.spends.txid) == commitment)
        .collect();
    if timeouts.is_empty() {
        return Ok(failed);
    }
    let outputs = match close {
        Close::Counterparty { commitment_number } => {
            watched.monitor.offered_outputs_on_counterparty(commitment_number)?
        }
        _ => watched.monitor.offered_outputs_on_holder()?,
    };
    for claim in timeouts {
        let id = outputs.iter().find(|(_, vout)| *vout == claim.spends.vout).map(|(id, _)| *id);
        failed.extend(id);
    }
    Ok(failed)
}
