//! Preimages of HTLCs the counterparty offered us, learned after the channel closed (BOLT 5:
//! "if it has the preimage for an HTLC output it was offered, MUST spend it"). The store
//! gathers them per channel (recorded for the monitor, fulfilled forwards, paid invoices); the
//! monitor adds them to the channel's `ChannelMonitor` when it starts watching (also after a
//! restart) and when the channel manager hands one over, then claims the HTLC: HTLC-success
//! on our commitment, a direct preimage spend on the counterparty's. A channel with such an
//! HTLC on chain stays watched until the HTLC expired, so a preimage learned late still
//! claims it.

use shandian_monitor::SweepPolicy;
use shandian_types::{BlockHeight, ChannelId, PaymentPreimage};

use super::{Tracked, Watched, Watcher};
use crate::onchain::monitor::RESOLVE_DEPTH;
use crate::onchain::OnchainError;
use crate::store::StoredClaim;

impl Watcher {
    /// Adds every preimage the store knows for `watched`'s channel to its monitor.
    pub(super) async fn load_preimages(&self, watched: &mut Watched) -> Result<(), OnchainError> {
        let id = watched.channel_id;
        let preimages = self.read(move |s| s.monitor_preimages(&id)).await?;
        for preimage in preimages {
            // Only those of HTLCs this channel received are kept.
            if watched.monitor.add_preimage(preimage) {
                tracing::info!(channel = %id, hash = %preimage.hash(), "monitor knows a preimage learned late");
                watched.learned_preimages = true;
            }
        }
        Ok(())
    }

    /// The channel manager learned `preimage` for an HTLC on the closed channel
    /// `channel_id` (and recorded it): claim that HTLC if the commitment on chain has it.
    pub(super) async fn on_preimage(
        &mut self,
        channel_id: ChannelId,
        preimage: PaymentPreimage,
    ) -> Result<(), OnchainError> {
        let Some(index) = self.watched.iter().position(|w| w.channel_id == channel_id) else {
            // Not watched yet: `resume` loads it from the store with the channel.
            return Ok(());
        };
        let watched = &mut self.watched[index];
        if watched.resolved || !watched.monitor.add_preimage(preimage) {
            return Ok(());
        }
        tracing::info!(channel = %channel_id, hash = %preimage.hash(), "preimage learned after the close: claiming the HTLC");
        watched.learned_preimages = true;
        self.refresh_claims(index).await
    }

    /// Resolves the funding spend again (the monitor knows more preimages now) and adds the
    /// claims of outputs no claim of ours takes yet.
    pub(super) async fn refresh_claims(&mut self, index: usize) -> Result<(), OnchainError> {
        let watched = &self.watched[index];
        let (Some(tx), Some((_, spent_at, _))) = (&watched.spend_tx, &watched.spend) else {
            // The funding spend is not known yet: its resolution will use the preimage.
            return Ok(());
        };
        let policy = SweepPolicy {
            destination: self.chain.shutdown_script().await?,
            feerate: self.chain.feerate().await,
        };
        let resolution = watched.monitor.resolve(tx, BlockHeight(*spent_at), &policy)?;
        let new: Vec<Tracked> = resolution
            .claims
            .iter()
            .filter(|c| !watched.claims.iter().any(|t| t.spends == c.spends))
            .map(Tracked::from_claim)
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let channel_id = watched.channel_id;
        let stored: Vec<StoredClaim> = new.iter().map(|c| c.stored(channel_id)).collect();
        self.write(move |w| stored.iter().try_for_each(|c| w.save_claim(c))).await?;
        for claim in &new {
            tracing::info!(channel = %channel_id, kind = %claim.kind, txid = %claim.txid, "new claim with a late preimage");
            self.chain.watch_tx(claim.txid).await;
            self.chain.watch_output(claim.spends).await;
        }
        self.watched[index].claims.extend(new);
        let tip = self.chain.best_block().await.height.0;
        self.broadcast_ready(tip).await;
        Ok(())
    }

    /// Whether no HTLC the counterparty offered us is still on chain waiting for a preimage
    /// at `tip`: each one's expiry is `RESOLVE_DEPTH` blocks behind (by then the counterparty
    /// took it back, or can any time). Before, a late preimage can still claim it.
    pub(super) fn late_preimage_window_closed(&self, index: usize, tip: u32) -> bool {
        let watched = &self.watched[index];
        let Some(close) = watched.close else { return true };
        watched
            .monitor
            .received_awaiting_preimage(close)
            .iter()
            .all(|(_, expiry)| tip >= expiry.0.saturating_add(RESOLVE_DEPTH))
    }
}
