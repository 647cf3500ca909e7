//! The update log: every change either side proposed, and where it stands in the lifecycle
//! across both commitments.
//!
//! Each side's changes move through three stages, mirrored for the two directions:
//!
//! | our change | meaning |
//! |---|---|
//! | `holder.proposed` | sent, not yet covered by a `commitment_signed` of ours |
//! | `holder.signed` | in the counterparty's commitment we signed, awaiting its `revoke_and_ack` |
//! | `holder.acked` | the counterparty revoked the commitment without it; waiting to appear in a commitment the counterparty signs for us |
//!
//! | their change | meaning |
//! |---|---|
//! | `counterparty.proposed` | received, not yet covered by their `commitment_signed` |
//! | `counterparty.acked` | in our commitment (we revoked the previous one); must go into the next commitment we sign for them |
//! | `counterparty.signed` | in the counterparty commitment we signed; irrevocably committed once they revoke |
//!
//! Our next commitment is `holder commitment + holder.acked + counterparty.proposed`; the
//! counterparty's next one is `counterparty commitment + holder.proposed + counterparty.acked`.
//! This is what lets both sides update at the same time with several updates per commitment:
//! each side folds in exactly the changes the other has seen.

use crate::error::Error;
use crate::limits::{ChannelLimits, Side, BADONION};
use crate::spec::{CommitmentSpec, Htlc, Update};
use shandian_types::Msat;
use std::collections::BTreeSet;
use std::sync::Arc;

/// One direction's changes in their three stages (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Not yet in a commitment signature.
    pub proposed: Vec<Update>,
    /// Signed into the counterparty's commitment, awaiting revocation.
    pub signed: Vec<Update>,
    /// Acknowledged by the other side.
    pub acked: Vec<Update>,
}

/// A commitment as the log tracks it: its number and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    /// The commitment number, starting at 0.
    pub number: u64,
    /// What it contains.
    pub spec: CommitmentSpec,
}

/// What became irrevocable when the counterparty revoked its previous commitment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockedIn {
    /// Their HTLCs now committed on both sides: forward or settle them. The flag is true
    /// when the HTLC pushed dust exposure over our limit and must be failed instead.
    pub incoming: Vec<(Htlc, bool)>,
    /// Their removals of our HTLCs now committed on both sides: report them upstream.
    pub removals: Vec<Update>,
}

/// The update log of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateLog {
    pub(crate) limits: ChannelLimits,
    pub(crate) holder: Changes,
    pub(crate) counterparty: Changes,
    // Commitments are replaced whole, never edited: shared, so cloning the channel (each
    // persisted record is a snapshot) does not copy every HTLC and its onion.
    pub(crate) holder_commitment: Arc<Commitment>,
    pub(crate) counterparty_commitment: Arc<Commitment>,
    /// The counterparty commitment we signed and whose predecessor is not yet revoked.
    pub(crate) counterparty_next: Option<Arc<Commitment>>,
    pub(crate) next_holder_htlc_id: u64,
    pub(crate) next_counterparty_htlc_id: u64,
    /// Their HTLCs over our dust exposure limit, to fail once committed.
    pub(crate) fail_when_committed: BTreeSet<u64>,
}

impl UpdateLog {
    /// A log for a new channel whose first commitments (number 0) both contain `initial`.
    pub fn new(limits: ChannelLimits, initial: CommitmentSpec) -> UpdateLog {
        UpdateLog {
            limits,
            holder: Changes::default(),
            counterparty: Changes::default(),
            holder_commitment: Arc::new(Commitment { number: 0, spec: initial.clone() }),
            counterparty_commitment: Arc::new(Commitment { number: 0, spec: initial }),
            counterparty_next: None,
            next_holder_htlc_id: 0,
            next_counterparty_htlc_id: 0,
            fail_when_committed: BTreeSet::new(),
        }
    }

    /// The negotiated limits.
    pub fn limits(&self) -> &ChannelLimits {
        &self.limits
    }

    /// Our current (latest signed by the peer, not revoked) commitment.
    pub fn holder_commitment(&self) -> &Commitment {
        &self.holder_commitment
    }

    /// The counterparty's latest commitment whose predecessor it has revoked.
    pub fn counterparty_commitment(&self) -> &Commitment {
        &self.counterparty_commitment
    }

    /// The counterparty commitment we signed and await a revocation for, if any.
    pub fn counterparty_next(&self) -> Option<&Commitment> {
        self.counterparty_next.as_deref()
    }

    /// Our changes by stage.
    pub fn holder_changes(&self) -> &Changes {
        &self.holder
    }

    /// Their changes by stage.
    pub fn counterparty_changes(&self) -> &Changes {
        &self.counterparty
    }

    /// The id our next HTLC gets.
    pub fn next_holder_htlc_id(&self) -> u64 {
        self.next_holder_htlc_id
    }

    /// The latest counterparty commitment we signed: the one our new offers build on.
    fn latest_counterparty_spec(&self) -> &CommitmentSpec {
        self.counterparty_next.as_ref().map_or(&self.counterparty_commitment.spec, |c| &c.spec)
    }

    /// The counterparty commitment that would result from our proposals plus `extra`.
    /// Amounts only: the checks need nothing else, and copying every HTLC's onion on each
    /// update made a batch of n updates cost O(n²) copies.
    fn counterparty_view(&self, extra: &Update) -> Result<CommitmentSpec<Msat>, Error> {
        let mut spec = self.latest_counterparty_spec().amounts();
        let ours = self.holder.proposed.iter().chain(std::iter::once(extra));
        spec.apply(ours, self.counterparty.acked.iter())?;
        Ok(spec)
    }

    /// Our commitment that would result from their proposals plus `extra`.
    fn holder_view(&self, extra: &Update) -> Result<CommitmentSpec<Msat>, Error> {
        let mut spec = self.holder_commitment.spec.amounts();
        let theirs = self.counterparty.proposed.iter().chain(std::iter::once(extra));
        spec.apply(self.holder.acked.iter(), theirs)?;
        Ok(spec)
    }

    /// Adds an HTLC of ours (`update_add_htlc` we are about to send); assigns its id.
    /// Refused, with the log unchanged, if it breaks any limit, including our dust exposure.
    pub fn add_holder_htlc(&mut self, mut htlc: Htlc) -> Result<Htlc, Error> {
        htlc.id = self.next_holder_htlc_id;
        let update = Update::Add(htlc.clone());
        let spec = self.counterparty_view(&update)?;
        if !self.limits.check_add(Side::Holder, &htlc, &spec)? {
            return Err(Error::DustExposureExceeded(self.limits.dust_exposure(&spec)));
        }
        self.next_holder_htlc_id = self.next_holder_htlc_id.saturating_add(1);
        self.holder.proposed.push(update);
        Ok(htlc)
    }

    /// Records the counterparty's `update_add_htlc` after the BOLT 2 checks.
    pub fn receive_add(&mut self, htlc: Htlc) -> Result<(), Error> {
        // BOLT 2: ids increase by exactly one per offer, starting at 0.
        if htlc.id != self.next_counterparty_htlc_id {
            return Err(Error::UnexpectedHtlcId {
                got: htlc.id,
                expected: self.next_counterparty_htlc_id,
            });
        }
        let update = Update::Add(htlc.clone());
        let spec = self.holder_view(&update)?;
        if !self.limits.check_add(Side::Counterparty, &htlc, &spec)? {
            // BOLT 2: SHOULD fail this HTLC once it's committed.
            self.fail_when_committed.insert(htlc.id);
        }
        self.next_counterparty_htlc_id = self.next_counterparty_htlc_id.saturating_add(1);
        self.counterparty.proposed.push(update);
        Ok(())
    }

    /// Is `id` (offered by `offerer`) in both current commitments, i.e. irrevocably committed?
    fn cross_signed(&self, offerer: Side, id: u64) -> Option<&Htlc> {
        let (ours, theirs) = match offerer {
            Side::Holder => {
                (&self.holder_commitment.spec.offered, &self.counterparty_commitment.spec.offered)
            }
            Side::Counterparty => {
                (&self.holder_commitment.spec.received, &self.counterparty_commitment.spec.received)
            }
        };
        theirs.get(&id).and(ours.get(&id))
    }

    fn already_removing(changes: &Changes, id: u64) -> bool {
        let all = changes.proposed.iter().chain(&changes.signed).chain(&changes.acked);
        all.filter_map(Update::removed_id).any(|r| r == id)
    }

    /// Validates a removal of an HTLC offered by `offerer`, proposed by the other side.
    fn check_removal(&self, offerer: Side, update: &Update) -> Result<(), Error> {
        let Some(id) = update.removed_id() else {
            return Ok(());
        };
        // BOLT 2: removals only of HTLCs irrevocably committed; unknown ids fail the channel.
        let htlc = self.cross_signed(offerer, id).ok_or(Error::UnknownHtlcId(id))?;
        let remover = match offerer {
            Side::Holder => &self.counterparty,
            Side::Counterparty => &self.holder,
        };
        if Self::already_removing(remover, id) {
            return Err(Error::HtlcAlreadyRemoved(id));
        }
        match update {
            // BOLT 2: the preimage must hash to the HTLC's payment_hash.
            Update::Fulfill(m) if m.payment_preimage.hash() != htlc.payment_hash => {
                Err(Error::WrongPreimage(id))
            }
            // BOLT 2: MUST fail the channel if the BADONION bit is not set.
            Update::FailMalformed(m) if m.failure_code & BADONION == 0 => {
                Err(Error::MalformedWithoutBadOnion(m.failure_code))
            }
            _ => Ok(()),
        }
    }

    /// Proposes our removal (fulfill, fail, fail_malformed) of one of their HTLCs.
    pub fn remove_counterparty_htlc(&mut self, update: Update) -> Result<(), Error> {
        if update.removed_id().is_none() {
            return Err(Error::InvalidCommand);
        }
        self.check_removal(Side::Counterparty, &update)?;
        self.holder.proposed.push(update);
        Ok(())
    }

    /// Records their removal of one of our HTLCs.
    pub fn receive_removal(&mut self, update: Update) -> Result<(), Error> {
        if update.removed_id().is_none() {
            return Err(Error::UnexpectedMessage);
        }
        self.check_removal(Side::Holder, &update)?;
        self.counterparty.proposed.push(update);
        Ok(())
    }

    /// Proposes a new feerate (we must be the funder).
    pub fn propose_fee(&mut self, update: Update) -> Result<(), Error> {
        let spec = self.counterparty_view(&update)?;
        self.limits.check_fee(Side::Holder, &spec)?;
        self.holder.proposed.push(update);
        Ok(())
    }

    /// Records their `update_fee` after the BOLT 2 checks.
    pub fn receive_fee(&mut self, update: Update) -> Result<(), Error> {
        let spec = self.holder_view(&update)?;
        self.limits.check_fee(Side::Counterparty, &spec)?;
        self.counterparty.proposed.push(update);
        Ok(())
    }

    /// Whether we may and should send `commitment_signed`: no signature outstanding and
    /// something to sign (BOLT 2: MUST NOT send commitment_signed without updates).
    pub fn can_sign(&self) -> bool {
        self.counterparty_next.is_none()
            && (!self.holder.proposed.is_empty() || !self.counterparty.acked.is_empty())
    }

    /// The counterparty commitment our next `commitment_signed` covers; does not change the log.
    pub fn next_counterparty_commitment(&self) -> Result<Commitment, Error> {
        let spec = self
            .counterparty_commitment
            .spec
            .reduce(&self.holder.proposed, &self.counterparty.acked)?;
        let number =
            self.counterparty_commitment.number.checked_add(1).ok_or(Error::InsufficientBalance)?;
        Ok(Commitment { number, spec })
    }

    /// Records that we signed `next` (from [`Self::next_counterparty_commitment`]).
    pub fn signed_counterparty_commitment(&mut self, next: Commitment) {
        self.holder.signed = std::mem::take(&mut self.holder.proposed);
        self.counterparty.signed = std::mem::take(&mut self.counterparty.acked);
        self.counterparty_next = Some(Arc::new(next));
    }

    /// Our commitment their `commitment_signed` covers; does not change the log.
    pub fn next_holder_commitment(&self) -> Result<Commitment, Error> {
        let spec =
            self.holder_commitment.spec.reduce(&self.holder.acked, &self.counterparty.proposed)?;
        let number =
            self.holder_commitment.number.checked_add(1).ok_or(Error::InsufficientBalance)?;
        Ok(Commitment { number, spec })
    }

    /// Records that we accepted `next` as our commitment (its signatures verified); we are
    /// about to revoke the previous one.
    pub fn accepted_holder_commitment(&mut self, next: Commitment) {
        self.holder.acked.clear();
        let proposed = std::mem::take(&mut self.counterparty.proposed);
        self.counterparty.acked.extend(proposed);
        self.holder_commitment = Arc::new(next);
    }

    /// Records their `revoke_and_ack`: the commitment we signed becomes current. Returns what
    /// became irrevocably committed.
    pub fn received_revocation(&mut self) -> Result<LockedIn, Error> {
        let next = self.counterparty_next.take().ok_or(Error::UnexpectedRevocation)?;
        self.counterparty_commitment = next;
        let signed = std::mem::take(&mut self.holder.signed);
        self.holder.acked.extend(signed);
        let mut locked = LockedIn::default();
        for update in std::mem::take(&mut self.counterparty.signed) {
            match update {
                Update::Add(htlc) => {
                    let fail = self.fail_when_committed.remove(&htlc.id);
                    locked.incoming.push((htlc, fail));
                }
                Update::Fee(_) => {}
                removal => locked.removals.push(removal),
            }
        }
        Ok(locked)
    }

    /// BOLT 2: on disconnection, forget updates not covered by a `commitment_signed` (ours
    /// and theirs); their HTLC ids will be reused.
    pub fn disconnected(&mut self) {
        let dropped_adds = |changes: &[Update]| {
            changes.iter().filter(|u| matches!(u, Update::Add(_))).count() as u64
        };
        let ours = dropped_adds(&self.holder.proposed);
        let theirs = dropped_adds(&self.counterparty.proposed);
        self.next_holder_htlc_id = self.next_holder_htlc_id.saturating_sub(ours);
        self.next_counterparty_htlc_id = self.next_counterparty_htlc_id.saturating_sub(theirs);
        for update in &self.counterparty.proposed {
            if let Update::Add(htlc) = update {
                self.fail_when_committed.remove(&htlc.id);
            }
        }
        self.holder.proposed.clear();
        self.counterparty.proposed.clear();
    }

    /// Their HTLCs that are irrevocably committed and that we have not (or no longer, after a
    /// reconnection dropped our unsigned removal) proposed to remove: the node must settle
    /// each one. Call after every reconnection to re-drive pending resolutions.
    pub fn unresolved_incoming(&self) -> Vec<&Htlc> {
        self.holder_commitment
            .spec
            .received
            .values()
            .filter(|h| self.counterparty_commitment.spec.received.contains_key(&h.id))
            .filter(|h| !Self::already_removing(&self.holder, h.id))
            .collect()
    }

    /// Whether no HTLC is in either commitment or pending (shutdown may then close).
    pub fn no_htlcs(&self) -> bool {
        let specs = [
            Some(&self.holder_commitment.spec),
            Some(&self.counterparty_commitment.spec),
            self.counterparty_next.as_ref().map(|c| &c.spec),
        ];
        let clean = specs.iter().flatten().all(|s| s.offered.is_empty() && s.received.is_empty());
        let pending = [&self.holder, &self.counterparty]
            .iter()
            .any(|c| !c.proposed.is_empty() || !c.signed.is_empty() || !c.acked.is_empty());
        clean && !pending
    }

    /// Whether we have proposed or signed changes the counterparty has not yet acknowledged.
    pub fn has_pending_changes(&self) -> bool {
        !self.holder.proposed.is_empty()
            || !self.counterparty.proposed.is_empty()
            || self.can_sign()
    }
}
