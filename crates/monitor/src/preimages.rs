//! Preimages learned after the monitor was built: the node settles an HTLC the counterparty
//! offered us (a forward's upstream HTLC once the downstream one is fulfilled, a payment to
//! our invoice) only when it learns the preimage, which can be after the channel closed.
//! BOLT 5 still asks for the claim: "if it has the preimage for an HTLC output it was
//! offered, MUST spend it" (HTLC-success on our commitment, directly with the preimage on
//! the counterparty's), and the counterparty can take the output back only after the HTLC's
//! expiry.

use shandian_channel::{Commitment, Htlc};
use shandian_types::{CltvExpiry, PaymentHash, PaymentPreimage};

use crate::classify::Close;
use crate::ChannelMonitor;

impl ChannelMonitor {
    /// Learns the preimage of HTLCs the counterparty offered us; [`ChannelMonitor::resolve`]
    /// then claims them with it. Only a preimage whose hash locks a received HTLC of a
    /// commitment that may confirm is kept: returns whether there is one.
    pub fn add_preimage(&mut self, preimage: PaymentPreimage) -> bool {
        self.funded.learn_preimage(preimage)
    }

    /// The payment hashes of the HTLCs the counterparty offered us on any commitment that
    /// may confirm: the preimages worth handing to [`ChannelMonitor::add_preimage`].
    pub fn received_hashes(&self) -> Vec<PaymentHash> {
        let log = self.funded.log();
        let mut hashes: Vec<PaymentHash> = [
            Some(log.holder_commitment()),
            Some(log.counterparty_commitment()),
            log.counterparty_next(),
        ]
        .into_iter()
        .flatten()
        .flat_map(|c| c.spec.received.values().map(|h| h.payment_hash))
        .collect();
        hashes.sort_unstable();
        hashes.dedup();
        hashes
    }

    /// The HTLCs the counterparty offered us that have an output on the commitment `close`
    /// confirmed and whose preimage we do not know: their hash and expiry. Until the expiry
    /// the counterparty cannot take such an output back, so a preimage learned meanwhile
    /// still claims it: the node keeps watching the channel that long. Empty for a
    /// cooperative close, a revoked commitment (justice takes every output) and a commitment
    /// we do not know.
    pub fn received_awaiting_preimage(&self, close: Close) -> Vec<(PaymentHash, CltvExpiry)> {
        let log = self.funded.log();
        let (commitment, holder, number) = match close {
            Close::HolderLatest { commitment_number } => {
                (Some(log.holder_commitment()), true, commitment_number)
            }
            Close::Counterparty { commitment_number } => {
                let theirs = [Some(log.counterparty_commitment()), log.counterparty_next()];
                let found = theirs.into_iter().flatten().find(|c| c.number == commitment_number);
                (found, false, commitment_number)
            }
            Close::Cooperative | Close::RevokedCounterparty { .. } | Close::Unrecognised { .. } => {
                return Vec::new()
            }
        };
        let Some(commitment) = commitment.filter(|c: &&Commitment| c.number == number) else {
            return Vec::new();
        };
        self.untrimmed(commitment, holder, false)
            .into_iter()
            .filter(|h: &&Htlc| self.funded.preimage(&h.payment_hash).is_none())
            .map(|h| (h.payment_hash, h.cltv_expiry))
            .collect()
    }
}
