//! BOLT 5 transactions that take money back on chain: the `to_local` sweep after
//! `to_self_delay`, the `to_remote` sweep, claims of a counterparty commitment's HTLC outputs
//! by preimage and by timeout, sweeps of second-stage outputs, the justice transaction that
//! takes every output of a revoked commitment, and anchor spends for CPFP.
//!
//! A [`Sweep`] lists [`SweepInput`]s, each with the [`SpendPath`] that says which witness,
//! sequence and key it needs; [`Sweep::build`] pays everything minus the fee (from the
//! expected weight) to one destination, and a [`Signer`](crate::signer::Signer) fills in the
//! witnesses.

use crate::commitment::{CommitmentTx, HtlcDirection};
use crate::error::Error;
use crate::keys::PerCommitmentSecret;
use crate::script::{anchor_script, to_remote_anchors_script, ChannelType};
use crate::sighash::script_sig;
use crate::weights::{witness_size, MAX_SIGNATURE_SIZE};
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Txid, Weight, Witness,
};
use shandian_types::{CltvExpiry, FeeratePerKw, PaymentPreimage};

/// How an output is spent: the witness shape, the input's sequence and the signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendPath {
    /// Our `to_local` or our second-stage HTLC output, after `to_self_delay`:
    /// `<local_delayedsig> <>`, signed by the delayed key for `per_commitment_point`.
    Delayed {
        /// Our per-commitment point of the commitment.
        per_commitment_point: PublicKey,
        /// The CSV delay in the script.
        to_self_delay: u16,
    },
    /// A revoked `to_local` or revoked second-stage output: `<revocation_sig> 1`.
    RevokedToLocal {
        /// The revoked commitment's per-commitment secret.
        per_commitment_secret: PerCommitmentSecret,
    },
    /// Our `to_remote` on the counterparty's commitment: P2WPKH `<sig> <remotepubkey>`, or
    /// with anchors `<sig>` after one block.
    ToRemote {
        /// Whether the output has the anchors CSV-1 script.
        channel_type: ChannelType,
    },
    /// An HTLC the counterparty offered us, on its commitment, by preimage:
    /// `<remotehtlcsig> <payment_preimage>`.
    HtlcPreimage {
        /// The counterparty's per-commitment point of that commitment.
        per_commitment_point: PublicKey,
        /// The payment preimage.
        preimage: PaymentPreimage,
        /// Anchors add a one-block CSV.
        channel_type: ChannelType,
    },
    /// An HTLC we offered, on the counterparty's commitment, after its expiry:
    /// `<remotehtlcsig> <>` with `nLockTime >= cltv_expiry`.
    HtlcTimeout {
        /// The counterparty's per-commitment point of that commitment.
        per_commitment_point: PublicKey,
        /// The HTLC's `cltv_expiry`.
        cltv_expiry: CltvExpiry,
        /// Anchors add a one-block CSV.
        channel_type: ChannelType,
    },
    /// A revoked commitment's HTLC output: `<revocation_sig> <revocationpubkey>`.
    RevokedHtlc {
        /// The revoked commitment's per-commitment secret.
        per_commitment_secret: PerCommitmentSecret,
    },
    /// Our anchor, with our funding key: `<sig>`.
    Anchor,
    /// Any anchor after 16 blocks, without a key: `<>`.
    AnchorAfter16,
}

impl SpendPath {
    /// The input's `nSequence`.
    pub fn sequence(&self) -> Sequence {
        let csv1 = |t: &ChannelType| {
            if t.has_anchors() {
                Sequence(1)
            } else {
                Sequence::ENABLE_RBF_NO_LOCKTIME
            }
        };
        match self {
            SpendPath::Delayed { to_self_delay, .. } => Sequence(u32::from(*to_self_delay)),
            SpendPath::ToRemote { channel_type }
            | SpendPath::HtlcPreimage { channel_type, .. }
            | SpendPath::HtlcTimeout { channel_type, .. } => csv1(channel_type),
            SpendPath::AnchorAfter16 => Sequence(16),
            SpendPath::RevokedToLocal { .. }
            | SpendPath::RevokedHtlc { .. }
            | SpendPath::Anchor => Sequence::ENABLE_RBF_NO_LOCKTIME,
        }
    }

    /// The smallest `nLockTime` the spend needs.
    pub fn min_locktime(&self) -> u32 {
        match self {
            SpendPath::HtlcTimeout { cltv_expiry, .. } => cltv_expiry.0,
            _ => 0,
        }
    }
}

/// One output to spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepInput {
    /// The output spent.
    pub outpoint: OutPoint,
    /// Its value.
    pub value: Amount,
    /// Its witness script; for a P2WPKH `to_remote`, its script pubkey.
    pub witness_script: ScriptBuf,
    /// How it is spent.
    pub path: SpendPath,
}

impl SweepInput {
    /// Whether the output is P2WPKH (the non-anchors `to_remote`).
    pub fn is_p2wpkh(&self) -> bool {
        self.witness_script.is_p2wpkh()
    }

    /// The expected witness size with a 73-byte signature (an upper bound).
    pub fn expected_witness_size(&self) -> u64 {
        let script = self.witness_script.len() as u64;
        let sig = MAX_SIGNATURE_SIZE;
        match &self.path {
            SpendPath::Delayed { .. } | SpendPath::HtlcTimeout { .. } => {
                witness_size(&[sig, 0, script])
            }
            SpendPath::RevokedToLocal { .. } => witness_size(&[sig, 1, script]),
            SpendPath::ToRemote { .. } if self.is_p2wpkh() => witness_size(&[sig, 33]),
            SpendPath::ToRemote { .. } | SpendPath::Anchor => witness_size(&[sig, script]),
            SpendPath::HtlcPreimage { .. } => witness_size(&[sig, 32, script]),
            SpendPath::RevokedHtlc { .. } => witness_size(&[sig, 33, script]),
            SpendPath::AnchorAfter16 => witness_size(&[0, script]),
        }
    }

    /// The sighash flag used to sign this input.
    pub fn sighash_type(&self) -> EcdsaSighashType {
        EcdsaSighashType::All
    }

    /// The witness, given the signature (absent only for [`SpendPath::AnchorAfter16`]) and
    /// the signing key's public key (needed by P2WPKH and revoked HTLC witnesses).
    pub fn witness(&self, sig: Option<&Signature>, pubkey: &PublicKey) -> Result<Witness, Error> {
        let mut w = Witness::new();
        let sig = sig.map(|s| script_sig(s, self.sighash_type()));
        let Some(sig) = sig else {
            if self.path != SpendPath::AnchorAfter16 {
                return Err(Error::InvalidSignature(None));
            }
            w.push([]);
            w.push(self.witness_script.as_bytes());
            return Ok(w);
        };
        w.push(sig);
        match &self.path {
            SpendPath::ToRemote { .. } if self.is_p2wpkh() => {
                w.push(pubkey.serialize());
                return Ok(w);
            }
            SpendPath::Delayed { .. } | SpendPath::HtlcTimeout { .. } => w.push([]),
            SpendPath::RevokedToLocal { .. } => w.push([1u8]),
            SpendPath::HtlcPreimage { preimage, .. } => w.push(preimage.as_bytes()),
            SpendPath::RevokedHtlc { .. } => w.push(pubkey.serialize()),
            SpendPath::ToRemote { .. } | SpendPath::Anchor | SpendPath::AnchorAfter16 => {}
        }
        w.push(self.witness_script.as_bytes());
        Ok(w)
    }
}

/// A transaction sweeping inputs to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// The outputs spent.
    pub inputs: Vec<SweepInput>,
    /// Where the money goes.
    pub destination: ScriptBuf,
    /// The feerate to pay.
    pub feerate: FeeratePerKw,
    /// A lower bound for `nLockTime` (e.g. the current height, against fee sniping); raised to
    /// every HTLC timeout's expiry.
    pub min_locktime: u32,
}

impl Sweep {
    /// The unsigned transaction with a zero-value output (for weighing).
    fn skeleton(&self, value: Amount) -> Transaction {
        let locktime =
            self.inputs.iter().map(|i| i.path.min_locktime()).fold(self.min_locktime, u32::max);
        Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::from_consensus(locktime),
            input: self
                .inputs
                .iter()
                .map(|i| TxIn {
                    previous_output: i.outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: i.path.sequence(),
                    witness: Witness::new(),
                })
                .collect(),
            output: vec![TxOut { value, script_pubkey: self.destination.clone() }],
        }
    }

    /// The expected weight: the non-witness part, the segwit marker and flag, and every
    /// input's expected witness.
    pub fn expected_weight(&self) -> Weight {
        let base = self.skeleton(Amount::ZERO).base_size() as u64 * 4;
        let witness: u64 =
            self.inputs.iter().map(|i| i.expected_witness_size()).fold(2, u64::saturating_add);
        Weight::from_wu(base.saturating_add(witness))
    }

    /// The fee paid at [`Sweep::feerate`].
    pub fn fee(&self) -> Amount {
        self.feerate.fee_for_weight(self.expected_weight())
    }

    /// The unsigned sweep transaction.
    pub fn build(&self) -> Result<Transaction, Error> {
        if self.inputs.is_empty() {
            return Err(Error::NoInputs);
        }
        let total = self
            .inputs
            .iter()
            .try_fold(Amount::ZERO, |acc, i| acc.checked_add(i.value))
            .ok_or(Error::AmountOverflow)?;
        let value = total.checked_sub(self.fee()).ok_or(Error::FeeExceedsValue)?;
        if value < self.destination.minimal_non_dust() {
            return Err(Error::Dust);
        }
        Ok(self.skeleton(value))
    }
}

fn outpoint(txid: Txid, vout: u32) -> OutPoint {
    OutPoint { txid, vout }
}

impl CommitmentTx {
    fn value_at(&self, vout: u32) -> Result<Amount, Error> {
        self.tx.output.get(vout as usize).map(|o| o.value).ok_or(Error::OutputNotFound(vout))
    }

    /// Our `to_local` on our own commitment, spendable after `to_self_delay`.
    pub fn to_local_sweep_input(&self) -> Result<Option<SweepInput>, Error> {
        let Some(vout) = self.to_local_output else { return Ok(None) };
        Ok(Some(SweepInput {
            outpoint: outpoint(self.tx.compute_txid(), vout),
            value: self.value_at(vout)?,
            witness_script: self.spec.to_local_script(),
            path: SpendPath::Delayed {
                per_commitment_point: self.spec.keys.per_commitment_point,
                to_self_delay: self.spec.to_self_delay,
            },
        }))
    }

    /// Our `to_remote` on the counterparty's commitment (this one).
    pub fn to_remote_sweep_input(&self) -> Result<Option<SweepInput>, Error> {
        let Some(vout) = self.to_remote_output else { return Ok(None) };
        let channel_type = self.spec.channel_type;
        let witness_script = if channel_type.has_anchors() {
            to_remote_anchors_script(&self.spec.keys.remote_payment_pubkey)
        } else {
            ScriptBuf::new_p2wpkh(
                &CompressedPublicKey(self.spec.keys.remote_payment_pubkey).wpubkey_hash(),
            )
        };
        Ok(Some(SweepInput {
            outpoint: outpoint(self.tx.compute_txid(), vout),
            value: self.value_at(vout)?,
            witness_script,
            path: SpendPath::ToRemote { channel_type },
        }))
    }

    /// Claims HTLC `i` (output order) of the counterparty's commitment (this one): by
    /// preimage if the counterparty offered it, by timeout if we offered it.
    pub fn counterparty_htlc_claim_input(
        &self,
        i: usize,
        preimage: Option<PaymentPreimage>,
    ) -> Result<SweepInput, Error> {
        let out = self.htlc_outputs.get(i).ok_or(Error::OutputNotFound(i as u32))?;
        let per_commitment_point = self.spec.keys.per_commitment_point;
        let channel_type = self.spec.channel_type;
        let path = match out.htlc.direction {
            // Offered by the owner (the counterparty): we take it with the preimage.
            HtlcDirection::Offered => SpendPath::HtlcPreimage {
                per_commitment_point,
                preimage: preimage.ok_or(Error::MissingPreimage)?,
                channel_type,
            },
            // Received by the owner: we offered it, and take it back after expiry.
            HtlcDirection::Received => SpendPath::HtlcTimeout {
                per_commitment_point,
                cltv_expiry: out.htlc.cltv_expiry,
                channel_type,
            },
        };
        Ok(SweepInput {
            outpoint: outpoint(self.tx.compute_txid(), out.output_index),
            value: self.value_at(out.output_index)?,
            witness_script: out.witness_script.clone(),
            path,
        })
    }

    /// Our second-stage output (HTLC-success/-timeout `tx` of our own commitment), spendable
    /// after `to_self_delay`.
    pub fn second_stage_sweep_input(&self, htlc_tx: &Transaction) -> Result<SweepInput, Error> {
        let out = htlc_tx.output.first().ok_or(Error::OutputNotFound(0))?;
        Ok(SweepInput {
            outpoint: outpoint(htlc_tx.compute_txid(), 0),
            value: out.value,
            witness_script: self.spec.to_local_script(),
            path: SpendPath::Delayed {
                per_commitment_point: self.spec.keys.per_commitment_point,
                to_self_delay: self.spec.to_self_delay,
            },
        })
    }

    /// Every output of this revoked counterparty commitment we can take with the revocation
    /// key (`to_local` and all HTLC outputs), plus our own `to_remote`.
    pub fn justice_inputs(&self, secret: PerCommitmentSecret) -> Result<Vec<SweepInput>, Error> {
        let txid = self.tx.compute_txid();
        let mut inputs = Vec::with_capacity(self.htlc_outputs.len() + 2);
        if let Some(vout) = self.to_local_output {
            inputs.push(SweepInput {
                outpoint: outpoint(txid, vout),
                value: self.value_at(vout)?,
                witness_script: self.spec.to_local_script(),
                path: SpendPath::RevokedToLocal { per_commitment_secret: secret },
            });
        }
        for out in &self.htlc_outputs {
            inputs.push(SweepInput {
                outpoint: outpoint(txid, out.output_index),
                value: self.value_at(out.output_index)?,
                witness_script: out.witness_script.clone(),
                path: SpendPath::RevokedHtlc { per_commitment_secret: secret },
            });
        }
        inputs.extend(self.to_remote_sweep_input()?);
        Ok(inputs)
    }

    /// The output of a second-stage transaction the counterparty broadcast from this revoked
    /// commitment, taken with the revocation key.
    pub fn justice_second_stage_input(
        &self,
        htlc_tx: &Transaction,
        secret: PerCommitmentSecret,
    ) -> Result<SweepInput, Error> {
        let out = htlc_tx.output.first().ok_or(Error::OutputNotFound(0))?;
        Ok(SweepInput {
            outpoint: outpoint(htlc_tx.compute_txid(), 0),
            value: out.value,
            witness_script: self.spec.to_local_script(),
            path: SpendPath::RevokedToLocal { per_commitment_secret: secret },
        })
    }

    /// An anchor of this commitment: the owner's (`owners`) or the other side's, spent with
    /// that side's funding key (`with_key`) or by anyone after 16 blocks. For CPFP, put it
    /// in a [`Sweep`] with other inputs, or in a wallet-built transaction and sign it with
    /// [`Signer::sign_sweep_input`](crate::signer::Signer::sign_sweep_input).
    pub fn anchor_input(&self, owners: bool, with_key: bool) -> Result<Option<SweepInput>, Error> {
        let (vout, key) = if owners {
            (self.local_anchor_output, self.spec.local_funding_pubkey)
        } else {
            (self.remote_anchor_output, self.spec.remote_funding_pubkey)
        };
        let Some(vout) = vout else { return Ok(None) };
        let script = anchor_script(&key);
        Ok(Some(SweepInput {
            outpoint: outpoint(self.tx.compute_txid(), vout),
            value: self.value_at(vout)?,
            witness_script: script,
            path: if with_key { SpendPath::Anchor } else { SpendPath::AnchorAfter16 },
        }))
    }
}
