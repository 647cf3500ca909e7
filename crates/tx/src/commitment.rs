//! BOLT 3 commitment transactions for `option_static_remotekey` and
//! `option_anchors_zero_fee_htlc_tx`.
//!
//! Everything is named from the point of view of the commitment's owner ("local": the side
//! that can broadcast it). To build the counterparty's commitment, swap the roles.

use crate::error::Error;
use crate::keys::CommitmentKeys;
use crate::script::{
    anchor_script, funding_script, offered_htlc_script, received_htlc_script, to_local_script,
    to_remote_anchors_script, ChannelType,
};
use crate::weights::{commitment_weight, htlc_success_weight, htlc_timeout_weight};
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::PublicKey;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Witness,
};
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentHash};

/// The value of each anchor output.
pub const ANCHOR_OUTPUT_VALUE: Amount = Amount::from_sat(330);

/// One side of the channel, relative to the commitment's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The commitment's owner.
    Local,
    /// The other side.
    Remote,
}

/// Whether the commitment's owner offered the HTLC (pays it) or received it (is paid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HtlcDirection {
    /// Offered by the owner: spent by HTLC-timeout (owner) or preimage (other side).
    Offered,
    /// Received by the owner: spent by HTLC-success (owner) or timeout (other side).
    Received,
}

/// One HTLC committed to in a commitment transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Htlc {
    /// Direction relative to the commitment's owner.
    pub direction: HtlcDirection,
    /// `amount_msat`.
    pub amount: Msat,
    /// `payment_hash`.
    pub payment_hash: PaymentHash,
    /// `cltv_expiry`.
    pub cltv_expiry: CltvExpiry,
}

/// Everything that determines one commitment transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentSpec {
    /// Scripts, fees and sighash flags depend on it.
    pub channel_type: ChannelType,
    /// The funding outpoint spent by the commitment.
    pub funding_outpoint: OutPoint,
    /// The funding output's value.
    pub funding_amount: Amount,
    /// The owner's `funding_pubkey` (its anchor locks to it).
    pub local_funding_pubkey: PublicKey,
    /// The other side's `funding_pubkey`.
    pub remote_funding_pubkey: PublicKey,
    /// The 48-bit commitment number (counting up from 0).
    pub commitment_number: u64,
    /// The lower 48 bits of `SHA256(opener payment_basepoint || accepter payment_basepoint)`,
    /// see [`obscuring_factor`].
    pub obscuring_factor: u64,
    /// `feerate_per_kw`.
    pub feerate: FeeratePerKw,
    /// The owner's balance, before fees and anchors.
    pub to_local: Msat,
    /// The other side's balance, before fees and anchors.
    pub to_remote: Msat,
    /// Every HTLC committed to, trimmed or not.
    pub htlcs: Vec<Htlc>,
    /// Who opened (funds) the channel and pays the fee and anchors.
    pub funder: Side,
    /// The owner's `dust_limit_satoshis`.
    pub dust_limit: Amount,
    /// The delay the owner must wait for its own outputs (the other side's `to_self_delay`).
    pub to_self_delay: u16,
    /// The keys in this commitment's scripts.
    pub keys: CommitmentKeys,
}

/// An untrimmed HTLC and where it sits in the commitment transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtlcOutput {
    /// The HTLC.
    pub htlc: Htlc,
    /// Its position in [`CommitmentSpec::htlcs`].
    pub spec_index: usize,
    /// Its output index in the commitment transaction.
    pub output_index: u32,
    /// The witness script of the output.
    pub witness_script: ScriptBuf,
}

/// A built (unsigned) commitment transaction and what the channel needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentTx {
    /// The transaction; its funding input has an empty witness.
    pub tx: Transaction,
    /// The spec it was built from.
    pub spec: CommitmentSpec,
    /// Untrimmed HTLCs in output order: the order of `htlc_signatures` (BOLT 2).
    pub htlc_outputs: Vec<HtlcOutput>,
    /// For each HTLC of the spec, its output index, `None` if trimmed.
    pub htlc_output_indices: Vec<Option<u32>>,
    /// The `to_local` output, if not trimmed.
    pub to_local_output: Option<u32>,
    /// The `to_remote` output, if not trimmed.
    pub to_remote_output: Option<u32>,
    /// The owner's anchor (anchors only).
    pub local_anchor_output: Option<u32>,
    /// The other side's anchor (anchors only).
    pub remote_anchor_output: Option<u32>,
    /// The base fee BOLT 3 computes from the expected weight.
    pub base_fee: Amount,
    /// The actual fee: funding amount minus outputs (base fee plus trimmed value).
    pub fee: Amount,
}

/// The lower 48 bits of `SHA256(opener_payment_basepoint || accepter_payment_basepoint)`.
pub fn obscuring_factor(
    opener_payment_basepoint: &PublicKey,
    accepter_payment_basepoint: &PublicKey,
) -> u64 {
    let mut engine = sha256::Hash::engine();
    engine.input(&opener_payment_basepoint.serialize());
    engine.input(&accepter_payment_basepoint.serialize());
    let hash = sha256::Hash::from_engine(engine).to_byte_array();
    hash[26..32].iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte))
}

/// The HTLC-timeout fee (zero with anchors).
pub fn htlc_timeout_fee(channel_type: ChannelType, feerate: FeeratePerKw) -> Amount {
    if channel_type.has_anchors() {
        Amount::ZERO
    } else {
        feerate.fee_for_weight(htlc_timeout_weight(channel_type))
    }
}

/// The HTLC-success fee (zero with anchors).
pub fn htlc_success_fee(channel_type: ChannelType, feerate: FeeratePerKw) -> Amount {
    if channel_type.has_anchors() {
        Amount::ZERO
    } else {
        feerate.fee_for_weight(htlc_success_weight(channel_type))
    }
}

/// The second-stage fee of an HTLC of this direction.
pub fn htlc_tx_fee(
    direction: HtlcDirection,
    channel_type: ChannelType,
    feerate: FeeratePerKw,
) -> Amount {
    match direction {
        HtlcDirection::Offered => htlc_timeout_fee(channel_type, feerate),
        HtlcDirection::Received => htlc_success_fee(channel_type, feerate),
    }
}

/// BOLT 3 "Trimmed Outputs": whether the HTLC gets no output because its amount minus the
/// second-stage fee is below the owner's dust limit.
pub fn is_trimmed(
    htlc: &Htlc,
    channel_type: ChannelType,
    feerate: FeeratePerKw,
    dust_limit: Amount,
) -> bool {
    let fee = htlc_tx_fee(htlc.direction, channel_type, feerate);
    match htlc.amount.to_sat_floor().checked_sub(fee) {
        Some(value) => value < dust_limit,
        None => true,
    }
}

/// An output before sorting, with its BIP 69 + CLTV sort key.
struct PendingOutput {
    txout: TxOut,
    cltv: u32,
    kind: OutputKind,
}

#[derive(Clone, Copy)]
enum OutputKind {
    ToLocal,
    ToRemote,
    LocalAnchor,
    RemoteAnchor,
    Htlc(usize),
}

fn p2wsh(script: &ScriptBuf) -> ScriptBuf {
    ScriptBuf::new_p2wsh(&script.wscript_hash())
}

impl CommitmentSpec {
    /// The 2-of-2 funding witness script.
    pub fn funding_script(&self) -> ScriptBuf {
        funding_script(&self.local_funding_pubkey, &self.remote_funding_pubkey)
    }

    /// The `to_local` witness script.
    pub fn to_local_script(&self) -> ScriptBuf {
        to_local_script(
            &self.keys.revocation_pubkey,
            self.to_self_delay,
            &self.keys.local_delayed_pubkey,
        )
    }

    /// The `to_remote` script pubkey (P2WPKH, or P2WSH of the CSV-1 script with anchors).
    pub fn to_remote_script_pubkey(&self) -> ScriptBuf {
        if self.channel_type.has_anchors() {
            p2wsh(&to_remote_anchors_script(&self.keys.remote_payment_pubkey))
        } else {
            ScriptBuf::new_p2wpkh(
                &CompressedPublicKey(self.keys.remote_payment_pubkey).wpubkey_hash(),
            )
        }
    }

    /// The witness script of an HTLC's output.
    pub fn htlc_script(&self, htlc: &Htlc) -> ScriptBuf {
        match htlc.direction {
            HtlcDirection::Offered => {
                offered_htlc_script(&self.keys, &htlc.payment_hash, self.channel_type)
            }
            HtlcDirection::Received => received_htlc_script(
                &self.keys,
                &htlc.payment_hash,
                htlc.cltv_expiry,
                self.channel_type,
            ),
        }
    }

    /// The commitment number XOR the obscuring factor, 48 bits.
    pub fn obscured_commitment_number(&self) -> u64 {
        (self.commitment_number ^ self.obscuring_factor) & 0xffff_ffff_ffff
    }

    /// Whether HTLC `htlc` is trimmed in this commitment.
    pub fn is_trimmed(&self, htlc: &Htlc) -> bool {
        is_trimmed(htlc, self.channel_type, self.feerate, self.dust_limit)
    }

    /// The base fee: feerate times the expected weight with the untrimmed HTLCs.
    pub fn base_fee(&self) -> Amount {
        let untrimmed = self.htlcs.iter().filter(|h| !self.is_trimmed(h)).count();
        self.feerate.fee_for_weight(commitment_weight(self.channel_type, untrimmed))
    }

    /// Builds the commitment transaction (BOLT 3 "Commitment Transaction Construction").
    pub fn build(&self) -> Result<CommitmentTx, Error> {
        self.check_balances()?;
        if self.commitment_number > 0xffff_ffff_ffff {
            return Err(Error::CommitmentNumberOutOfRange(self.commitment_number));
        }
        let base_fee = self.base_fee();
        let (to_local, to_remote) = self.balances_after_fee(base_fee)?;
        let mut outputs = Vec::with_capacity(self.htlcs.len() + 4);
        let mut untrimmed = 0usize;
        for (i, htlc) in self.htlcs.iter().enumerate() {
            if self.is_trimmed(htlc) {
                continue;
            }
            untrimmed += 1;
            outputs.push(PendingOutput {
                txout: TxOut {
                    value: htlc.amount.to_sat_floor(),
                    script_pubkey: p2wsh(&self.htlc_script(htlc)),
                },
                cltv: htlc.cltv_expiry.0,
                kind: OutputKind::Htlc(i),
            });
        }
        let has_to_local = to_local >= self.dust_limit;
        let has_to_remote = to_remote >= self.dust_limit;
        if has_to_local {
            outputs.push(self.simple_output(
                to_local,
                p2wsh(&self.to_local_script()),
                OutputKind::ToLocal,
            ));
        }
        if has_to_remote {
            outputs.push(self.simple_output(
                to_remote,
                self.to_remote_script_pubkey(),
                OutputKind::ToRemote,
            ));
        }
        if self.channel_type.has_anchors() {
            if has_to_local || untrimmed > 0 {
                let script = p2wsh(&anchor_script(&self.local_funding_pubkey));
                outputs.push(self.simple_output(
                    ANCHOR_OUTPUT_VALUE,
                    script,
                    OutputKind::LocalAnchor,
                ));
            }
            if has_to_remote || untrimmed > 0 {
                let script = p2wsh(&anchor_script(&self.remote_funding_pubkey));
                outputs.push(self.simple_output(
                    ANCHOR_OUTPUT_VALUE,
                    script,
                    OutputKind::RemoteAnchor,
                ));
            }
        }
        // BOLT 3: BIP 69 order (value, then script pubkey), then CLTV for HTLC outputs.
        outputs.sort_by(|a, b| {
            (a.txout.value, a.txout.script_pubkey.as_bytes(), a.cltv).cmp(&(
                b.txout.value,
                b.txout.script_pubkey.as_bytes(),
                b.cltv,
            ))
        });
        self.assemble(outputs, base_fee)
    }

    fn simple_output(
        &self,
        value: Amount,
        script_pubkey: ScriptBuf,
        kind: OutputKind,
    ) -> PendingOutput {
        PendingOutput { txout: TxOut { value, script_pubkey }, cltv: 0, kind }
    }

    /// BOLT 2 invariant: balances and HTLCs add up to the funding amount.
    fn check_balances(&self) -> Result<(), Error> {
        let total = self
            .htlcs
            .iter()
            .try_fold(self.to_local.checked_add(self.to_remote), |acc, h| {
                Some(acc.and_then(|a| a.checked_add(h.amount)))
            })
            .flatten()
            .ok_or(Error::AmountOverflow)?;
        let funding = Msat::from_sat(self.funding_amount).ok_or(Error::AmountOverflow)?;
        if total != funding {
            return Err(Error::BalanceMismatch);
        }
        Ok(())
    }

    /// Subtracts the base fee and (with anchors) the two anchors from the funder, rounding
    /// down to whole satoshis. A funder that cannot pay ends at zero.
    fn balances_after_fee(&self, base_fee: Amount) -> Result<(Amount, Amount), Error> {
        let mut charge = base_fee;
        if self.channel_type.has_anchors() {
            charge = charge.checked_add(ANCHOR_OUTPUT_VALUE * 2).ok_or(Error::AmountOverflow)?;
        }
        let charge = Msat::from_sat(charge).unwrap_or(Msat::MAX);
        let (mut local, mut remote) = (self.to_local, self.to_remote);
        match self.funder {
            Side::Local => local = local.saturating_sub(charge),
            Side::Remote => remote = remote.saturating_sub(charge),
        }
        Ok((local.to_sat_floor(), remote.to_sat_floor()))
    }

    fn assemble(
        &self,
        outputs: Vec<PendingOutput>,
        base_fee: Amount,
    ) -> Result<CommitmentTx, Error> {
        let obscured = self.obscured_commitment_number();
        let locktime = 0x2000_0000 | (obscured & 0x00ff_ffff) as u32;
        let sequence = 0x8000_0000 | ((obscured >> 24) & 0x00ff_ffff) as u32;
        let mut result = CommitmentTx {
            tx: Transaction {
                version: Version::TWO,
                lock_time: absolute::LockTime::from_consensus(locktime),
                input: vec![TxIn {
                    previous_output: self.funding_outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence(sequence),
                    witness: Witness::new(),
                }],
                output: Vec::with_capacity(outputs.len()),
            },
            spec: self.clone(),
            htlc_outputs: Vec::new(),
            htlc_output_indices: vec![None; self.htlcs.len()],
            to_local_output: None,
            to_remote_output: None,
            local_anchor_output: None,
            remote_anchor_output: None,
            base_fee,
            fee: Amount::ZERO,
        };
        for (index, output) in outputs.into_iter().enumerate() {
            let index = index as u32;
            match output.kind {
                OutputKind::ToLocal => result.to_local_output = Some(index),
                OutputKind::ToRemote => result.to_remote_output = Some(index),
                OutputKind::LocalAnchor => result.local_anchor_output = Some(index),
                OutputKind::RemoteAnchor => result.remote_anchor_output = Some(index),
                OutputKind::Htlc(i) => {
                    if let (Some(slot), Some(htlc)) =
                        (result.htlc_output_indices.get_mut(i), self.htlcs.get(i))
                    {
                        *slot = Some(index);
                        result.htlc_outputs.push(HtlcOutput {
                            htlc: *htlc,
                            spec_index: i,
                            output_index: index,
                            witness_script: self.htlc_script(htlc),
                        });
                    }
                }
            }
            result.tx.output.push(output.txout);
        }
        let spent = result
            .tx
            .output
            .iter()
            .try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.value))
            .ok_or(Error::AmountOverflow)?;
        // Only reachable when a funder below the reserve cannot pay for the anchors.
        result.fee =
            self.funding_amount.checked_sub(spent).ok_or(Error::FunderCannotAffordAnchors)?;
        Ok(result)
    }
}
