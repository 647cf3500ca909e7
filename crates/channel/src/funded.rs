//! The core every funded phase shares: the update log, both commitments with their keys and
//! signatures, the counterparty's revealed secrets, and the commitment dance
//! (`commitment_signed` / `revoke_and_ack`).

use crate::action::{Action, Event};
use crate::commitment::{ChannelSetup, CommitmentSignatures};
use crate::error::Error;
use crate::spec::Update;
use crate::update_log::UpdateLog;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::Transaction;
use shandian_tx::keys::per_commitment_point;
use shandian_tx::shachain::{index_for_commitment, ShachainStore};
use shandian_types::{PaymentHash, PaymentPreimage, ShortChannelId};
use shandian_wire::{CommitmentSigned, Message, RevokeAndAck};
use std::collections::{BTreeMap, BTreeSet};

/// Which of `commitment_signed` and `revoke_and_ack` we sent last: BOLT 2 requires
/// retransmitting both in their original order after a reconnection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastSent {
    /// Our latest `commitment_signed` went out after our latest `revoke_and_ack`.
    CommitmentSigned,
    /// Our latest `revoke_and_ack` went out after our latest `commitment_signed`.
    RevokeAndAck,
}

/// The state shared by every phase after the funding transaction is signed.
#[derive(Debug, Clone)]
pub struct Funded {
    pub(crate) secp: Secp256k1<All>,
    pub(crate) setup: ChannelSetup,
    pub(crate) log: UpdateLog,
    /// Secrets the counterparty revealed for its revoked commitments (BOLT 3 shachain).
    pub(crate) counterparty_secrets: ShachainStore,
    /// The counterparty's per-commitment points for its current commitment and the next one.
    pub(crate) counterparty_points: (PublicKey, PublicKey),
    /// The counterparty's signatures on our current commitment.
    pub(crate) holder_signatures: CommitmentSignatures,
    pub(crate) last_sent: LastSent,
    pub(crate) short_channel_id: Option<ShortChannelId>,
    /// Preimages of incoming HTLCs we fulfilled, to claim them on chain if needed.
    pub(crate) preimages: BTreeMap<PaymentHash, PaymentPreimage>,
    pub(crate) connected: bool,
    /// The caller signs with [`crate::Command::Commit`] after each batch of inputs (see
    /// [`crate::Channel::sign_when_told`]); not stored: a restored channel signs by itself
    /// until told again.
    pub(crate) sign_when_told: bool,
}

impl Funded {
    /// The update log.
    pub fn log(&self) -> &UpdateLog {
        &self.log
    }

    /// The fixed channel parameters.
    pub fn setup(&self) -> &ChannelSetup {
        &self.setup
    }

    /// The counterparty's revealed secrets.
    pub fn counterparty_secrets(&self) -> &ShachainStore {
        &self.counterparty_secrets
    }

    /// The counterparty's per-commitment points: of its current commitment and of the next
    /// one (the one we sign next, or signed and it has not revoked the current yet).
    pub fn counterparty_points(&self) -> (PublicKey, PublicKey) {
        self.counterparty_points
    }

    /// The preimage of an incoming HTLC we fulfilled, while a commitment still holds it.
    pub fn preimage(&self, hash: &PaymentHash) -> Option<PaymentPreimage> {
        self.preimages.get(hash).copied()
    }

    /// Records `preimage` for the received HTLCs locked to its hash in a commitment that
    /// may still confirm (ours, the counterparty's current or next), whether or not the
    /// fulfil can be sent: the fulfillment deadline then covers them (BOLT 2) and a
    /// unilateral close claims them with it (BOLT 5). Returns whether such an HTLC exists; a
    /// preimage no commitment needs is not kept (the pruning would drop it anyway).
    pub fn learn_preimage(&mut self, preimage: PaymentPreimage) -> bool {
        let hash = preimage.hash();
        let log = &self.log;
        let held = [
            Some(log.holder_commitment()),
            Some(log.counterparty_commitment()),
            log.counterparty_next(),
        ]
        .into_iter()
        .flatten()
        .any(|c| c.spec.received.values().any(|h| h.payment_hash == hash));
        if held {
            self.preimages.insert(hash, preimage);
        }
        held
    }

    fn holder_point(&self, number: u64) -> Result<PublicKey, Error> {
        self.setup.signer.commitment_point(number)
    }

    /// Forgets the preimages of HTLCs that no current commitment holds any more: nothing can
    /// claim them on chain, and keeping them made every record (and every snapshot of the
    /// channel) grow with every payment ever received.
    fn forget_settled_preimages(&mut self) {
        if self.preimages.is_empty() {
            return;
        }
        let log = &self.log;
        let commitments = [
            Some(log.holder_commitment()),
            Some(log.counterparty_commitment()),
            log.counterparty_next(),
        ];
        let live: BTreeSet<PaymentHash> = commitments
            .iter()
            .flatten()
            .flat_map(|c| c.spec.received.values().map(|h| h.payment_hash))
            .collect();
        self.preimages.retain(|hash, _| live.contains(hash));
    }

    /// Sends `commitment_signed` if there is something to sign and no signature outstanding.
    pub(crate) fn sign_if_needed(&mut self, out: &mut Vec<Action>) -> Result<(), Error> {
        if !self.connected || !self.log.can_sign() {
            return Ok(());
        }
        let next = self.log.next_counterparty_commitment()?;
        let sigs = self.setup.sign_counterparty(&self.secp, &next, &self.counterparty_points.1)?;
        self.log.signed_counterparty_commitment(next);
        self.last_sent = LastSent::CommitmentSigned;
        out.push(Action::Send(Message::from(self.commitment_signed_message(&sigs))));
        Ok(())
    }

    pub(crate) fn commitment_signed_message(
        &self,
        sigs: &CommitmentSignatures,
    ) -> CommitmentSigned {
        CommitmentSigned {
            channel_id: self.setup.channel_id,
            signature: sigs.commitment,
            htlc_signatures: sigs.htlcs.clone(),
            funding_txid: None,
        }
    }

    /// Re-signs the outstanding counterparty commitment (deterministic signatures make this
    /// byte-identical to what we sent before), for retransmission.
    pub(crate) fn resign_outstanding(&self) -> Result<Option<CommitmentSigned>, Error> {
        let Some(next) = self.log.counterparty_next() else {
            return Ok(None);
        };
        let sigs = self.setup.sign_counterparty(&self.secp, next, &self.counterparty_points.1)?;
        Ok(Some(self.commitment_signed_message(&sigs)))
    }

    /// Our `revoke_and_ack` revoking commitment `revoked`.
    /// The signer releases the secret only here: the commitment is being revoked (or was,
    /// for a retransmission).
    pub(crate) fn revocation_message(&mut self, revoked: u64) -> Result<RevokeAndAck, Error> {
        let secret = self.setup.signer.revoke(revoked)?;
        let next = revoked.checked_add(2).ok_or(Error::Transaction)?;
        Ok(RevokeAndAck {
            channel_id: self.setup.channel_id,
            per_commitment_secret: secret,
            next_per_commitment_point: self.holder_point(next)?,
        })
    }

    /// BOLT 2 `commitment_signed`: verify the signatures on our next commitment, revoke the
    /// previous one, and sign back if we have changes of our own.
    pub(crate) fn on_commitment_signed(
        &mut self,
        msg: &CommitmentSigned,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        let next = self.log.next_holder_commitment()?;
        let point = self.holder_point(next.number)?;
        let sigs =
            CommitmentSignatures { commitment: msg.signature, htlcs: msg.htlc_signatures.clone() };
        self.setup.verify_holder(&self.secp, &next, &point, &sigs)?;
        let revoked = self.log.holder_commitment().number;
        self.log.accepted_holder_commitment(next);
        self.holder_signatures = sigs;
        self.forget_settled_preimages();
        out.push(Action::Send(Message::from(self.revocation_message(revoked)?)));
        self.last_sent = LastSent::RevokeAndAck;
        self.sign_at_once(out)
    }

    /// BOLT 2 `revoke_and_ack`: check the secret against the point of the commitment it
    /// revokes, store it, and report what became irrevocable.
    pub(crate) fn on_revoke_and_ack(
        &mut self,
        msg: &RevokeAndAck,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        if self.log.counterparty_next().is_none() {
            return Err(Error::UnexpectedRevocation);
        }
        // BOLT 2: MUST fail the channel if per_commitment_secret does not generate the
        // previous per_commitment_point.
        let point = per_commitment_point(&self.secp, &msg.per_commitment_secret)
            .map_err(|_| Error::InvalidRevocationSecret)?;
        if point != self.counterparty_points.0 {
            return Err(Error::InvalidRevocationSecret);
        }
        let revoked = self.log.counterparty_commitment().number;
        let index = index_for_commitment(revoked).map_err(|_| Error::ShachainMismatch)?;
        let mut secrets = self.counterparty_secrets.clone();
        secrets.insert(index, msg.per_commitment_secret).map_err(|_| Error::ShachainMismatch)?;
        self.counterparty_secrets = secrets;
        let locked = self.log.received_revocation()?;
        self.forget_settled_preimages();
        self.counterparty_points = (self.counterparty_points.1, msg.next_per_commitment_point);
        for (htlc, must_fail) in locked.incoming {
            out.push(Action::Event(Event::HtlcIncoming { htlc: Box::new(htlc), must_fail }));
        }
        for update in locked.removals {
            if let Update::Fail(_) | Update::FailMalformed(_) = update {
                out.push(Action::Event(Event::HtlcFailed { update: Box::new(update) }));
            }
        }
        self.sign_at_once(out)
    }

    /// After a received `commitment_signed` or `revoke_and_ack`: sign what is pending now,
    /// unless the caller commits after its batch (then updates that arrive later in the
    /// batch share the signature).
    fn sign_at_once(&mut self, out: &mut Vec<Action>) -> Result<(), Error> {
        if self.sign_when_told {
            return Ok(());
        }
        self.sign_if_needed(out)
    }

    /// Our latest commitment, fully signed, and its signed HTLC transactions: what a
    /// unilateral close broadcasts.
    pub fn holder_commitment_txs(&self) -> Result<(Transaction, Vec<Transaction>), Error> {
        let current = self.log.holder_commitment();
        let point = self.holder_point(current.number)?;
        let preimages = &self.preimages;
        self.setup.signed_holder_txs(&self.secp, current, &point, &self.holder_signatures, |hash| {
            preimages.get(hash).copied()
        })
    }
}
