//! [`ChannelMonitor`]: from a channel's last funded state and the transaction that spent its
//! funding output, the signed transactions that take our money back.

use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::{CompressedPublicKey, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use shandian_channel::funded::Funded;
use shandian_channel::ChannelRecord;
use shandian_tx::keys::{per_commitment_point, CommitmentKeys, PerCommitmentSecret};
use shandian_tx::script::{
    offered_htlc_script, received_htlc_script, to_local_script, to_remote_anchors_script,
};
use shandian_tx::shachain::index_for_commitment;
use shandian_tx::{ChannelType, CommitmentTx, SpendPath, Sweep, SweepInput};
use shandian_types::{BlockHeight, ChannelId, FeeratePerKw};

use crate::classify::{commitment_number, Close};
use crate::Error;

/// Where claims pay and at what feerate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepPolicy {
    /// A wallet script.
    pub destination: ScriptBuf,
    /// The feerate of every claim.
    pub feerate: FeeratePerKw,
}

/// What a claim takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// Our `to_local`, after `to_self_delay`.
    DelayedToLocal,
    /// Our offered HTLC back, by the pre-signed HTLC-timeout transaction.
    HtlcTimeout,
    /// An HTLC paid to us, by the pre-signed HTLC-success transaction with its preimage.
    HtlcSuccess,
    /// The output of one of our HTLC transactions, after `to_self_delay`.
    SecondStage,
    /// Our `to_remote` on the counterparty's commitment.
    ToRemote,
    /// Our offered HTLC back from the counterparty's commitment, spent directly after its
    /// expiry (no second stage there).
    CounterpartyHtlcTimeout,
    /// An HTLC the counterparty offered us, taken from its commitment with the preimage.
    CounterpartyHtlcPreimage,
    /// A revoked commitment's `to_local`, with the revocation key.
    JusticeToLocal,
    /// A revoked commitment's HTLC output, with the revocation key.
    JusticeHtlc,
    /// The output of an HTLC transaction the counterparty spent a revoked commitment's HTLC
    /// output with, with the revocation key.
    JusticeSecondStage,
}

/// One signed transaction taking one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// What it takes.
    pub kind: ClaimKind,
    /// The signed transaction.
    pub tx: Transaction,
    /// The first block height that can include it (timelocks: CSV from the spent output's
    /// confirmation, CLTV from the HTLC's expiry).
    pub valid_at: BlockHeight,
    /// The output it spends.
    pub spends: OutPoint,
    /// That output (its value and script, e.g. to verify the claim).
    pub prevout: TxOut,
}

impl Claim {
    /// Whether it can be broadcast when the best block is `tip` (the next block can hold it).
    pub fn ready(&self, tip: BlockHeight) -> bool {
        tip.0.saturating_add(1) >= self.valid_at.0
    }

    /// The claim's transaction id.
    pub fn txid(&self) -> Txid {
        self.tx.compute_txid()
    }
}

/// What the funding spend means and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The kind of close.
    pub close: Close,
    /// The claims, each signed.
    pub claims: Vec<Claim>,
    /// Outputs of ours left on chain: worth less than their sweep's fee, or (anchor
    /// channels) HTLC transactions that need fee inputs this monitor does not add.
    pub unclaimed: Vec<OutPoint>,
}

/// Watches one channel's funding output on behalf of the node. Holds the channel's last
/// funded state (with its signer); cheap to rebuild from the stored record.
#[derive(Debug, Clone)]
pub struct ChannelMonitor {
    pub(crate) funded: Funded,
    pub(crate) secp: Secp256k1<All>,
}

impl ChannelMonitor {
    /// A monitor over the channel's last funded state.
    pub fn new(funded: Funded) -> ChannelMonitor {
        ChannelMonitor { funded, secp: Secp256k1::new() }
    }

    /// A monitor from a decoded record; [`Error::NotFunded`] if the channel never was.
    pub fn from_record(record: &ChannelRecord) -> Result<ChannelMonitor, Error> {
        record.channel.funded().cloned().map(ChannelMonitor::new).ok_or(Error::NotFunded)
    }

    /// The channel.
    pub fn channel_id(&self) -> ChannelId {
        self.funded.setup().channel_id
    }

    /// The funding output to watch.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.funded.setup().funding.outpoint
    }

    /// The delay on our own outputs (the counterparty's `to_self_delay`).
    pub fn to_self_delay(&self) -> u16 {
        self.funded.log().limits().counterparty.to_self_delay
    }

    pub(crate) fn channel_type(&self) -> ChannelType {
        if self.funded.setup().channel_type.anchors {
            ChannelType::AnchorsZeroFeeHtlcTx
        } else {
            ChannelType::StaticRemoteKey
        }
    }

    /// Our latest commitment, rebuilt (unsigned; same txid as the signed one).
    pub(crate) fn holder_commitment(&self) -> Result<CommitmentTx, Error> {
        let setup = self.funded.setup();
        let current = self.funded.log().holder_commitment();
        let point = setup.signer.commitment_point(current.number)?;
        Ok(setup.build(&self.secp, current, true, &point)?)
    }

    /// What kind of transaction `spender` is.
    pub fn classify(&self, spender: &Transaction) -> Result<Close, Error> {
        let funding = self.funding_outpoint();
        if !spender.input.iter().any(|i| i.previous_output == funding) {
            return Err(Error::NotAFundingSpend(spender.compute_txid()));
        }
        let Some(number) = commitment_number(spender, self.funded.setup().obscuring_factor) else {
            // Only a transaction both sides signed can spend the 2-of-2 output, and only
            // commitments carry the commitment-number encoding.
            return Ok(Close::Cooperative);
        };
        if spender.compute_txid() == self.holder_commitment()?.tx.compute_txid() {
            return Ok(Close::HolderLatest { commitment_number: number });
        }
        if self.revocation_secret(number).is_some() {
            return Ok(Close::RevokedCounterparty { commitment_number: number });
        }
        let log = self.funded.log();
        let theirs = [Some(log.counterparty_commitment()), log.counterparty_next()];
        if theirs.iter().flatten().any(|c| c.number == number) {
            return Ok(Close::Counterparty { commitment_number: number });
        }
        Ok(Close::Unrecognised { commitment_number: number })
    }

    /// The secret the counterparty revealed for its commitment `number`, if it did.
    fn revocation_secret(&self, number: u64) -> Option<PerCommitmentSecret> {
        let index = index_for_commitment(number).ok()?;
        self.funded.counterparty_secrets().get(index).ok()
    }

    /// Classifies `spender`, confirmed at `confirmed_at`, and builds every claim.
    pub fn resolve(
        &self,
        spender: &Transaction,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
    ) -> Result<Resolution, Error> {
        let close = self.classify(spender)?;
        let mut resolution = Resolution { close, claims: Vec::new(), unclaimed: Vec::new() };
        match close {
            Close::Cooperative => {}
            Close::HolderLatest { .. } => {
                self.holder_claims(spender, confirmed_at, policy, &mut resolution)?
            }
            // A state we do not know (after data loss, the counterparty's newer one): with
            // static_remotekey our to_remote is still ours, found by its script.
            Close::Unrecognised { .. } => {
                self.to_remote_claim(spender, confirmed_at, policy, &mut resolution)?
            }
            Close::Counterparty { commitment_number } => {
                self.to_remote_claim(spender, confirmed_at, policy, &mut resolution)?;
                self.counterparty_htlc_claims(
                    spender,
                    commitment_number,
                    confirmed_at,
                    policy,
                    &mut resolution,
                )?
            }
            Close::RevokedCounterparty { commitment_number } => self.justice_claims(
                spender,
                commitment_number,
                confirmed_at,
                policy,
                &mut resolution,
            )?,
        }
        Ok(resolution)
    }

    /// Our latest commitment confirmed: `to_local` after the delay, and the HTLC
    /// transactions (signed by both sides) for our HTLCs.
    fn holder_claims(
        &self,
        commitment: &Transaction,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
        out: &mut Resolution,
    ) -> Result<(), Error> {
        let built = self.holder_commitment()?;
        if let Some(input) = built.to_local_sweep_input()? {
            let valid_at = after(confirmed_at, u32::from(built.spec.to_self_delay));
            self.push_sweep(ClaimKind::DelayedToLocal, input, valid_at, confirmed_at, policy, out)?;
        }
        let (_, htlc_txs) = self.funded.holder_commitment_txs()?;
        for tx in htlc_txs {
            let Some(input) = tx.input.first() else { continue };
            let spends = input.previous_output;
            let Some(prevout) = usize::try_from(spends.vout)
                .ok()
                .and_then(|vout| commitment.output.get(vout))
                .cloned()
            else {
                continue;
            };
            if self.channel_type().has_anchors() {
                // Zero-fee HTLC transactions need a fee input from the wallet.
                out.unclaimed.push(spends);
                continue;
            }
            let locktime = tx.lock_time.to_consensus_u32();
            let (kind, valid_at) = if locktime > 0 {
                // BOLT 5: MUST spend an HTLC-timeout only once its nLockTime has passed.
                (
                    ClaimKind::HtlcTimeout,
                    BlockHeight(locktime.saturating_add(1)).max(after(confirmed_at, 1)),
                )
            } else {
                (ClaimKind::HtlcSuccess, after(confirmed_at, 1))
            };
            out.claims.push(Claim { kind, tx, valid_at, spends, prevout });
        }
        Ok(())
    }

    /// One of our HTLC transactions confirmed at `confirmed_at`: its output is ours after
    /// `to_self_delay`.
    pub fn claim_second_stage(
        &self,
        htlc_tx: &Transaction,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
    ) -> Result<Option<Claim>, Error> {
        let built = self.holder_commitment()?;
        let ours = built.tx.compute_txid();
        if htlc_tx.input.first().map(|i| i.previous_output.txid) != Some(ours) {
            return Err(Error::NotOurHtlcTx(htlc_tx.compute_txid()));
        }
        let input = built.second_stage_sweep_input(htlc_tx)?;
        let valid_at = after(confirmed_at, u32::from(built.spec.to_self_delay));
        let mut out =
            Resolution { close: Close::Cooperative, claims: Vec::new(), unclaimed: Vec::new() };
        self.push_sweep(ClaimKind::SecondStage, input, valid_at, confirmed_at, policy, &mut out)?;
        Ok(out.claims.pop())
    }

    /// Our `to_remote` on a counterparty commitment, found by its script.
    fn to_remote_claim(
        &self,
        commitment: &Transaction,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
        out: &mut Resolution,
    ) -> Result<(), Error> {
        let key = self.funded.setup().holder_pubkeys.payment_basepoint;
        let channel_type = self.channel_type();
        let (script_pubkey, witness_script) = if channel_type.has_anchors() {
            let script = to_remote_anchors_script(&key);
            (ScriptBuf::new_p2wsh(&script.wscript_hash()), script)
        } else {
            let script = ScriptBuf::new_p2wpkh(&CompressedPublicKey(key).wpubkey_hash());
            (script.clone(), script)
        };
        let txid = commitment.compute_txid();
        for (vout, output) in commitment.output.iter().enumerate() {
            if output.script_pubkey != script_pubkey {
                continue;
            }
            let input = SweepInput {
                outpoint: OutPoint { txid, vout: u32::try_from(vout).unwrap_or(u32::MAX) },
                value: output.value,
                witness_script: witness_script.clone(),
                path: SpendPath::ToRemote { channel_type },
            };
            // Anchors: CSV 1, i.e. the block after the commitment's.
            self.push_sweep(
                ClaimKind::ToRemote,
                input,
                after(confirmed_at, 1),
                confirmed_at,
                policy,
                out,
            )?;
        }
        Ok(())
    }

    /// A revoked counterparty commitment: every output we can recognise, with the
    /// revocation key, and our `to_remote`.
    fn justice_claims(
        &self,
        commitment: &Transaction,
        number: u64,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
        out: &mut Resolution,
    ) -> Result<(), Error> {
        let Some(secret) = self.revocation_secret(number) else { return Ok(()) };
        let (keys, to_local) = self.revoked_keys(&secret)?;
        let htlc_scripts = self.known_htlc_scripts(&keys);
        let txid = commitment.compute_txid();
        let valid_at = after(confirmed_at, 1);
        for (vout, output) in commitment.output.iter().enumerate() {
            let outpoint = OutPoint { txid, vout: u32::try_from(vout).unwrap_or(u32::MAX) };
            let (kind, witness_script, path) = if output.script_pubkey == p2wsh(&to_local) {
                let path = SpendPath::RevokedToLocal { per_commitment_secret: secret };
                (ClaimKind::JusticeToLocal, to_local.clone(), path)
            } else if let Some(script) =
                htlc_scripts.iter().find(|s| output.script_pubkey == p2wsh(s))
            {
                let path = SpendPath::RevokedHtlc { per_commitment_secret: secret };
                (ClaimKind::JusticeHtlc, script.clone(), path)
            } else {
                continue;
            };
            let input = SweepInput { outpoint, value: output.value, witness_script, path };
            self.push_sweep(kind, input, valid_at, confirmed_at, policy, out)?;
        }
        self.to_remote_claim(commitment, confirmed_at, policy, out)
    }

    /// The counterparty spent an HTLC output of its revoked `commitment` with `htlc_tx` (an
    /// HTLC-success or -timeout transaction we pre-signed), confirmed at `confirmed_at`: its
    /// output pays the revoked commitment's `to_local` script, which the revocation key
    /// opens at once. `None` if `htlc_tx` pays nothing we can take (or not enough to sweep).
    pub fn claim_revoked_second_stage(
        &self,
        commitment: &Transaction,
        htlc_tx: &Transaction,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
    ) -> Result<Option<Claim>, Error> {
        let Close::RevokedCounterparty { commitment_number } = self.classify(commitment)? else {
            return Ok(None);
        };
        let commitment_txid = commitment.compute_txid();
        if !htlc_tx.input.iter().any(|i| i.previous_output.txid == commitment_txid) {
            return Ok(None);
        }
        let Some(secret) = self.revocation_secret(commitment_number) else { return Ok(None) };
        let (_, to_local) = self.revoked_keys(&secret)?;
        let txid = htlc_tx.compute_txid();
        let mut out =
            Resolution { close: Close::Cooperative, claims: Vec::new(), unclaimed: Vec::new() };
        for (vout, output) in htlc_tx.output.iter().enumerate() {
            if output.script_pubkey != p2wsh(&to_local) {
                continue;
            }
            let input = SweepInput {
                outpoint: OutPoint { txid, vout: u32::try_from(vout).unwrap_or(u32::MAX) },
                value: output.value,
                witness_script: to_local.clone(),
                path: SpendPath::RevokedToLocal { per_commitment_secret: secret },
            };
            let valid_at = after(confirmed_at, 1);
            self.push_sweep(
                ClaimKind::JusticeSecondStage,
                input,
                valid_at,
                confirmed_at,
                policy,
                &mut out,
            )?;
        }
        Ok(out.claims.pop())
    }

    /// The keys of the counterparty's commitment revoked by `secret`, and its `to_local`
    /// script (also the output script of its HTLC transactions).
    fn revoked_keys(
        &self,
        secret: &PerCommitmentSecret,
    ) -> Result<(CommitmentKeys, ScriptBuf), Error> {
        let point = per_commitment_point(&self.secp, secret)?;
        let setup = self.funded.setup();
        let keys = CommitmentKeys::derive(
            &self.secp,
            &point,
            &setup.counterparty_pubkeys,
            &setup.holder_pubkeys,
        )?;
        // The delay we imposed on the counterparty's outputs.
        let their_delay = self.funded.log().limits().holder.to_self_delay;
        let to_local =
            to_local_script(&keys.revocation_pubkey, their_delay, &keys.local_delayed_pubkey);
        Ok((keys, to_local))
    }

    /// The scripts every HTLC we still know of would have on a counterparty commitment with
    /// `keys`: the HTLCs of the current commitments (a revoked state shares those still in
    /// flight; older ones are not kept).
    fn known_htlc_scripts(&self, keys: &CommitmentKeys) -> Vec<ScriptBuf> {
        let log = self.funded.log();
        let channel_type = self.channel_type();
        let specs = [
            Some(log.holder_commitment()),
            Some(log.counterparty_commitment()),
            log.counterparty_next(),
        ];
        let mut scripts = Vec::new();
        for spec in specs.iter().flatten().map(|c| &c.spec) {
            // Ours (offered by us) are received by the counterparty, the owner.
            for h in spec.offered.values() {
                scripts.push(received_htlc_script(
                    keys,
                    &h.payment_hash,
                    h.cltv_expiry,
                    channel_type,
                ));
            }
            for h in spec.received.values() {
                scripts.push(offered_htlc_script(keys, &h.payment_hash, channel_type));
            }
        }
        scripts.sort();
        scripts.dedup();
        scripts
    }

    /// Builds and signs a one-input sweep; an output not worth its fee goes to `unclaimed`.
    pub(crate) fn push_sweep(
        &self,
        kind: ClaimKind,
        input: SweepInput,
        valid_at: BlockHeight,
        confirmed_at: BlockHeight,
        policy: &SweepPolicy,
        out: &mut Resolution,
    ) -> Result<(), Error> {
        let spends = input.outpoint;
        let prevout = TxOut { value: input.value, script_pubkey: prevout_script(&input) };
        let sweep = Sweep {
            inputs: vec![input],
            destination: policy.destination.clone(),
            feerate: policy.feerate,
            // Against fee sniping, and never below the height the claim is valid at anyway.
            min_locktime: confirmed_at.0,
        };
        let mut tx = match sweep.build() {
            Ok(tx) => tx,
            Err(shandian_tx::Error::Dust | shandian_tx::Error::FeeExceedsValue) => {
                out.unclaimed.push(spends);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        self.funded.setup().signer.signer().sign_sweep(&mut tx, &sweep.inputs)?;
        out.claims.push(Claim { kind, tx, valid_at, spends, prevout });
        Ok(())
    }
}

fn p2wsh(script: &ScriptBuf) -> ScriptBuf {
    ScriptBuf::new_p2wsh(&script.wscript_hash())
}

/// The script pubkey of the output a sweep input spends.
fn prevout_script(input: &SweepInput) -> ScriptBuf {
    if input.is_p2wpkh() {
        input.witness_script.clone()
    } else {
        p2wsh(&input.witness_script)
    }
}

/// `blocks` after `height`, saturating.
pub(crate) fn after(height: BlockHeight, blocks: u32) -> BlockHeight {
    BlockHeight(height.0.saturating_add(blocks))
}
