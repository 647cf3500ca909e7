//! Normal operation: HTLC and fee updates from both sides, and the local commands that
//! propose them. Used by the `Normal` and `ShuttingDown` phases.

use crate::action::{Action, Event};
use crate::error::Error;
use crate::funded::Funded;
use crate::spec::Update;
use bitcoin::secp256k1::PublicKey;
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentHash, PaymentPreimage};
use shandian_wire::{
    Message, OnionPacket, UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc, UpdateFee,
    UpdateFulfillHtlc,
};

/// A new HTLC we want to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHtlc {
    /// `amount_msat`.
    pub amount: Msat,
    /// `payment_hash`.
    pub payment_hash: PaymentHash,
    /// `cltv_expiry`.
    pub cltv_expiry: CltvExpiry,
    /// The onion for the next hop.
    pub onion: OnionPacket,
    /// The blinded-path `path_key`, when relaying inside a blinded route.
    pub blinding_point: Option<PublicKey>,
}

/// How we remove an HTLC the peer offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Claim it with the preimage.
    Fulfill(PaymentPreimage),
    /// Fail it with an encrypted failure onion.
    Fail(Vec<u8>),
    /// Fail it because its onion was unparsable.
    Malformed {
        /// SHA-256 of the onion.
        sha256_of_onion: [u8; 32],
        /// A BADONION failure code.
        failure_code: u16,
    },
}

impl Funded {
    /// Handles a peer update message. `adds_allowed` is false after shutdown.
    pub(crate) fn on_update(
        &mut self,
        msg: &Message,
        adds_allowed: bool,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        match msg {
            Message::UpdateAddHtlc(m) => {
                // BOLT 2: after shutdown, an update_add_htlc fails the channel.
                if !adds_allowed {
                    return Err(Error::AddAfterShutdown);
                }
                self.log.receive_add(m.clone())
            }
            Message::UpdateFulfillHtlc(m) => {
                self.log.receive_removal(Update::Fulfill(m.clone()))?;
                // The preimage is ours to use upstream at once.
                out.push(Action::Event(Event::HtlcFulfilled {
                    id: m.id,
                    preimage: m.payment_preimage,
                }));
                Ok(())
            }
            Message::UpdateFailHtlc(m) => self.log.receive_removal(Update::Fail(m.clone())),
            Message::UpdateFailMalformedHtlc(m) => {
                self.log.receive_removal(Update::FailMalformed(m.clone()))
            }
            Message::UpdateFee(m) => self.log.receive_fee(Update::Fee(m.clone())),
            Message::CommitmentSigned(m) => self.on_commitment_signed(m, out),
            Message::RevokeAndAck(m) => self.on_revoke_and_ack(m, out),
            _ => Err(Error::UnexpectedMessage),
        }
    }

    /// Offers an HTLC; the `update_add_htlc` goes out at once, the signature on `Commit`.
    pub(crate) fn add_htlc(&mut self, new: NewHtlc, out: &mut Vec<Action>) -> Result<(), Error> {
        if !self.connected {
            return Err(Error::Disconnected);
        }
        let htlc = UpdateAddHtlc {
            channel_id: self.setup.channel_id,
            id: 0,
            amount_msat: new.amount,
            payment_hash: new.payment_hash,
            cltv_expiry: new.cltv_expiry,
            onion_routing_packet: new.onion,
            blinding_point: new.blinding_point,
        };
        let htlc = self.log.add_holder_htlc(htlc)?;
        out.push(Action::Event(Event::HtlcOffered { id: htlc.id }));
        out.push(Action::Send(Message::from(htlc)));
        Ok(())
    }

    /// Removes an HTLC the peer offered.
    pub(crate) fn remove_htlc(
        &mut self,
        id: u64,
        removal: Removal,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        if !self.connected {
            return Err(Error::Disconnected);
        }
        let channel_id = self.setup.channel_id;
        let update = match removal {
            Removal::Fulfill(preimage) => Update::Fulfill(UpdateFulfillHtlc {
                channel_id,
                id,
                payment_preimage: preimage,
                attribution_data: None,
            }),
            Removal::Fail(reason) => {
                Update::Fail(UpdateFailHtlc { channel_id, id, reason, attribution_data: None })
            }
            Removal::Malformed { sha256_of_onion, failure_code } => {
                Update::FailMalformed(UpdateFailMalformedHtlc {
                    channel_id,
                    id,
                    sha256_of_onion,
                    failure_code,
                })
            }
        };
        self.log.remove_counterparty_htlc(update.clone())?;
        if let Update::Fulfill(m) = &update {
            self.preimages.insert(m.payment_preimage.hash(), m.payment_preimage);
        }
        out.push(Action::Send(update.to_message()));
        Ok(())
    }

    /// Proposes a new feerate (funder only).
    pub(crate) fn update_fee(
        &mut self,
        feerate: FeeratePerKw,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        if !self.connected {
            return Err(Error::Disconnected);
        }
        let update =
            Update::Fee(UpdateFee { channel_id: self.setup.channel_id, feerate_per_kw: feerate });
        self.log.propose_fee(update.clone())?;
        out.push(Action::Send(update.to_message()));
        Ok(())
    }
}
