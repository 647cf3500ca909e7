//! Opening a channel (BOLT 2 "Channel Establishment v1"): `open_channel`, `accept_channel`,
//! `funding_created`, `funding_signed`, then waiting for the funding transaction to confirm
//! and `channel_ready`.

use crate::action::{Action, Event};
use crate::commitment::{ChannelSetup, CommitmentSignatures};
use crate::error::Error;
use crate::funded::{Funded, LastSent};
use crate::keys::ChannelSigner;
use crate::limits::{ChannelLimits, Constraints};
use crate::params::{
    validate_accept_channel, validate_open_channel, ChannelType, Policy, Proposal,
};
use crate::spec::CommitmentSpec;
use crate::update_log::{Commitment, UpdateLog};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction};
use shandian_tx::commitment::obscuring_factor;
use shandian_tx::keys::ChannelPublicKeys;
use shandian_tx::{Funding, ShachainStore};
use shandian_types::{ChannelId, FeeratePerKw, Msat};
use shandian_wire::{
    AcceptChannel, ChannelKeys, FundingCreated, FundingSigned, Message, OpenChannel, OpeningTlvs,
};

/// Our side's settings for new channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// What we accept from peers.
    pub policy: Policy,
    /// Our `dust_limit_satoshis`.
    pub dust_limit: Amount,
    /// Our `max_htlc_value_in_flight_msat`.
    pub max_htlc_value_in_flight: Msat,
    /// Our `htlc_minimum_msat`.
    pub htlc_minimum: Msat,
    /// The `to_self_delay` we impose on the peer.
    pub to_self_delay: u16,
    /// Our `max_accepted_htlcs`.
    pub max_accepted_htlcs: u16,
    /// The reserve we require of the peer, per mille of the capacity (BOLT 2 suggests 1%).
    pub reserve_permille: u16,
    /// The depth we require before `channel_ready` when we accept a channel.
    pub minimum_depth: u32,
    /// The most trimmed-HTLC value we risk per commitment.
    pub max_dust_exposure: Msat,
    /// Where our funds go on a mutual close (sent as `upfront_shutdown_script`).
    pub shutdown_script: ScriptBuf,
}

impl ChannelConfig {
    fn constraints(&self, funding: Amount) -> Constraints {
        let reserve = Amount::from_sat(funding.to_sat() / 1000 * u64::from(self.reserve_permille));
        Constraints {
            dust_limit: self.dust_limit,
            max_htlc_value_in_flight: self.max_htlc_value_in_flight,
            channel_reserve: reserve.max(self.dust_limit),
            htlc_minimum: self.htlc_minimum,
            to_self_delay: self.to_self_delay,
            max_accepted_htlcs: self.max_accepted_htlcs,
        }
    }
}

/// What both sides agreed on before the funding outpoint is known.
#[derive(Debug, Clone)]
pub struct Negotiated {
    pub(crate) config: ChannelConfig,
    pub(crate) keys: ChannelSigner,
    pub(crate) temporary_channel_id: ChannelId,
    pub(crate) channel_type: ChannelType,
    pub(crate) limits: ChannelLimits,
    pub(crate) holder_pubkeys: ChannelPublicKeys,
    pub(crate) counterparty_pubkeys: ChannelPublicKeys,
    pub(crate) counterparty_first_point: PublicKey,
    pub(crate) counterparty_shutdown_script: Option<ScriptBuf>,
    pub(crate) funding_amount: Amount,
    pub(crate) push: Msat,
    pub(crate) feerate: FeeratePerKw,
    pub(crate) minimum_depth: u32,
}

fn wire_keys(pubkeys: &ChannelPublicKeys, first_point: PublicKey) -> ChannelKeys {
    ChannelKeys {
        funding_pubkey: pubkeys.funding_pubkey,
        revocation_basepoint: pubkeys.revocation_basepoint,
        payment_basepoint: pubkeys.payment_basepoint,
        delayed_payment_basepoint: pubkeys.delayed_payment_basepoint,
        htlc_basepoint: pubkeys.htlc_basepoint,
        first_per_commitment_point: first_point,
    }
}

fn from_wire_keys(keys: &ChannelKeys) -> ChannelPublicKeys {
    ChannelPublicKeys {
        funding_pubkey: keys.funding_pubkey,
        revocation_basepoint: keys.revocation_basepoint,
        payment_basepoint: keys.payment_basepoint,
        delayed_payment_basepoint: keys.delayed_payment_basepoint,
        htlc_basepoint: keys.htlc_basepoint,
    }
}

/// An empty script in `upfront_shutdown_script` means "none".
fn upfront_script(tlvs: &OpeningTlvs) -> Option<ScriptBuf> {
    tlvs.upfront_shutdown_script.clone().filter(|s| !s.is_empty())
}

impl Negotiated {
    fn initial_spec(&self) -> Result<CommitmentSpec, Error> {
        let capacity = Msat::from_sat(self.funding_amount)
            .ok_or(Error::FundingTooLarge(self.funding_amount))?;
        let to_funder =
            capacity.checked_sub(self.push).ok_or(Error::PushExceedsFunding(self.push))?;
        Ok(if self.limits.holder_is_funder {
            CommitmentSpec::new(to_funder, self.push, self.feerate)
        } else {
            CommitmentSpec::new(self.push, to_funder, self.feerate)
        })
    }

    /// Fixes the funding outpoint: the permanent channel id and everything to build
    /// commitments.
    fn setup(&self, outpoint: OutPoint) -> Result<(ChannelSetup, u16), Error> {
        let vout = u16::try_from(outpoint.vout).map_err(|_| Error::WrongFundingOutput)?;
        let (opener, accepter) = if self.limits.holder_is_funder {
            (&self.holder_pubkeys, &self.counterparty_pubkeys)
        } else {
            (&self.counterparty_pubkeys, &self.holder_pubkeys)
        };
        let setup = ChannelSetup {
            channel_id: ChannelId::from_funding_outpoint(&outpoint.txid, vout),
            channel_type: self.channel_type,
            limits: self.limits,
            signer: self.keys.clone(),
            holder_pubkeys: self.holder_pubkeys,
            counterparty_pubkeys: self.counterparty_pubkeys,
            funding: Funding {
                outpoint,
                amount: self.funding_amount,
                local_pubkey: self.holder_pubkeys.funding_pubkey,
                remote_pubkey: self.counterparty_pubkeys.funding_pubkey,
            },
            obscuring_factor: obscuring_factor(
                &opener.payment_basepoint,
                &accepter.payment_basepoint,
            ),
        };
        Ok((setup, vout))
    }

    /// The funded core, once the counterparty's signature on our first commitment verified.
    fn into_funded(
        self,
        secp: Secp256k1<All>,
        setup: ChannelSetup,
        initial: CommitmentSpec,
        holder_signatures: CommitmentSignatures,
    ) -> (Funded, FundingInfo) {
        let info = FundingInfo {
            minimum_depth: self.minimum_depth,
            shutdown_script: self.config.shutdown_script.clone(),
            counterparty_upfront_script: self.counterparty_shutdown_script.clone(),
            closing_feerate_floor: self.config.policy.feerate_range.0,
        };
        let funded = Funded {
            secp,
            log: UpdateLog::new(self.limits, initial),
            setup,
            counterparty_secrets: ShachainStore::new(),
            counterparty_points: (self.counterparty_first_point, self.counterparty_first_point),
            holder_signatures,
            last_sent: LastSent::RevokeAndAck,
            short_channel_id: None,
            preimages: Default::default(),
            connected: true,
            sign_when_told: false,
        };
        (funded, info)
    }
}

/// Settings carried from the opening into the funded phases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingInfo {
    pub(crate) minimum_depth: u32,
    pub(crate) shutdown_script: ScriptBuf,
    pub(crate) counterparty_upfront_script: Option<ScriptBuf>,
    /// The lowest feerate we accept for the closing transaction.
    pub(crate) closing_feerate_floor: FeeratePerKw,
}

/// We sent `open_channel` and wait for `accept_channel`.
#[derive(Debug, Clone)]
pub struct OutboundOpening {
    pub(crate) config: ChannelConfig,
    pub(crate) keys: ChannelSigner,
    pub(crate) open: OpenChannel,
}

/// A channel we open: what to propose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    /// A temporary id unique with this peer (from the caller's entropy).
    pub temporary_channel_id: ChannelId,
    /// `funding_satoshis`.
    pub funding: Amount,
    /// `push_msat`.
    pub push: Msat,
    /// `feerate_per_kw` for the first commitments.
    pub feerate: FeeratePerKw,
    /// The channel type to propose.
    pub channel_type: ChannelType,
    /// `channel_flags` bit 0: announce the channel.
    pub announce: bool,
}

impl OutboundOpening {
    /// Starts opening: returns the phase and the `open_channel` to send.
    pub fn new(
        config: ChannelConfig,
        keys: ChannelSigner,
        request: &OpenRequest,
    ) -> Result<(OutboundOpening, Message), Error> {
        let c = config.constraints(request.funding);
        let open = OpenChannel {
            chain_hash: config.policy.chain_hash,
            temporary_channel_id: request.temporary_channel_id,
            funding_satoshis: request.funding,
            push_msat: request.push,
            dust_limit_satoshis: c.dust_limit,
            max_htlc_value_in_flight_msat: c.max_htlc_value_in_flight,
            channel_reserve_satoshis: c.channel_reserve,
            htlc_minimum_msat: c.htlc_minimum,
            feerate_per_kw: request.feerate,
            to_self_delay: c.to_self_delay,
            max_accepted_htlcs: c.max_accepted_htlcs,
            keys: wire_keys(&keys.public_keys(), keys.commitment_point(0)?),
            channel_flags: u8::from(request.announce),
            tlvs: OpeningTlvs {
                upfront_shutdown_script: Some(config.shutdown_script.clone()),
                channel_type: Some(request.channel_type.to_features()),
            },
        };
        let msg = Message::from(open.clone());
        Ok((OutboundOpening { config, keys, open }, msg))
    }

    fn proposal(&self) -> Proposal {
        Proposal {
            funding: self.open.funding_satoshis,
            push: self.open.push_msat,
            feerate: self.open.feerate_per_kw,
            constraints: self.config.constraints(self.open.funding_satoshis),
            channel_type: self.open.tlvs.channel_type.clone(),
        }
    }

    /// BOLT 2 `accept_channel`: validate, then ask the node for the funding transaction.
    pub(crate) fn on_accept(self, m: &AcceptChannel) -> Result<(AwaitingFundingTx, Event), Error> {
        let theirs = Constraints {
            dust_limit: m.dust_limit_satoshis,
            max_htlc_value_in_flight: m.max_htlc_value_in_flight_msat,
            channel_reserve: m.channel_reserve_satoshis,
            htlc_minimum: m.htlc_minimum_msat,
            to_self_delay: m.to_self_delay,
            max_accepted_htlcs: m.max_accepted_htlcs,
        };
        let ours = self.proposal();
        let agreed = validate_accept_channel(
            &self.config.policy,
            &ours,
            &theirs,
            m.tlvs.channel_type.as_ref(),
            m.minimum_depth,
        )?;
        let negotiated = Negotiated {
            limits: ChannelLimits {
                holder: ours.constraints,
                counterparty: theirs,
                holder_is_funder: true,
                fee_model: agreed.channel_type.fee_model(),
                max_dust_exposure: self.config.max_dust_exposure,
                feerate_range: self.config.policy.feerate_range,
            },
            holder_pubkeys: self.keys.public_keys(),
            counterparty_pubkeys: from_wire_keys(&m.keys),
            counterparty_first_point: m.keys.first_per_commitment_point,
            counterparty_shutdown_script: upfront_script(&m.tlvs),
            temporary_channel_id: self.open.temporary_channel_id,
            channel_type: agreed.channel_type,
            funding_amount: ours.funding,
            push: ours.push,
            feerate: ours.feerate,
            minimum_depth: m.minimum_depth,
            config: self.config,
            keys: self.keys,
        };
        let funding = Funding {
            outpoint: OutPoint::null(),
            amount: negotiated.funding_amount,
            local_pubkey: negotiated.holder_pubkeys.funding_pubkey,
            remote_pubkey: negotiated.counterparty_pubkeys.funding_pubkey,
        };
        let event = Event::FundingNeeded {
            temporary_channel_id: negotiated.temporary_channel_id,
            script_pubkey: funding.script_pubkey(),
            amount: negotiated.funding_amount,
        };
        Ok((AwaitingFundingTx { negotiated }, event))
    }
}

/// (Funder) The peer accepted; we wait for the node's funding transaction.
#[derive(Debug, Clone)]
pub struct AwaitingFundingTx {
    pub(crate) negotiated: Negotiated,
}

impl AwaitingFundingTx {
    /// The node built (and signed, not broadcast) the funding transaction: sign the peer's
    /// first commitment and send `funding_created`.
    pub(crate) fn on_funding_tx(
        self,
        secp: &Secp256k1<All>,
        tx: Transaction,
    ) -> Result<(AwaitingFundingSigned, Vec<Action>), Error> {
        let n = &self.negotiated;
        let expected = Funding {
            outpoint: OutPoint::null(),
            amount: n.funding_amount,
            local_pubkey: n.holder_pubkeys.funding_pubkey,
            remote_pubkey: n.counterparty_pubkeys.funding_pubkey,
        }
        .txout();
        let vout =
            tx.output.iter().position(|o| *o == expected).ok_or(Error::WrongFundingOutput)?;
        let vout = u32::try_from(vout).map_err(|_| Error::WrongFundingOutput)?;
        let outpoint = OutPoint { txid: tx.compute_txid(), vout };
        let (setup, vout16) = n.setup(outpoint)?;
        let initial = n.initial_spec()?;
        let first = Commitment { number: 0, spec: initial.clone() };
        let sigs = setup.sign_counterparty(secp, &first, &n.counterparty_first_point)?;
        let msg = FundingCreated {
            temporary_channel_id: n.temporary_channel_id,
            funding_txid: outpoint.txid,
            funding_output_index: vout16,
            signature: sigs.commitment,
        };
        let actions = vec![
            Action::Event(Event::ChannelIdChanged {
                temporary: n.temporary_channel_id,
                channel_id: setup.channel_id,
            }),
            Action::Send(Message::from(msg)),
        ];
        Ok((
            AwaitingFundingSigned { negotiated: self.negotiated, setup, funding_tx: tx, initial },
            actions,
        ))
    }
}

/// (Funder) We sent `funding_created` and wait for `funding_signed`.
#[derive(Debug, Clone)]
pub struct AwaitingFundingSigned {
    pub(crate) negotiated: Negotiated,
    pub(crate) setup: ChannelSetup,
    pub(crate) funding_tx: Transaction,
    pub(crate) initial: CommitmentSpec,
}

impl AwaitingFundingSigned {
    /// BOLT 2 `funding_signed`: verify the signature on our first commitment; only then may
    /// the funding transaction be broadcast.
    pub(crate) fn on_funding_signed(
        self,
        secp: &Secp256k1<All>,
        m: &FundingSigned,
    ) -> Result<(Funded, FundingInfo, Transaction), Error> {
        let first = Commitment { number: 0, spec: self.initial.clone() };
        let point = self.negotiated.keys.commitment_point(0)?;
        let sigs = CommitmentSignatures { commitment: m.signature, htlcs: Vec::new() };
        self.setup.verify_holder(secp, &first, &point, &sigs)?;
        let (funded, info) =
            self.negotiated.into_funded(secp.clone(), self.setup, self.initial, sigs);
        Ok((funded, info, self.funding_tx))
    }
}

/// (Fundee) We sent `accept_channel` and wait for `funding_created`.
#[derive(Debug, Clone)]
pub struct InboundOpening {
    pub(crate) negotiated: Negotiated,
}

impl InboundOpening {
    /// BOLT 2: validates a received `open_channel`; returns the phase and our `accept_channel`.
    pub fn new(
        config: ChannelConfig,
        keys: ChannelSigner,
        open: &OpenChannel,
    ) -> Result<(InboundOpening, Message), Error> {
        let theirs = Proposal {
            funding: open.funding_satoshis,
            push: open.push_msat,
            feerate: open.feerate_per_kw,
            constraints: Constraints {
                dust_limit: open.dust_limit_satoshis,
                max_htlc_value_in_flight: open.max_htlc_value_in_flight_msat,
                channel_reserve: open.channel_reserve_satoshis,
                htlc_minimum: open.htlc_minimum_msat,
                to_self_delay: open.to_self_delay,
                max_accepted_htlcs: open.max_accepted_htlcs,
            },
            channel_type: open.tlvs.channel_type.clone(),
        };
        let mut ours = config.constraints(open.funding_satoshis);
        // Our reserve must cover their dust limit (BOLT 2 accept_channel).
        ours.channel_reserve = ours.channel_reserve.max(open.dust_limit_satoshis);
        let agreed = validate_open_channel(&config.policy, open.chain_hash, &theirs, &ours)?;
        let holder_pubkeys = keys.public_keys();
        let accept = AcceptChannel {
            temporary_channel_id: open.temporary_channel_id,
            dust_limit_satoshis: ours.dust_limit,
            max_htlc_value_in_flight_msat: ours.max_htlc_value_in_flight,
            channel_reserve_satoshis: ours.channel_reserve,
            htlc_minimum_msat: ours.htlc_minimum,
            minimum_depth: config.minimum_depth,
            to_self_delay: ours.to_self_delay,
            max_accepted_htlcs: ours.max_accepted_htlcs,
            keys: wire_keys(&holder_pubkeys, keys.commitment_point(0)?),
            tlvs: OpeningTlvs {
                upfront_shutdown_script: Some(config.shutdown_script.clone()),
                channel_type: Some(agreed.channel_type.to_features()),
            },
        };
        let negotiated = Negotiated {
            limits: ChannelLimits {
                holder: ours,
                counterparty: theirs.constraints,
                holder_is_funder: false,
                fee_model: agreed.channel_type.fee_model(),
                max_dust_exposure: config.max_dust_exposure,
                feerate_range: config.policy.feerate_range,
            },
            holder_pubkeys,
            counterparty_pubkeys: from_wire_keys(&open.keys),
            counterparty_first_point: open.keys.first_per_commitment_point,
            counterparty_shutdown_script: upfront_script(&open.tlvs),
            temporary_channel_id: open.temporary_channel_id,
            channel_type: agreed.channel_type,
            funding_amount: open.funding_satoshis,
            push: open.push_msat,
            feerate: open.feerate_per_kw,
            minimum_depth: config.minimum_depth,
            config,
            keys,
        };
        Ok((InboundOpening { negotiated }, Message::from(accept)))
    }

    /// BOLT 2 `funding_created`: verify the funder's signature on our first commitment, sign
    /// its first commitment and answer `funding_signed`.
    pub(crate) fn on_funding_created(
        self,
        secp: &Secp256k1<All>,
        m: &FundingCreated,
    ) -> Result<(Funded, FundingInfo, Message), Error> {
        let outpoint = OutPoint { txid: m.funding_txid, vout: u32::from(m.funding_output_index) };
        let n = &self.negotiated;
        let (setup, _) = n.setup(outpoint)?;
        let initial = n.initial_spec()?;
        let first = Commitment { number: 0, spec: initial.clone() };
        let point = n.keys.commitment_point(0)?;
        let sigs = CommitmentSignatures { commitment: m.signature, htlcs: Vec::new() };
        setup.verify_holder(secp, &first, &point, &sigs)?;
        let theirs = setup.sign_counterparty(secp, &first, &n.counterparty_first_point)?;
        let reply = FundingSigned { channel_id: setup.channel_id, signature: theirs.commitment };
        let (funded, info) = self.negotiated.into_funded(secp.clone(), setup, initial, sigs);
        Ok((funded, info, Message::from(reply)))
    }

    /// The temporary channel id.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.negotiated.temporary_channel_id
    }
}
