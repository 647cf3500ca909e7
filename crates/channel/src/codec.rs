//! The byte encoding of [`ChannelRecord`]s: a version, a phase tag and the phase's fields in
//! a fixed order, update messages in their wire encoding. Decoding is total: corrupt bytes are
//! an [`Error::CorruptRecord`], never a panic.
//!
//! Version 3 stores each HTLC (with its 1,366-byte onion) once per record: the update log
//! starts with a table of every distinct HTLC, and the update lists and the (up to three)
//! commitments refer to it by direction and id. Version 2 wrote the HTLC out in full at
//! each place it appeared (up to five: proposed, signed or acked, and each commitment), so a
//! channel with many HTLCs in flight rewrote every onion several times per batch. Version 2
//! records still decode.

use crate::action::CloseReason;
use crate::channel::Channel;
use crate::closing::Scripts;
use crate::commitment::{ChannelSetup, CommitmentSignatures};
use crate::error::Error;
use crate::fees::FeeModel;
use crate::funded::{Funded, LastSent};
use crate::keys::ChannelSigner;
use crate::limits::{ChannelLimits, Constraints};
use crate::opening::FundingInfo;
use crate::params::ChannelType;
use crate::phases::{AwaitingConfirmation, Closed, Negotiating, Normal, ShuttingDown};
use crate::spec::{CommitmentSpec, Htlc, Update};
use crate::update_log::{Changes, Commitment, UpdateLog};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1};
use bitcoin::{Amount, OutPoint, ScriptBuf, Txid};
use shandian_tx::keys::ChannelPublicKeys;
use shandian_tx::{Funding, ShachainStore};
use shandian_types::{ChannelId, FeeratePerKw, Msat, PaymentPreimage, ShortChannelId};
use shandian_wire::{FeeRange, Message, Reader, WriteExt};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The first version that stores each HTLC once (see the module docs).
const SHARED_HTLCS_VERSION: u16 = 3;

/// An update written out in full.
const INLINE: u8 = 0;
/// An `update_add_htlc` stored in the record's HTLC table, by id.
const IN_TABLE: u8 = 1;

/// The record's distinct HTLCs by (offered by us, id).
type HtlcTable<'h> = BTreeMap<(bool, u64), &'h Htlc>;

/// Writes fields in order.
pub(crate) struct Enc(pub(crate) Vec<u8>);

/// Reads fields in the same order; `signer` is the caller's re-derived signer, which a
/// funded channel takes the place of the key index it stored.
pub(crate) struct Dec<'a> {
    r: Reader<'a>,
    signer: Option<ChannelSigner>,
    /// The record version being read.
    version: u16,
    /// The HTLC table of a version 3 update log, once read.
    htlcs: BTreeMap<(bool, u64), Htlc>,
}

fn corrupt<E>(_: E) -> Error {
    Error::CorruptRecord
}

impl Enc {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.put_u16(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.put_u32(v);
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.put_u64(v);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.put_bigsize(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn point(&mut self, p: &PublicKey) {
        self.0.extend_from_slice(&p.serialize());
    }
    fn sig(&mut self, s: &Signature) {
        self.0.extend_from_slice(&s.serialize_compact());
    }
    fn amount(&mut self, a: Amount) {
        self.u64(a.to_sat());
    }
    fn script(&mut self, s: &ScriptBuf) {
        self.bytes(s.as_bytes());
    }
    fn opt_script(&mut self, s: &Option<ScriptBuf>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.script(s);
            }
            None => self.u8(0),
        }
    }
}

impl<'a> Dec<'a> {
    pub(crate) fn new(bytes: &'a [u8], signer: Option<ChannelSigner>, version: u16) -> Dec<'a> {
        Dec { r: Reader::new(bytes), signer, version, htlcs: BTreeMap::new() }
    }
    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        self.r.read_u8().map_err(corrupt)
    }
    fn u16(&mut self) -> Result<u16, Error> {
        self.r.read_u16().map_err(corrupt)
    }
    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        self.r.read_u32().map_err(corrupt)
    }
    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        self.r.read_u64().map_err(corrupt)
    }
    fn bool(&mut self) -> Result<bool, Error> {
        Ok(self.u8()? != 0)
    }
    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let len = usize::try_from(self.r.read_bigsize().map_err(corrupt)?).map_err(corrupt)?;
        self.r.read_bytes(len).map_err(corrupt)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        self.r.read_array::<N>().map_err(corrupt)
    }
    fn point(&mut self) -> Result<PublicKey, Error> {
        PublicKey::from_slice(&self.array::<33>()?).map_err(corrupt)
    }
    fn sig(&mut self) -> Result<Signature, Error> {
        Signature::from_compact(&self.array::<64>()?).map_err(corrupt)
    }
    fn amount(&mut self) -> Result<Amount, Error> {
        Ok(Amount::from_sat(self.u64()?))
    }
    fn script(&mut self) -> Result<ScriptBuf, Error> {
        Ok(ScriptBuf::from_bytes(self.bytes()?.to_vec()))
    }
    fn opt_script(&mut self) -> Result<Option<ScriptBuf>, Error> {
        Ok(if self.bool()? { Some(self.script()?) } else { None })
    }
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.r.is_empty() {
            Ok(())
        } else {
            Err(Error::CorruptRecord)
        }
    }
}

fn put_constraints(e: &mut Enc, c: &Constraints) {
    e.amount(c.dust_limit);
    e.u64(c.max_htlc_value_in_flight.0);
    e.amount(c.channel_reserve);
    e.u64(c.htlc_minimum.0);
    e.u16(c.to_self_delay);
    e.u16(c.max_accepted_htlcs);
}

fn get_constraints(d: &mut Dec<'_>) -> Result<Constraints, Error> {
    Ok(Constraints {
        dust_limit: d.amount()?,
        max_htlc_value_in_flight: Msat(d.u64()?),
        channel_reserve: d.amount()?,
        htlc_minimum: Msat(d.u64()?),
        to_self_delay: d.u16()?,
        max_accepted_htlcs: d.u16()?,
    })
}

fn put_pubkeys(e: &mut Enc, k: &ChannelPublicKeys) {
    for p in [
        &k.funding_pubkey,
        &k.revocation_basepoint,
        &k.payment_basepoint,
        &k.delayed_payment_basepoint,
        &k.htlc_basepoint,
    ] {
        e.point(p);
    }
}

fn get_pubkeys(d: &mut Dec<'_>) -> Result<ChannelPublicKeys, Error> {
    Ok(ChannelPublicKeys {
        funding_pubkey: d.point()?,
        revocation_basepoint: d.point()?,
        payment_basepoint: d.point()?,
        delayed_payment_basepoint: d.point()?,
        htlc_basepoint: d.point()?,
    })
}

fn put_setup(e: &mut Enc, s: &ChannelSetup) {
    e.0.extend_from_slice(&s.channel_id.0);
    e.u8(u8::from(s.channel_type.anchors) | (u8::from(s.channel_type.scid_alias) << 1));
    let l = &s.limits;
    put_constraints(e, &l.holder);
    put_constraints(e, &l.counterparty);
    e.u8(u8::from(l.holder_is_funder));
    e.u64(l.max_dust_exposure.0);
    e.u32(l.feerate_range.0 .0);
    e.u32(l.feerate_range.1 .0);
    // No secrets: the key index, from which the node re-derives the signer.
    e.u32(s.signer.key_index());
    put_pubkeys(e, &s.holder_pubkeys);
    put_pubkeys(e, &s.counterparty_pubkeys);
    e.0.extend_from_slice(&s.funding.outpoint.txid.to_byte_array());
    e.u32(s.funding.outpoint.vout);
    e.amount(s.funding.amount);
    e.u64(s.obscuring_factor);
}

fn get_setup(d: &mut Dec<'_>) -> Result<ChannelSetup, Error> {
    let channel_id = ChannelId(d.array()?);
    let flags = d.u8()?;
    let channel_type = ChannelType { anchors: flags & 1 != 0, scid_alias: flags & 2 != 0 };
    let limits = ChannelLimits {
        holder: get_constraints(d)?,
        counterparty: get_constraints(d)?,
        holder_is_funder: d.bool()?,
        fee_model: FeeModel { anchors: channel_type.anchors },
        max_dust_exposure: Msat(d.u64()?),
        feerate_range: (FeeratePerKw(d.u32()?), FeeratePerKw(d.u32()?)),
    };
    let key_index = d.u32()?;
    let holder_pubkeys = get_pubkeys(d)?;
    let signer = d.signer.clone().ok_or(Error::SignerMismatch)?;
    if signer.key_index() != key_index || signer.public_keys() != holder_pubkeys {
        return Err(Error::SignerMismatch);
    }
    let counterparty_pubkeys = get_pubkeys(d)?;
    let outpoint = OutPoint { txid: Txid::from_byte_array(d.array()?), vout: d.u32()? };
    let funding = Funding {
        outpoint,
        amount: d.amount()?,
        local_pubkey: holder_pubkeys.funding_pubkey,
        remote_pubkey: counterparty_pubkeys.funding_pubkey,
    };
    let obscuring_factor = d.u64()?;
    Ok(ChannelSetup {
        channel_id,
        channel_type,
        limits,
        signer,
        holder_pubkeys,
        counterparty_pubkeys,
        funding,
        obscuring_factor,
    })
}

/// Writes `u`, proposed by us when `ours`: an add found in `table` as a reference to it.
fn put_update(e: &mut Enc, table: &HtlcTable<'_>, ours: bool, u: &Update) {
    if let Update::Add(h) = u {
        if table.get(&(ours, h.id)).is_some_and(|t| *t == h) {
            e.u8(IN_TABLE);
            e.u64(h.id);
            return;
        }
    }
    e.u8(INLINE);
    e.bytes(&u.to_message().encode());
}

fn get_update(d: &mut Dec<'_>, ours: bool) -> Result<Update, Error> {
    if d.version >= SHARED_HTLCS_VERSION {
        match d.u8()? {
            INLINE => {}
            IN_TABLE => {
                let id = d.u64()?;
                let htlc = d.htlcs.get(&(ours, id)).ok_or(Error::CorruptRecord)?;
                return Ok(Update::Add(htlc.clone()));
            }
            _ => return Err(Error::CorruptRecord),
        }
    }
    get_message_update(d)
}

fn get_message_update(d: &mut Dec<'_>) -> Result<Update, Error> {
    match Message::decode(d.bytes()?).map_err(corrupt)? {
        Message::UpdateAddHtlc(m) => Ok(Update::Add(m)),
        Message::UpdateFulfillHtlc(m) => Ok(Update::Fulfill(m)),
        Message::UpdateFailHtlc(m) => Ok(Update::Fail(m)),
        Message::UpdateFailMalformedHtlc(m) => Ok(Update::FailMalformed(m)),
        Message::UpdateFee(m) => Ok(Update::Fee(m)),
        _ => Err(Error::CorruptRecord),
    }
}

fn put_updates(e: &mut Enc, table: &HtlcTable<'_>, ours: bool, list: &[Update]) {
    e.u32(list.len() as u32);
    list.iter().for_each(|u| put_update(e, table, ours, u));
}

fn get_updates(d: &mut Dec<'_>, ours: bool) -> Result<Vec<Update>, Error> {
    (0..d.u32()?).map(|_| get_update(d, ours)).collect()
}

fn put_commitment(e: &mut Enc, table: &HtlcTable<'_>, c: &Commitment) {
    e.u64(c.number);
    let s = &c.spec;
    e.u64(s.to_holder.0);
    e.u64(s.to_counterparty.0);
    e.u32(s.feerate.0);
    for (ours, htlcs) in [(true, &s.offered), (false, &s.received)] {
        e.u32(htlcs.len() as u32);
        for h in htlcs.values() {
            if table.get(&(ours, h.id)).is_some_and(|t| *t == h) {
                e.u8(IN_TABLE);
                e.u64(h.id);
            } else {
                e.u8(INLINE);
                e.bytes(&Message::from(h.clone()).encode());
            }
        }
    }
}

fn get_commitment(d: &mut Dec<'_>) -> Result<Commitment, Error> {
    let number = d.u64()?;
    let mut spec = CommitmentSpec::new(Msat(d.u64()?), Msat(d.u64()?), FeeratePerKw(d.u32()?));
    for received in [false, true] {
        for update in get_updates(d, !received)? {
            let Update::Add(h) = update else { return Err(Error::CorruptRecord) };
            let map = if received { &mut spec.received } else { &mut spec.offered };
            map.insert(h.id, h);
        }
    }
    Ok(Commitment { number, spec })
}

/// Every distinct HTLC of the log, the first place it appears deciding its contents (a
/// later copy that differs, which no valid log has, is written out in full).
fn htlc_table(log: &UpdateLog) -> HtlcTable<'_> {
    let mut table = BTreeMap::new();
    let commitments = [
        Some(&log.holder_commitment),
        Some(&log.counterparty_commitment),
        log.counterparty_next.as_ref(),
    ];
    for spec in commitments.into_iter().flatten().map(|c| &c.spec) {
        for (ours, htlcs) in [(true, &spec.offered), (false, &spec.received)] {
            for h in htlcs.values() {
                table.entry((ours, h.id)).or_insert(h);
            }
        }
    }
    for (ours, c) in [(true, &log.holder), (false, &log.counterparty)] {
        for u in c.proposed.iter().chain(&c.signed).chain(&c.acked) {
            if let Update::Add(h) = u {
                table.entry((ours, h.id)).or_insert(h);
            }
        }
    }
    table
}

fn put_log(e: &mut Enc, log: &UpdateLog) {
    let table = htlc_table(log);
    e.u32(table.len() as u32);
    for ((ours, _), h) in &table {
        e.u8(u8::from(*ours));
        e.bytes(&Message::from((*h).clone()).encode());
    }
    for (ours, c) in [(true, &log.holder), (false, &log.counterparty)] {
        put_updates(e, &table, ours, &c.proposed);
        put_updates(e, &table, ours, &c.signed);
        put_updates(e, &table, ours, &c.acked);
    }
    put_commitment(e, &table, &log.holder_commitment);
    put_commitment(e, &table, &log.counterparty_commitment);
    match &log.counterparty_next {
        Some(c) => {
            e.u8(1);
            put_commitment(e, &table, c);
        }
        None => e.u8(0),
    }
    e.u64(log.next_holder_htlc_id);
    e.u64(log.next_counterparty_htlc_id);
    e.u32(log.fail_when_committed.len() as u32);
    log.fail_when_committed.iter().for_each(|id| e.u64(*id));
}

fn get_changes(d: &mut Dec<'_>, ours: bool) -> Result<Changes, Error> {
    Ok(Changes {
        proposed: get_updates(d, ours)?,
        signed: get_updates(d, ours)?,
        acked: get_updates(d, ours)?,
    })
}

fn get_htlc_table(d: &mut Dec<'_>) -> Result<(), Error> {
    let mut table = BTreeMap::new();
    for _ in 0..d.u32()? {
        let ours = match d.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Error::CorruptRecord),
        };
        let Update::Add(h) = get_message_update(d)? else { return Err(Error::CorruptRecord) };
        if table.insert((ours, h.id), h).is_some() {
            return Err(Error::CorruptRecord);
        }
    }
    d.htlcs = table;
    Ok(())
}

fn get_log(d: &mut Dec<'_>, limits: ChannelLimits) -> Result<UpdateLog, Error> {
    if d.version >= SHARED_HTLCS_VERSION {
        get_htlc_table(d)?;
    }
    let holder = get_changes(d, true)?;
    let counterparty = get_changes(d, false)?;
    let holder_commitment = Arc::new(get_commitment(d)?);
    let counterparty_commitment = Arc::new(get_commitment(d)?);
    let counterparty_next = if d.bool()? { Some(Arc::new(get_commitment(d)?)) } else { None };
    let next_holder_htlc_id = d.u64()?;
    let next_counterparty_htlc_id = d.u64()?;
    let fail_when_committed = (0..d.u32()?).map(|_| d.u64()).collect::<Result<_, _>>()?;
    Ok(UpdateLog {
        limits,
        holder,
        counterparty,
        holder_commitment,
        counterparty_commitment,
        counterparty_next,
        next_holder_htlc_id,
        next_counterparty_htlc_id,
        fail_when_committed,
    })
}

fn put_funded(e: &mut Enc, f: &Funded) {
    put_setup(e, &f.setup);
    put_log(e, &f.log);
    let secrets: Vec<_> = f.counterparty_secrets.entries().collect();
    e.u32(secrets.len() as u32);
    for (index, secret) in secrets {
        e.u64(index);
        e.0.extend_from_slice(&secret);
    }
    e.point(&f.counterparty_points.0);
    e.point(&f.counterparty_points.1);
    e.sig(&f.holder_signatures.commitment);
    e.u32(f.holder_signatures.htlcs.len() as u32);
    f.holder_signatures.htlcs.iter().for_each(|s| e.sig(s));
    e.u8(u8::from(f.last_sent == LastSent::CommitmentSigned));
    e.u64(f.short_channel_id.map_or(0, |s| s.0));
    e.u32(f.preimages.len() as u32);
    f.preimages.values().for_each(|p| e.0.extend_from_slice(&p.0));
}

fn get_funded(d: &mut Dec<'_>) -> Result<Funded, Error> {
    let mut setup = get_setup(d)?;
    let log = get_log(d, setup.limits)?;
    // Every holder commitment below the current one was revoked before this record was
    // handed out; a freshly derived signer learns that here.
    setup.signer.catch_up(log.holder_commitment.number)?;
    let entries = (0..d.u32()?)
        .map(|_| Ok((d.u64()?, d.array::<32>()?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let counterparty_secrets = ShachainStore::from_entries(entries).map_err(corrupt)?;
    let counterparty_points = (d.point()?, d.point()?);
    let commitment = d.sig()?;
    let htlcs = (0..d.u32()?).map(|_| d.sig()).collect::<Result<_, _>>()?;
    let last_sent = if d.bool()? { LastSent::CommitmentSigned } else { LastSent::RevokeAndAck };
    let scid = d.u64()?;
    let preimages: BTreeMap<_, _> = (0..d.u32()?)
        .map(|_| d.array::<32>().map(|p| (PaymentPreimage(p).hash(), PaymentPreimage(p))))
        .collect::<Result<_, _>>()?;
    Ok(Funded {
        secp: Secp256k1::new(),
        setup,
        log,
        counterparty_secrets,
        counterparty_points,
        holder_signatures: CommitmentSignatures { commitment, htlcs },
        last_sent,
        short_channel_id: (scid != 0).then_some(ShortChannelId(scid)),
        preimages,
        // A restored channel always starts disconnected.
        connected: false,
    })
}

fn put_info(e: &mut Enc, i: &FundingInfo) {
    e.u32(i.minimum_depth);
    e.script(&i.shutdown_script);
    e.opt_script(&i.counterparty_upfront_script);
    e.u32(i.closing_feerate_floor.0);
}

fn get_info(d: &mut Dec<'_>) -> Result<FundingInfo, Error> {
    Ok(FundingInfo {
        minimum_depth: d.u32()?,
        shutdown_script: d.script()?,
        counterparty_upfront_script: d.opt_script()?,
        closing_feerate_floor: FeeratePerKw(d.u32()?),
    })
}

fn put_reason(e: &mut Enc, r: &CloseReason) {
    e.u8(match r {
        CloseReason::Cooperative => 0,
        CloseReason::LocalForceClose => 1,
        CloseReason::ProtocolViolation(_) => 2,
        CloseReason::PeerError => 3,
        CloseReason::FundingSpent => 4,
        CloseReason::Forgotten => 5,
        CloseReason::DataLoss => 6,
    });
    if let CloseReason::ProtocolViolation(error) = r {
        e.bytes(error.to_string().as_bytes());
    }
}

fn get_reason(d: &mut Dec<'_>) -> Result<CloseReason, Error> {
    Ok(match d.u8()? {
        0 => CloseReason::Cooperative,
        1 => CloseReason::LocalForceClose,
        // The violation's details are kept as text only; the closed channel needs no more.
        2 => {
            d.bytes()?;
            CloseReason::PeerError
        }
        3 => CloseReason::PeerError,
        4 => CloseReason::FundingSpent,
        5 => CloseReason::Forgotten,
        6 => CloseReason::DataLoss,
        _ => return Err(Error::CorruptRecord),
    })
}

/// Phase tags.
const UNFUNDED: u8 = 0;
const AWAITING_CONFIRMATION: u8 = 1;
const NORMAL: u8 = 2;
const SHUTTING_DOWN: u8 = 3;
const NEGOTIATING: u8 = 4;
const CLOSED: u8 = 5;

/// Encodes a channel (the record body).
pub(crate) fn encode_channel(e: &mut Enc, channel: &Channel) {
    match channel {
        Channel::AwaitingConfirmation(p) => {
            e.u8(AWAITING_CONFIRMATION);
            put_funded(e, &p.funded);
            put_info(e, &p.info);
            e.u8(u8::from(p.ready_sent) | (u8::from(p.ready_received) << 1));
            e.u8(u8::from(p.waiting_since.is_some()));
            e.u32(p.waiting_since.map_or(0, |h| h.0));
        }
        Channel::Normal(p) => {
            e.u8(NORMAL);
            put_funded(e, &p.funded);
            put_info(e, &p.info);
        }
        Channel::ShuttingDown(p) => {
            e.u8(SHUTTING_DOWN);
            put_funded(e, &p.funded);
            put_info(e, &p.info);
            e.opt_script(&p.counterparty_script);
        }
        Channel::Negotiating(p) => {
            // Negotiation restarts after a restart (BOLT 2): keep what it needs.
            e.u8(NEGOTIATING);
            put_funded(e, &p.funded);
            put_info(e, &p.info);
            e.script(&p.scripts.counterparty);
        }
        Channel::Closed(p) => {
            e.u8(CLOSED);
            e.0.extend_from_slice(&p.channel_id.0);
            put_reason(e, &p.reason);
        }
        // BOLT 2: a channel not yet funded is forgotten on disconnection.
        unfunded => {
            e.u8(UNFUNDED);
            e.0.extend_from_slice(&unfunded.channel_id().0);
        }
    }
}

/// Decodes a channel (the record body).
pub(crate) fn decode_channel(d: &mut Dec<'_>) -> Result<Channel, Error> {
    Ok(match d.u8()? {
        UNFUNDED => Channel::Closed(Closed {
            channel_id: ChannelId(d.array()?),
            reason: CloseReason::Forgotten,
        }),
        AWAITING_CONFIRMATION => {
            let funded = get_funded(d)?;
            let info = get_info(d)?;
            let flags = d.u8()?;
            let waiting = d.u8()?;
            let since = d.u32()?;
            let waiting_since = match waiting {
                0 => None,
                1 => Some(shandian_types::BlockHeight(since)),
                _ => return Err(Error::CorruptRecord),
            };
            Channel::AwaitingConfirmation(AwaitingConfirmation {
                waiting_since,
                funded,
                info,
                ready_sent: flags & 1 != 0,
                ready_received: flags & 2 != 0,
            })
        }
        NORMAL => Channel::Normal(Normal { funded: get_funded(d)?, info: get_info(d)? }),
        SHUTTING_DOWN => Channel::ShuttingDown(ShuttingDown {
            funded: get_funded(d)?,
            info: get_info(d)?,
            counterparty_script: d.opt_script()?,
        }),
        NEGOTIATING => {
            let funded = get_funded(d)?;
            let info = get_info(d)?;
            let counterparty = d.script()?;
            let feerate = funded.log.holder_commitment.spec.feerate;
            let range: FeeRange = crate::closing::fee_range(feerate, info.closing_feerate_floor);
            let scripts = Scripts { holder: info.shutdown_script.clone(), counterparty };
            Channel::Negotiating(Negotiating { funded, info, scripts, range, last_sent: None })
        }
        CLOSED => {
            Channel::Closed(Closed { channel_id: ChannelId(d.array()?), reason: get_reason(d)? })
        }
        _ => return Err(Error::CorruptRecord),
    })
}
