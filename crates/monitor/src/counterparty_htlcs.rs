//! The HTLC outputs of the counterparty's current or next commitment (BOLT 5 "Unilateral
//! Close Handling: Remote Commitment Transaction"): no second-stage transactions there, we
//! spend each HTLC output directly.
//!
//! - An HTLC we offered is the counterparty's *received* HTLC output: BOLT 5 "Remote Offered
//!   HTLC Outputs" (from our side, "HTLC Output Handling: Remote Commitment, Local Offers"):
//!   once the HTLC has timed out, MUST spend the output to a convenient address. BOLT 3
//!   received-HTLC script, timeout branch: witness `<remotehtlcsig> <>` with
//!   `nLockTime >= cltv_expiry` (plus a one-block CSV with anchors).
//! - An HTLC the counterparty offered us whose preimage we know is its *offered* HTLC output:
//!   BOLT 5 "HTLC Output Handling: Remote Commitment, Remote Offers": if the node has the
//!   preimage, MUST spend the output using the preimage (BOLT 3 offered-HTLC script,
//!   `<remotehtlcsig> <payment_preimage>`).
//!
//! `remotehtlcsig` is ours here: the scripts name the keys from the owner's side, and on the
//! counterparty's commitment we are the remote. Our HTLC key for its per-commitment point
//! signs both.

use bitcoin::Transaction;
use shandian_channel::Commitment;
use shandian_tx::commitment::HtlcDirection;
use shandian_tx::CommitmentTx;
use shandian_types::BlockHeight;

use crate::claims::{after, ChannelMonitor, ClaimKind, Resolution, SweepPolicy};
use crate::Error;

impl ChannelMonitor {
    /// The counterparty's commitment numbered `number` if it is its current or next one:
    /// the state and the per-commitment point it was built with.
    fn counterparty_state(
        &self,
        number: u64,
    ) -> Option<(&Commitment, bitcoin::secp256k1::PublicKey)> {
        let log = self.funded.log();
        let (current_point, next_point) = self.funded.counterparty_points();
        [
            (Some(log.counterparty_commitment()), current_point),
            (log.counterparty_next(), next_point),
        ]
        .into_iter()
        .find_map(|(c, point)| c.filter(|c| c.number == number).map(|c| (c, point)))
    }

    /// The counterparty's current or next commitment numbered `number`, rebuilt (unsigned;
    /// same txid as the one it broadcast). `None` for any other number.
    pub(crate) fn counterparty_commitment(
        &self,
        number: u64,
    ) -> Result<Option<CommitmentTx>, Error> {
        let Some((c, point)) = self.counterparty_state(number) else { return Ok(None) };
        Ok(Some(self.funded.setup().build(&self.secp, c, false, &point)?))
    }

    /// Claims of the HTLC outputs of the counterparty's `commitment` (numbered `number`):
    /// ours back after their expiry, theirs with the preimages we know. Nothing if the
    /// transaction is not the commitment we rebuild (we would not recognise its scripts).
    pub(crate) fn counterparty_htlc_claims(
        &self,
        commitment: &Transaction,
        number: u64,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
        out: &mut Resolution,
    ) -> Result<(), Error> {
        let Some(built) = self.counterparty_commitment(number)? else { return Ok(()) };
        if built.tx.compute_txid() != commitment.compute_txid() {
            return Ok(());
        }
        for (i, output) in built.htlc_outputs.iter().enumerate() {
            let htlc = &output.htlc;
            let (kind, preimage, valid_at) = match htlc.direction {
                // Received by the owner: one we offered. The CLTV makes the claim valid in
                // the block after `cltv_expiry` (nLockTime = cltv_expiry); anchors' CSV 1
                // in the block after the commitment's.
                HtlcDirection::Received => {
                    let expiry = BlockHeight(htlc.cltv_expiry.0.saturating_add(1));
                    (ClaimKind::CounterpartyHtlcTimeout, None, expiry.max(after(confirmed_at, 1)))
                }
                HtlcDirection::Offered => match self.funded.preimage(&htlc.payment_hash) {
                    Some(p) => {
                        (ClaimKind::CounterpartyHtlcPreimage, Some(p), after(confirmed_at, 1))
                    }
                    // Not ours to take (yet): the counterparty times it out.
                    None => continue,
                },
            };
            let input = built.counterparty_htlc_claim_input(i, preimage)?;
            self.push_sweep(kind, input, valid_at, confirmed_at, policy, out)?;
        }
        Ok(())
    }

    /// Where our offered HTLCs sit on the counterparty's commitment numbered `number`
    /// (current or next): each untrimmed one's id and output index, so a confirmed
    /// [`ClaimKind::CounterpartyHtlcTimeout`] says which HTLC timed out. Empty for any other
    /// number.
    pub fn offered_outputs_on_counterparty(&self, number: u64) -> Result<Vec<(u64, u32)>, Error> {
        let Some((c, _)) = self.counterparty_state(number) else { return Ok(Vec::new()) };
        let Some(built) = self.counterparty_commitment(number)? else { return Ok(Vec::new()) };
        // The channel lists our offered HTLCs first, in the spec's order, whoever owns it.
        Ok(c.spec
            .offered
            .values()
            .zip(built.htlc_output_indices.iter())
            .filter_map(|(h, index)| index.map(|i| (h.id, i)))
            .collect())
    }
}
