//! Turning commitment specs into real BOLT 3 transactions (via `shandian-tx`), signing the
//! counterparty's commitment and HTLC transactions, and verifying the counterparty's
//! signatures on ours.

use crate::error::Error;
use crate::keys::ChannelSigner;
use crate::limits::ChannelLimits;
use crate::params::ChannelType;
use crate::update_log::Commitment;
use bitcoin::secp256k1::{ecdsa::Signature, All, PublicKey, Secp256k1};
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::Transaction;
use shandian_tx::commitment::{CommitmentSpec as TxSpec, CommitmentTx, Htlc as TxHtlc};
use shandian_tx::htlc_tx::{counterparty_htlc_sighash, htlc_tx_witness};
use shandian_tx::keys::{ChannelPublicKeys, CommitmentKeys};
use shandian_tx::sighash::verify_p2wsh;
use shandian_tx::{Funding, HtlcDirection, Side as TxSide};
use shandian_types::{ChannelId, PaymentPreimage};

/// Everything fixed once the funding outpoint is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSetup {
    /// The permanent channel id.
    pub channel_id: ChannelId,
    /// The negotiated channel type.
    pub channel_type: ChannelType,
    /// The limits both sides declared.
    pub limits: ChannelLimits,
    /// Our signer (holds our private keys).
    pub signer: ChannelSigner,
    /// Our public keys.
    pub holder_pubkeys: ChannelPublicKeys,
    /// The counterparty's public keys.
    pub counterparty_pubkeys: ChannelPublicKeys,
    /// The funding output (local = us).
    pub funding: Funding,
    /// BOLT 3 commitment number obscuring factor.
    pub obscuring_factor: u64,
}

/// The signatures on one commitment: the commitment itself and its HTLC transactions in
/// output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentSignatures {
    /// Signature on the commitment transaction (funding input).
    pub commitment: Signature,
    /// Signatures on the HTLC transactions, in the commitment's output order.
    pub htlcs: Vec<Signature>,
}

fn tx_err<E>(_: E) -> Error {
    Error::Transaction
}

impl ChannelSetup {
    fn tx_channel_type(&self) -> shandian_tx::ChannelType {
        if self.channel_type.anchors {
            shandian_tx::ChannelType::AnchorsZeroFeeHtlcTx
        } else {
            shandian_tx::ChannelType::StaticRemoteKey
        }
    }

    /// Builds the commitment `c` owned by us (`holder = true`) or by the counterparty, with
    /// the owner's per-commitment `point`.
    pub fn build(
        &self,
        secp: &Secp256k1<All>,
        c: &Commitment,
        holder: bool,
        point: &PublicKey,
    ) -> Result<CommitmentTx, Error> {
        let (owner, other) = if holder {
            (&self.holder_pubkeys, &self.counterparty_pubkeys)
        } else {
            (&self.counterparty_pubkeys, &self.holder_pubkeys)
        };
        let keys = CommitmentKeys::derive(secp, point, owner, other).map_err(tx_err)?;
        let spec = &c.spec;
        // `offered` are ours: offered by the owner exactly when we own the commitment.
        let direction = |ours: bool| {
            if ours == holder {
                HtlcDirection::Offered
            } else {
                HtlcDirection::Received
            }
        };
        let htlcs = spec
            .offered
            .values()
            .map(|h| (h, true))
            .chain(spec.received.values().map(|h| (h, false)))
            .map(|(h, ours)| TxHtlc {
                direction: direction(ours),
                amount: h.amount_msat,
                payment_hash: h.payment_hash,
                cltv_expiry: h.cltv_expiry,
            })
            .collect();
        let (to_local, to_remote) = if holder {
            (spec.to_holder, spec.to_counterparty)
        } else {
            (spec.to_counterparty, spec.to_holder)
        };
        let limits = &self.limits;
        let (dust_limit, to_self_delay) = if holder {
            (limits.holder.dust_limit, limits.counterparty.to_self_delay)
        } else {
            (limits.counterparty.dust_limit, limits.holder.to_self_delay)
        };
        let funder = if limits.holder_is_funder == holder { TxSide::Local } else { TxSide::Remote };
        TxSpec {
            channel_type: self.tx_channel_type(),
            funding_outpoint: self.funding.outpoint,
            funding_amount: self.funding.amount,
            local_funding_pubkey: owner.funding_pubkey,
            remote_funding_pubkey: other.funding_pubkey,
            commitment_number: c.number,
            obscuring_factor: self.obscuring_factor,
            feerate: spec.feerate,
            to_local,
            to_remote,
            htlcs,
            funder,
            dust_limit,
            to_self_delay,
            keys,
        }
        .build()
        .map_err(tx_err)
    }

    /// Signs the counterparty's commitment `c` (its per-commitment `point`) and its HTLC
    /// transactions.
    pub fn sign_counterparty(
        &self,
        secp: &Secp256k1<All>,
        c: &Commitment,
        point: &PublicKey,
    ) -> Result<CommitmentSignatures, Error> {
        let built = self.build(secp, c, false, point)?;
        let sigs =
            self.signer.signer().sign_counterparty_commitment(&built).map_err(Error::Signer)?;
        Ok(CommitmentSignatures { commitment: sigs.commitment, htlcs: sigs.htlcs })
    }

    /// Verifies the counterparty's signatures on our commitment `c` (our `point`).
    /// BOLT 2: MUST fail the channel on a bad commitment or HTLC signature, or a wrong count.
    pub fn verify_holder(
        &self,
        secp: &Secp256k1<All>,
        c: &Commitment,
        point: &PublicKey,
        sigs: &CommitmentSignatures,
    ) -> Result<CommitmentTx, Error> {
        let built = self.build(secp, c, true, point)?;
        let script = self.funding.witness_script();
        let remote = &self.counterparty_pubkeys.funding_pubkey;
        let ok = verify_p2wsh(
            secp,
            &built.tx,
            0,
            &script,
            self.funding.amount,
            EcdsaSighashType::All,
            &sigs.commitment,
            remote,
        );
        if ok != Ok(true) {
            return Err(Error::InvalidCommitmentSignature);
        }
        if sigs.htlcs.len() != built.htlc_outputs.len() {
            return Err(Error::InvalidHtlcSignature);
        }
        let sighash = counterparty_htlc_sighash(self.tx_channel_type());
        let htlc_txs = built.htlc_txs().map_err(tx_err)?;
        let their_key = built.spec.keys.remote_htlc_pubkey;
        for ((out, tx), sig) in built.htlc_outputs.iter().zip(&htlc_txs).zip(&sigs.htlcs) {
            let value = out.htlc.amount.to_sat_floor();
            let ok =
                verify_p2wsh(secp, tx, 0, &out.witness_script, value, sighash, sig, &their_key);
            if ok != Ok(true) {
                return Err(Error::InvalidHtlcSignature);
            }
        }
        Ok(built)
    }

    /// Our commitment `c` fully signed, and its second-stage HTLC transactions signed by both
    /// sides: HTLC-timeout ones always, HTLC-success ones where `preimage_for` knows the
    /// preimage. This is what a unilateral close broadcasts.
    pub fn signed_holder_txs(
        &self,
        secp: &Secp256k1<All>,
        c: &Commitment,
        point: &PublicKey,
        sigs: &CommitmentSignatures,
        preimage_for: impl Fn(&shandian_types::PaymentHash) -> Option<PaymentPreimage>,
    ) -> Result<(Transaction, Vec<Transaction>), Error> {
        let built = self.verify_holder(secp, c, point, sigs)?;
        let signer = self.signer.signer();
        let commitment =
            signer.sign_holder_commitment(&built, &sigs.commitment).map_err(Error::Signer)?;
        let htlc_txs = built.htlc_txs().map_err(tx_err)?;
        let mut signed = Vec::new();
        let outputs = built.htlc_outputs.iter().zip(htlc_txs).zip(&sigs.htlcs).enumerate();
        for (i, ((out, tx), their_sig)) in outputs {
            let preimage = preimage_for(&out.htlc.payment_hash);
            if out.htlc.direction == HtlcDirection::Received && preimage.is_none() {
                continue;
            }
            let our_sig =
                signer.sign_holder_htlc_input(&built, i, &tx, 0).map_err(Error::Signer)?;
            let mut tx = tx;
            let witness = htlc_tx_witness(
                out,
                self.tx_channel_type(),
                their_sig,
                &our_sig,
                preimage.as_ref(),
            )
            .map_err(tx_err)?;
            if let Some(input) = tx.input.first_mut() {
                input.witness = witness;
            }
            signed.push(tx);
        }
        Ok((commitment, signed))
    }
}
