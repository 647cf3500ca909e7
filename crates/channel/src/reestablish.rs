//! Reconnection (BOLT 2 "Message Retransmission"): `channel_reestablish`, exactly the
//! retransmissions BOLT 2 requires in their original order, and `option_data_loss_protect`.

use crate::action::Action;
use crate::error::Error;
use crate::funded::{Funded, LastSent};
use shandian_wire::{ChannelReestablish, Message};

impl Funded {
    /// BOLT 2: on disconnection, forget uncommitted updates of both sides.
    pub(crate) fn disconnect(&mut self) {
        self.connected = false;
        self.log.disconnected();
    }

    /// Our `channel_reestablish`.
    pub(crate) fn reestablish_message(&self) -> Result<ChannelReestablish, Error> {
        let holder = self.log.holder_commitment().number;
        let revocation = self.log.counterparty_commitment().number;
        // The last secret the peer revealed: for its commitment `revocation - 1`.
        let your_last_per_commitment_secret = match revocation.checked_sub(1) {
            None => [0; 32],
            Some(revoked) => {
                let index = shandian_tx::shachain::index_for_commitment(revoked)
                    .map_err(|_| Error::Transaction)?;
                self.counterparty_secrets.get(index).map_err(|_| Error::Transaction)?
            }
        };
        Ok(ChannelReestablish {
            channel_id: self.setup.channel_id,
            next_commitment_number: holder.saturating_add(1),
            next_revocation_number: revocation,
            your_last_per_commitment_secret,
            my_current_per_commitment_point: self.setup.signer.commitment_point(holder)?,
            next_funding: None,
            my_current_funding_locked: None,
        })
    }

    /// BOLT 2 data loss checks on the peer's `next_revocation_number` and
    /// `your_last_per_commitment_secret`.
    fn check_data_loss(&self, m: &ChannelReestablish) -> Result<(), Error> {
        let holder = self.log.holder_commitment().number;
        // The claimed secret is checked against our point for that commitment, so the
        // signer never has to release a secret for a commitment we have not revoked.
        let proven = match m.next_revocation_number.checked_sub(1) {
            None => m.your_last_per_commitment_secret == [0; 32],
            Some(n) => {
                let claimed = shandian_tx::keys::per_commitment_point(
                    &self.secp,
                    &m.your_last_per_commitment_secret,
                );
                claimed.ok() == Some(self.setup.signer.commitment_point(n)?)
            }
        };
        if m.next_revocation_number > holder {
            // BOLT 2: the peer expects a revocation for a commitment we do not have. If it
            // proves it with our own secret, we lost state: MUST NOT broadcast our commitment.
            return Err(if proven { Error::WeLostState } else { Error::InvalidDataLossProof });
        }
        // BOLT 2: a secret that does not match what we revealed: fail the channel.
        if !proven {
            return Err(Error::InvalidDataLossProof);
        }
        Ok(())
    }

    /// Handles the peer's `channel_reestablish`: checks for lost state on either side and
    /// queues the retransmissions in their original order.
    pub(crate) fn on_reestablish(
        &mut self,
        m: &ChannelReestablish,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        self.check_data_loss(m)?;
        let holder = self.log.holder_commitment().number;
        // Revocation: the peer expects the revocation of `next_revocation_number`.
        let resend_revocation = match holder.checked_sub(m.next_revocation_number) {
            Some(0) => false,
            Some(1) => true,
            // The peer is behind by more than one revocation: it lost state.
            _ => return Err(Error::ReestablishMismatch),
        };
        let pending = self.log.counterparty_next().map(|c| c.number);
        let latest = pending.unwrap_or(self.log.counterparty_commitment().number);
        let resend_commitment = if m.next_commitment_number == latest.saturating_add(1) {
            false
        } else if m.next_commitment_number == latest && pending.is_some() {
            true
        } else if m.next_commitment_number > latest.saturating_add(1) {
            // The peer holds a commitment we do not remember signing.
            return Err(Error::WeLostState);
        } else {
            return Err(Error::ReestablishMismatch);
        };
        let revocation = match resend_revocation {
            true => Some(Message::from(self.revocation_message(holder.saturating_sub(1))?)),
            false => None,
        };
        let mut commitment = Vec::new();
        if resend_commitment {
            // BOLT 2: retransmit the updates of the lost commitment_signed, then it.
            let updates = self.log.holder_changes().signed.iter().map(|u| u.to_message());
            commitment.extend(updates);
            let signed = self.resign_outstanding()?.ok_or(Error::ReestablishMismatch)?;
            commitment.push(Message::from(signed));
        }
        let sends = match (self.last_sent, revocation) {
            (LastSent::CommitmentSigned, Some(r)) => std::iter::once(r).chain(commitment).collect(),
            (LastSent::RevokeAndAck, Some(r)) => {
                commitment.into_iter().chain(std::iter::once(r)).collect()
            }
            (_, None) => commitment,
        };
        out.extend(sends.into_iter().map(Action::Send));
        self.connected = true;
        self.sign_if_needed(out)
    }
}
