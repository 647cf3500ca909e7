//! How the HTLCs we offered end when the channel closes on chain (BOLT 5 "HTLC Output
//! Handling"), so the payment logic can settle what depends on them: fulfil the incoming
//! HTLC of a forward with the preimage the counterparty revealed, or fail it (and retry our
//! own payments) once our HTLC cannot be paid any more.

use bitcoin::{Transaction, Txid};
use shandian_channel::{Commitment, Htlc};
use shandian_tx::commitment::{is_trimmed, HtlcDirection};
use shandian_types::{PaymentHash, PaymentPreimage};

use crate::classify::Close;
use crate::ChannelMonitor;

/// What the confirmed commitment means for the HTLCs we offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferedOnChain {
    /// HTLCs with an output on the confirmed commitment: resolved later, by the
    /// counterparty's preimage ([`ChannelMonitor::preimages_in`]) or by our timeout.
    pub pending: Vec<(u64, PaymentHash)>,
    /// HTLCs the confirmed commitment carries no output for (never in it, or trimmed as
    /// dust): nobody can claim them on chain, they failed with the close.
    pub failed: Vec<u64>,
}

impl ChannelMonitor {
    /// Every HTLC we offered that any commitment which may confirm carries (ours, the
    /// counterparty's current and next): id and payment hash.
    pub fn offered_htlcs(&self) -> Vec<(u64, PaymentHash)> {
        let mut all: Vec<(u64, PaymentHash)> = self
            .commitments()
            .iter()
            .flat_map(|c| c.spec.offered.values())
            .map(|h| (h.id, h.payment_hash))
            .collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all.dedup_by_key(|(id, _)| *id);
        all
    }

    /// Splits our offered HTLCs by whether the commitment `close` confirmed carries an
    /// output for them. BOLT 5: for any committed HTLC that does not have an output in this
    /// commitment transaction, once it has reached reasonable depth, MUST fail the
    /// corresponding incoming HTLC.
    ///
    /// A commitment we do not know the contents of (revoked, or newer than our record) keeps
    /// every HTLC pending: only a preimage on chain settles those.
    pub fn offered_on_chain(&self, close: Close) -> OfferedOnChain {
        let all = self.offered_htlcs();
        let confirmed = match close {
            Close::Cooperative => {
                // BOLT 2: no HTLC is left when a closing transaction is signed.
                let failed = all.iter().map(|(id, _)| *id).collect();
                return OfferedOnChain { pending: Vec::new(), failed };
            }
            Close::HolderLatest { commitment_number } => {
                self.carried(self.funded.log().holder_commitment(), commitment_number, true)
            }
            Close::Counterparty { commitment_number } => {
                let log = self.funded.log();
                let theirs = [Some(log.counterparty_commitment()), log.counterparty_next()];
                let found = theirs.into_iter().flatten().find(|c| c.number == commitment_number);
                match found {
                    Some(c) => self.carried(c, commitment_number, false),
                    None => None,
                }
            }
            Close::RevokedCounterparty { .. } | Close::Unrecognised { .. } => None,
        };
        let Some(carried) = confirmed else {
            return OfferedOnChain { pending: all, failed: Vec::new() };
        };
        let (pending, failed): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|(id, _)| carried.contains(id));
        OfferedOnChain { pending, failed: failed.into_iter().map(|(id, _)| id).collect() }
    }

    /// The ids of our offered HTLCs with an untrimmed output on commitment `c` (owned by us
    /// when `holder`), if `c` is the one numbered `number`.
    fn carried(&self, c: &Commitment, number: u64, holder: bool) -> Option<Vec<u64>> {
        if c.number != number {
            return None;
        }
        Some(self.untrimmed(c, holder, true).into_iter().map(|h| h.id).collect())
    }

    /// The HTLCs of commitment `c` (owned by us when `holder`) with an output (not trimmed
    /// as dust): those we offered when `ours`, else those the counterparty offered.
    pub(crate) fn untrimmed<'c>(
        &self,
        c: &'c Commitment,
        holder: bool,
        ours: bool,
    ) -> Vec<&'c Htlc> {
        let limits = self.funded.log().limits();
        let dust_limit =
            if holder { limits.holder.dust_limit } else { limits.counterparty.dust_limit };
        // On the owner's commitment, an HTLC is offered by the owner exactly when the owner
        // offered it: ours when we own it and it is ours, theirs when they own it.
        let direction =
            if holder == ours { HtlcDirection::Offered } else { HtlcDirection::Received };
        let channel_type = self.channel_type();
        let htlcs = if ours { &c.spec.offered } else { &c.spec.received };
        htlcs
            .values()
            .filter(|h| {
                let tx_htlc = shandian_tx::commitment::Htlc {
                    direction,
                    amount: h.amount_msat,
                    payment_hash: h.payment_hash,
                    cltv_expiry: h.cltv_expiry,
                };
                !is_trimmed(&tx_htlc, channel_type, c.spec.feerate, dust_limit)
            })
            .collect()
    }

    /// Where our offered HTLCs sit on our latest commitment: each untrimmed one's id and
    /// output index. Our HTLC-timeout transactions spend these outputs, so a confirmed
    /// HTLC-timeout says which HTLC timed out.
    pub fn offered_outputs_on_holder(&self) -> Result<Vec<(u64, u32)>, crate::Error> {
        let built = self.holder_commitment()?;
        // The commitment lists our offered HTLCs first, in the spec's order.
        let offered = self.funded.log().holder_commitment().spec.offered.values();
        Ok(offered
            .zip(built.htlc_output_indices.iter())
            .filter_map(|(h, index)| index.map(|i| (h.id, i)))
            .collect())
    }

    /// The preimages `tx` reveals for HTLCs we offered, taken from the witnesses of its
    /// inputs that spend an output of `commitment` (the counterparty's preimage spend of our
    /// HTLC output on our commitment, or its HTLC-success transaction on its own). BOLT 5:
    /// MUST extract the payment preimage from the transaction input witness.
    pub fn preimages_in(&self, tx: &Transaction, commitment: Txid) -> Vec<(u64, PaymentPreimage)> {
        let offered = self.offered_htlcs();
        let mut found = Vec::new();
        let witnesses = tx
            .input
            .iter()
            .filter(|i| i.previous_output.txid == commitment)
            .flat_map(|i| i.witness.iter());
        for element in witnesses {
            let Ok(bytes) = <[u8; 32]>::try_from(element) else { continue };
            let preimage = PaymentPreimage(bytes);
            let hash = preimage.hash();
            for (id, _) in offered.iter().filter(|(_, h)| *h == hash) {
                if !found.iter().any(|(f, _)| f == id) {
                    found.push((*id, preimage));
                }
            }
        }
        found
    }

    /// The commitments that may confirm with HTLCs of ours.
    fn commitments(&self) -> Vec<&Commitment> {
        let log = self.funded.log();
        [
            Some(log.holder_commitment()),
            Some(log.counterparty_commitment()),
            log.counterparty_next(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}
