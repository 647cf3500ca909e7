//! The [`Signer`]: a channel's private keys behind an interface, and [`InMemorySigner`],
//! which derives them from a node seed with hardened BIP 32 paths. Also the checks of the
//! counterparty's signatures on our commitment and HTLC transactions.

use crate::commitment::CommitmentTx;
use crate::error::Error;
use crate::htlc_tx::counterparty_htlc_sighash;
use crate::keys::{
    derive_privkey, derive_pubkey, derive_revocation_privkey, derive_revocation_pubkey,
    per_commitment_point, ChannelPublicKeys, PerCommitmentSecret,
};
use crate::onchain::{SpendPath, SweepInput};
use crate::shachain::{generate_from_seed, index_for_commitment};
use crate::sighash::{p2wsh_message, sign_p2wsh, verify_p2wsh};
use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::secp256k1::{ecdsa::Signature, All, Message, PublicKey, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, NetworkKind, Script, Transaction};

/// Our signatures for the counterparty's commitment, as `commitment_signed` carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentSignatures {
    /// The signature of the commitment transaction.
    pub commitment: Signature,
    /// One signature per untrimmed HTLC, in output order.
    pub htlcs: Vec<Signature>,
}

/// Holds one channel's private keys and signs what the channel and on-chain code need.
pub trait Signer {
    /// Our funding pubkey and basepoints.
    fn pubkeys(&self) -> &ChannelPublicKeys;

    /// Our per-commitment point for holder commitment `commitment_number`.
    fn per_commitment_point(&self, commitment_number: u64) -> Result<PublicKey, Error>;

    /// Revokes holder commitment `commitment_number` and returns its secret (for
    /// `revoke_and_ack`). Commitments are revoked strictly in order; asking again for an
    /// already revoked one returns the same secret (for `channel_reestablish`).
    fn release_per_commitment_secret(
        &mut self,
        commitment_number: u64,
    ) -> Result<PerCommitmentSecret, Error>;

    /// How many holder commitments are revoked: all numbers below this one.
    fn revoked_count(&self) -> u64;

    /// Signs the counterparty's commitment and its HTLC transactions.
    fn sign_counterparty_commitment(
        &self,
        commitment: &CommitmentTx,
    ) -> Result<CommitmentSignatures, Error>;

    /// Signs our commitment for broadcast, given the counterparty's signature; refuses a
    /// commitment that was already revoked.
    fn sign_holder_commitment(
        &self,
        commitment: &CommitmentTx,
        counterparty_sig: &Signature,
    ) -> Result<Transaction, Error>;

    /// Our (`SIGHASH_ALL`) signature on input `input_index` of `tx`, which spends HTLC `i`
    /// (output order) of our commitment: an HTLC-success/-timeout transaction, possibly
    /// with fee inputs and outputs added (anchors).
    fn sign_holder_htlc_input(
        &self,
        commitment: &CommitmentTx,
        i: usize,
        tx: &Transaction,
        input_index: usize,
    ) -> Result<Signature, Error>;

    /// Our signature on a closing transaction spending the funding output.
    fn sign_closing(
        &self,
        tx: &Transaction,
        funding_script: &Script,
        funding_amount: Amount,
    ) -> Result<Signature, Error>;

    /// Our signature on input `input_index` of `tx`, which spends `input`, with the key
    /// its [`SpendPath`] needs; also returns that key's public key (for the witness).
    fn sign_sweep_input(
        &self,
        tx: &Transaction,
        input_index: usize,
        input: &SweepInput,
    ) -> Result<(Signature, PublicKey), Error>;

    /// Signs every input of a sweep (`inputs[i]` spent by `tx.input[i]`) and fills in the
    /// witnesses.
    fn sign_sweep(&self, tx: &mut Transaction, inputs: &[SweepInput]) -> Result<(), Error> {
        for (index, input) in inputs.iter().enumerate() {
            let witness = if input.path == SpendPath::AnchorAfter16 {
                input.witness(None, &self.pubkeys().funding_pubkey)?
            } else {
                let (sig, pubkey) = self.sign_sweep_input(tx, index, input)?;
                input.witness(Some(&sig), &pubkey)?
            };
            tx.input.get_mut(index).ok_or(Error::InputNotFound(index))?.witness = witness;
        }
        Ok(())
    }
}

/// The private keys of one channel.
#[derive(Clone)]
struct ChannelSecrets {
    funding: SecretKey,
    revocation_base: SecretKey,
    payment_base: SecretKey,
    delayed_payment_base: SecretKey,
    htlc_base: SecretKey,
    commitment_seed: [u8; 32],
}

/// A [`Signer`] holding the keys in memory.
#[derive(Clone)]
pub struct InMemorySigner {
    secp: Secp256k1<All>,
    secrets: ChannelSecrets,
    pubkeys: ChannelPublicKeys,
    revoked: u64,
}

impl core::fmt::Debug for InMemorySigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InMemorySigner")
            .field("pubkeys", &self.pubkeys)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

/// The BIP 32 purpose of channel keys: `m/1017'/0'/<channel>'/<key>'`.
const KEY_FAMILY: u32 = 1017;

impl InMemorySigner {
    /// Derives the keys of channel number `channel_index` from the node seed along
    /// hardened paths `m/1017'/0'/<channel_index>'/<k>'`, k = 0 funding, 1 revocation,
    /// 2 payment, 3 delayed payment, 4 HTLC, 5 commitment seed.
    pub fn from_node_seed(seed: &[u8; 32], channel_index: u32) -> Result<InMemorySigner, Error> {
        let secp = Secp256k1::new();
        let master = Xpriv::new_master(NetworkKind::Main, seed).map_err(|_| Error::Bip32)?;
        let hardened = |i: u32| ChildNumber::from_hardened_idx(i).map_err(|_| Error::Bip32);
        let base = [hardened(KEY_FAMILY)?, hardened(0)?, hardened(channel_index)?];
        let channel = master.derive_priv(&secp, &base).map_err(|_| Error::Bip32)?;
        let key = |k: u32| -> Result<SecretKey, Error> {
            let child = channel.derive_priv(&secp, &[hardened(k)?]).map_err(|_| Error::Bip32)?;
            Ok(child.private_key)
        };
        let secrets = ChannelSecrets {
            funding: key(0)?,
            revocation_base: key(1)?,
            payment_base: key(2)?,
            delayed_payment_base: key(3)?,
            htlc_base: key(4)?,
            commitment_seed: key(5)?.secret_bytes(),
        };
        Ok(InMemorySigner::from_secrets(secp, secrets))
    }

    /// A signer over explicit keys (tests, imports).
    pub fn new(
        funding: SecretKey,
        revocation_base: SecretKey,
        payment_base: SecretKey,
        delayed_payment_base: SecretKey,
        htlc_base: SecretKey,
        commitment_seed: [u8; 32],
    ) -> InMemorySigner {
        let secrets = ChannelSecrets {
            funding,
            revocation_base,
            payment_base,
            delayed_payment_base,
            htlc_base,
            commitment_seed,
        };
        InMemorySigner::from_secrets(Secp256k1::new(), secrets)
    }

    fn from_secrets(secp: Secp256k1<All>, secrets: ChannelSecrets) -> InMemorySigner {
        let pk = |k: &SecretKey| PublicKey::from_secret_key(&secp, k);
        let pubkeys = ChannelPublicKeys {
            funding_pubkey: pk(&secrets.funding),
            revocation_basepoint: pk(&secrets.revocation_base),
            payment_basepoint: pk(&secrets.payment_base),
            delayed_payment_basepoint: pk(&secrets.delayed_payment_base),
            htlc_basepoint: pk(&secrets.htlc_base),
        };
        InMemorySigner { secp, secrets, pubkeys, revoked: 0 }
    }

    /// Restores the revocation state persisted from [`Signer::revoked_count`].
    pub fn with_revoked_count(mut self, revoked: u64) -> InMemorySigner {
        self.revoked = revoked;
        self
    }

    fn secret(&self, commitment_number: u64) -> Result<PerCommitmentSecret, Error> {
        generate_from_seed(&self.secrets.commitment_seed, index_for_commitment(commitment_number)?)
    }

    /// The private key a sweep path needs.
    fn sweep_key(&self, path: &SpendPath) -> Result<SecretKey, Error> {
        let s = &self.secrets;
        match path {
            SpendPath::Delayed { per_commitment_point, .. } => {
                derive_privkey(&self.secp, &s.delayed_payment_base, per_commitment_point)
            }
            SpendPath::RevokedToLocal { per_commitment_secret }
            | SpendPath::RevokedHtlc { per_commitment_secret } => {
                derive_revocation_privkey(&self.secp, &s.revocation_base, per_commitment_secret)
            }
            SpendPath::ToRemote { .. } => Ok(s.payment_base),
            SpendPath::HtlcPreimage { per_commitment_point, .. }
            | SpendPath::HtlcTimeout { per_commitment_point, .. } => {
                derive_privkey(&self.secp, &s.htlc_base, per_commitment_point)
            }
            SpendPath::Anchor | SpendPath::AnchorAfter16 => Ok(s.funding),
        }
    }
}

impl Signer for InMemorySigner {
    fn pubkeys(&self) -> &ChannelPublicKeys {
        &self.pubkeys
    }

    fn per_commitment_point(&self, commitment_number: u64) -> Result<PublicKey, Error> {
        per_commitment_point(&self.secp, &self.secret(commitment_number)?)
    }

    fn release_per_commitment_secret(
        &mut self,
        commitment_number: u64,
    ) -> Result<PerCommitmentSecret, Error> {
        if commitment_number > self.revoked {
            return Err(Error::RevocationOutOfOrder {
                expected: self.revoked,
                got: commitment_number,
            });
        }
        let secret = self.secret(commitment_number)?;
        if commitment_number == self.revoked {
            self.revoked = self.revoked.saturating_add(1);
        }
        Ok(secret)
    }

    fn revoked_count(&self) -> u64 {
        self.revoked
    }

    fn sign_counterparty_commitment(
        &self,
        commitment: &CommitmentTx,
    ) -> Result<CommitmentSignatures, Error> {
        let spec = &commitment.spec;
        // Never sign away our balance or our ability to punish: the commitment must pay
        // our `to_remote` to our payment basepoint and be revocable with our basepoint.
        let revocation = derive_revocation_pubkey(
            &self.secp,
            &self.pubkeys.revocation_basepoint,
            &spec.keys.per_commitment_point,
        )?;
        if spec.remote_funding_pubkey != self.pubkeys.funding_pubkey
            || spec.keys.remote_payment_pubkey != self.pubkeys.payment_basepoint
            || spec.keys.revocation_pubkey != revocation
        {
            return Err(Error::KeyMismatch);
        }
        let sig = sign_p2wsh(
            &self.secp,
            &commitment.tx,
            0,
            &spec.funding_script(),
            spec.funding_amount,
            EcdsaSighashType::All,
            &self.secrets.funding,
        )?;
        // We are the "remote" of the counterparty's HTLC scripts.
        let htlc_key =
            derive_privkey(&self.secp, &self.secrets.htlc_base, &spec.keys.per_commitment_point)?;
        if PublicKey::from_secret_key(&self.secp, &htlc_key) != spec.keys.remote_htlc_pubkey {
            return Err(Error::KeyMismatch);
        }
        let flag = counterparty_htlc_sighash(spec.channel_type);
        let htlcs = commitment
            .htlc_txs()?
            .iter()
            .zip(&commitment.htlc_outputs)
            .map(|(tx, out)| {
                let value = out.htlc.amount.to_sat_floor();
                sign_p2wsh(&self.secp, tx, 0, &out.witness_script, value, flag, &htlc_key)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CommitmentSignatures { commitment: sig, htlcs })
    }

    fn sign_holder_commitment(
        &self,
        commitment: &CommitmentTx,
        counterparty_sig: &Signature,
    ) -> Result<Transaction, Error> {
        let spec = &commitment.spec;
        // Broadcasting a revoked commitment would hand the counterparty every output.
        if spec.commitment_number < self.revoked {
            return Err(Error::CommitmentRevoked(spec.commitment_number));
        }
        // Our own outputs must be ours: the delayed key of our point for this number.
        let point = self.per_commitment_point(spec.commitment_number)?;
        let delayed = derive_pubkey(&self.secp, &self.pubkeys.delayed_payment_basepoint, &point)?;
        if spec.local_funding_pubkey != self.pubkeys.funding_pubkey
            || spec.keys.per_commitment_point != point
            || spec.keys.local_delayed_pubkey != delayed
        {
            return Err(Error::KeyMismatch);
        }
        verify_commitment_signature(&self.secp, commitment, counterparty_sig)?;
        let script = spec.funding_script();
        let sig = sign_p2wsh(
            &self.secp,
            &commitment.tx,
            0,
            &script,
            spec.funding_amount,
            EcdsaSighashType::All,
            &self.secrets.funding,
        )?;
        let funding = crate::funding::Funding {
            outpoint: spec.funding_outpoint,
            amount: spec.funding_amount,
            local_pubkey: spec.local_funding_pubkey,
            remote_pubkey: spec.remote_funding_pubkey,
        };
        let mut tx = commitment.tx.clone();
        if let Some(input) = tx.input.first_mut() {
            input.witness = funding.witness(&sig, counterparty_sig);
        }
        Ok(tx)
    }

    fn sign_holder_htlc_input(
        &self,
        commitment: &CommitmentTx,
        i: usize,
        tx: &Transaction,
        input_index: usize,
    ) -> Result<Signature, Error> {
        let spec = &commitment.spec;
        if spec.commitment_number < self.revoked {
            return Err(Error::CommitmentRevoked(spec.commitment_number));
        }
        let out = commitment.htlc_outputs.get(i).ok_or(Error::OutputNotFound(i as u32))?;
        let key =
            derive_privkey(&self.secp, &self.secrets.htlc_base, &spec.keys.per_commitment_point)?;
        if PublicKey::from_secret_key(&self.secp, &key) != spec.keys.local_htlc_pubkey {
            return Err(Error::KeyMismatch);
        }
        let value = out.htlc.amount.to_sat_floor();
        sign_p2wsh(
            &self.secp,
            tx,
            input_index,
            &out.witness_script,
            value,
            EcdsaSighashType::All,
            &key,
        )
    }

    fn sign_closing(
        &self,
        tx: &Transaction,
        funding_script: &Script,
        funding_amount: Amount,
    ) -> Result<Signature, Error> {
        sign_p2wsh(
            &self.secp,
            tx,
            0,
            funding_script,
            funding_amount,
            EcdsaSighashType::All,
            &self.secrets.funding,
        )
    }

    fn sign_sweep_input(
        &self,
        tx: &Transaction,
        input_index: usize,
        input: &SweepInput,
    ) -> Result<(Signature, PublicKey), Error> {
        let key = self.sweep_key(&input.path)?;
        let msg = if input.is_p2wpkh() {
            if input_index >= tx.input.len() {
                return Err(Error::InputNotFound(input_index));
            }
            let hash = SighashCache::new(tx)
                .p2wpkh_signature_hash(
                    input_index,
                    &input.witness_script,
                    input.value,
                    input.sighash_type(),
                )
                .map_err(|_| Error::Sighash)?;
            Message::from(hash)
        } else {
            p2wsh_message(
                tx,
                input_index,
                &input.witness_script,
                input.value,
                input.sighash_type(),
            )?
        };
        Ok((self.secp.sign_ecdsa(&msg, &key), PublicKey::from_secret_key(&self.secp, &key)))
    }
}

/// Checks the counterparty's signature on our commitment (`commitment_signed`).
pub fn verify_commitment_signature(
    secp: &Secp256k1<All>,
    commitment: &CommitmentTx,
    sig: &Signature,
) -> Result<(), Error> {
    let spec = &commitment.spec;
    let ok = verify_p2wsh(
        secp,
        &commitment.tx,
        0,
        &spec.funding_script(),
        spec.funding_amount,
        EcdsaSighashType::All,
        sig,
        &spec.remote_funding_pubkey,
    )?;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSignature(None))
    }
}

/// Checks the counterparty's `htlc_signatures` on our commitment's HTLC transactions
/// (`SIGHASH_SINGLE|SIGHASH_ANYONECANPAY` with anchors).
pub fn verify_htlc_signatures(
    secp: &Secp256k1<All>,
    commitment: &CommitmentTx,
    sigs: &[Signature],
) -> Result<(), Error> {
    if sigs.len() != commitment.htlc_outputs.len() {
        return Err(Error::HtlcSignatureCount {
            expected: commitment.htlc_outputs.len(),
            got: sigs.len(),
        });
    }
    let spec = &commitment.spec;
    let flag = counterparty_htlc_sighash(spec.channel_type);
    for (i, ((tx, out), sig)) in
        commitment.htlc_txs()?.iter().zip(&commitment.htlc_outputs).zip(sigs).enumerate()
    {
        let value = out.htlc.amount.to_sat_floor();
        let pubkey = &spec.keys.remote_htlc_pubkey;
        if !verify_p2wsh(secp, tx, 0, &out.witness_script, value, flag, sig, pubkey)? {
            return Err(Error::InvalidSignature(Some(i)));
        }
    }
    Ok(())
}
