//! Interoperability cross-check against LDK (`lightning`, a dev-dependency only): every
//! message we encode is decoded by LDK, key fields are compared one by one (so two same-sized
//! fields in the wrong order would be caught, which a round trip through our own code cannot
//! see), and LDK's re-encoding decodes back to our message.
//!
//! LDK 0.1 does not know some newer TLVs (attribution data, the splicing TLVs, gossip query
//! extensions); they are odd, LDK ignores them, and they are cleared before comparing.

mod strategies;

use lightning::ln::msgs;
use lightning::util::ser::{Readable, Writeable};
use proptest::prelude::*;
use shandian_wire::*;
use strategies::*;

/// LDK keeps feature bits little-endian; ours are compared big-endian, as on the wire.
fn be(le: &[u8]) -> Vec<u8> {
    let mut be: Vec<u8> = le.iter().rev().copied().collect();
    while be.first() == Some(&0) {
        be.remove(0);
    }
    be
}

/// Decodes our encoding of `message` with LDK's reader for `L`.
fn ldk<L: Readable>(message: &Message) -> L {
    let bytes = message.encode();
    let mut payload = &bytes[2..];
    L::read(&mut payload).unwrap_or_else(|e| panic!("LDK cannot decode our {message:?}: {e:?}"))
}

/// Our decoding of LDK's encoding of `l`, as a message of `msg_type`.
fn back<L: Writeable>(msg_type: u16, l: &L) -> Message {
    let bytes = [msg_type.to_be_bytes().as_slice(), &l.encode()].concat();
    Message::decode(&bytes)
        .unwrap_or_else(|e| panic!("we cannot decode LDK's type {msg_type}: {e}"))
}

/// Clears fields LDK 0.1 does not model, and makes values LDK cannot represent (bools held in
/// a byte, compressed encodings it refuses) into ones it can.
fn normalise(message: Message) -> Option<Message> {
    let message = match message {
        Message::Error(m) if String::from_utf8(m.data.clone()).is_err() => return None,
        Message::Warning(m) if String::from_utf8(m.data.clone()).is_err() => return None,
        Message::UpdateFulfillHtlc(m) => UpdateFulfillHtlc { attribution_data: None, ..m }.into(),
        Message::UpdateFailHtlc(m) => UpdateFailHtlc { attribution_data: None, ..m }.into(),
        Message::CommitmentSigned(m) => CommitmentSigned { funding_txid: None, ..m }.into(),
        Message::ChannelReestablish(m) => {
            ChannelReestablish { next_funding: None, my_current_funding_locked: None, ..m }.into()
        }
        Message::QueryShortChannelIds(m) => {
            m.short_channel_ids.uncompressed()?;
            QueryShortChannelIds { query_flags: None, ..m }.into()
        }
        Message::QueryChannelRange(m) => QueryChannelRange { query_option: None, ..m }.into(),
        Message::ReplyChannelRange(m) => {
            m.short_channel_ids.uncompressed()?;
            ReplyChannelRange {
                sync_complete: m.sync_complete & 1,
                timestamps: None,
                checksums: None,
                ..m
            }
            .into()
        }
        Message::ReplyShortChannelIdsEnd(m) => {
            ReplyShortChannelIdsEnd { full_information: m.full_information & 1, ..m }.into()
        }
        // BOLT 7 says receivers ignore `must_be_one`; LDK refuses an update without it.
        Message::ChannelUpdate(m) => {
            ChannelUpdate { message_flags: m.message_flags | 1, ..m }.into()
        }
        Message::UnknownOdd { .. } => return None,
        other => other,
    };
    Some(message)
}

fn check_bolt1(message: &Message) -> bool {
    match message {
        Message::Init(m) => {
            let l: msgs::Init = ldk(message);
            // LDK ORs `globalfeatures` into `features` on read (BOLT 1).
            assert_eq!(
                l.features.le_flags(),
                m.combined_features().to_be_bytes().iter().rev().copied().collect::<Vec<_>>()
            );
            assert_eq!(l.networks, m.networks);
            assert_eq!(l.remote_network_address.is_some(), m.remote_addr.is_some());
            let Message::Init(b) = back(16, &l) else { panic!() };
            assert_eq!(
                (b.combined_features(), &b.networks, &b.remote_addr),
                (m.combined_features(), &m.networks, &m.remote_addr)
            );
        }
        Message::Error(m) => {
            let l: msgs::ErrorMessage = ldk(message);
            assert_eq!((l.channel_id.0, l.data.as_bytes()), (m.channel_id.0, m.data.as_slice()));
            assert_eq!(back(17, &l), *message);
        }
        Message::Warning(m) => {
            let l: msgs::WarningMessage = ldk(message);
            assert_eq!((l.channel_id.0, l.data.as_bytes()), (m.channel_id.0, m.data.as_slice()));
            assert_eq!(back(1, &l), *message);
        }
        Message::Ping(m) => {
            let l: msgs::Ping = ldk(message);
            assert_eq!((l.ponglen, usize::from(l.byteslen)), (m.num_pong_bytes, m.ignored.len()));
        }
        Message::Pong(m) => {
            let l: msgs::Pong = ldk(message);
            assert_eq!(usize::from(l.byteslen), m.ignored.len());
        }
        _ => return false,
    }
    true
}

fn check_opening(message: &Message) -> bool {
    match message {
        Message::OpenChannel(m) => {
            let l: msgs::OpenChannel = ldk(message);
            let c = &l.common_fields;
            assert_eq!(c.chain_hash, m.chain_hash);
            assert_eq!(c.temporary_channel_id.0, m.temporary_channel_id.0);
            assert_eq!(
                (
                    c.funding_satoshis,
                    l.push_msat,
                    c.dust_limit_satoshis,
                    c.max_htlc_value_in_flight_msat
                ),
                (
                    m.funding_satoshis.to_sat(),
                    m.push_msat.0,
                    m.dust_limit_satoshis.to_sat(),
                    m.max_htlc_value_in_flight_msat.0
                )
            );
            assert_eq!(
                (l.channel_reserve_satoshis, c.htlc_minimum_msat),
                (m.channel_reserve_satoshis.to_sat(), m.htlc_minimum_msat.0)
            );
            assert_eq!(c.commitment_feerate_sat_per_1000_weight, m.feerate_per_kw.0);
            assert_eq!(
                (c.to_self_delay, c.max_accepted_htlcs, c.channel_flags),
                (m.to_self_delay, m.max_accepted_htlcs, m.channel_flags)
            );
            let k = &m.keys;
            assert_eq!(
                [
                    c.funding_pubkey,
                    c.revocation_basepoint,
                    c.payment_basepoint,
                    c.delayed_payment_basepoint,
                    c.htlc_basepoint,
                    c.first_per_commitment_point
                ],
                [
                    k.funding_pubkey,
                    k.revocation_basepoint,
                    k.payment_basepoint,
                    k.delayed_payment_basepoint,
                    k.htlc_basepoint,
                    k.first_per_commitment_point
                ]
            );
            assert_eq!(c.shutdown_scriptpubkey, m.tlvs.upfront_shutdown_script);
            assert_eq!(
                c.channel_type.as_ref().map(|t| be(t.le_flags())),
                m.tlvs.channel_type.as_ref().map(|t| t.to_be_bytes())
            );
            assert_eq!(back(32, &l), *message);
        }
        Message::AcceptChannel(m) => {
            let l: msgs::AcceptChannel = ldk(message);
            let c = &l.common_fields;
            assert_eq!(c.temporary_channel_id.0, m.temporary_channel_id.0);
            assert_eq!(
                (
                    c.dust_limit_satoshis,
                    c.max_htlc_value_in_flight_msat,
                    l.channel_reserve_satoshis,
                    c.htlc_minimum_msat
                ),
                (
                    m.dust_limit_satoshis.to_sat(),
                    m.max_htlc_value_in_flight_msat.0,
                    m.channel_reserve_satoshis.to_sat(),
                    m.htlc_minimum_msat.0
                )
            );
            assert_eq!(
                (c.minimum_depth, c.to_self_delay, c.max_accepted_htlcs),
                (m.minimum_depth, m.to_self_delay, m.max_accepted_htlcs)
            );
            let k = &m.keys;
            assert_eq!(
                [
                    c.funding_pubkey,
                    c.revocation_basepoint,
                    c.payment_basepoint,
                    c.delayed_payment_basepoint,
                    c.htlc_basepoint,
                    c.first_per_commitment_point
                ],
                [
                    k.funding_pubkey,
                    k.revocation_basepoint,
                    k.payment_basepoint,
                    k.delayed_payment_basepoint,
                    k.htlc_basepoint,
                    k.first_per_commitment_point
                ]
            );
            assert_eq!(c.shutdown_scriptpubkey, m.tlvs.upfront_shutdown_script);
            assert_eq!(back(33, &l), *message);
        }
        Message::FundingCreated(m) => {
            let l: msgs::FundingCreated = ldk(message);
            assert_eq!(
                (l.temporary_channel_id.0, l.funding_txid, l.funding_output_index, l.signature),
                (m.temporary_channel_id.0, m.funding_txid, m.funding_output_index, m.signature)
            );
            assert_eq!(back(34, &l), *message);
        }
        Message::FundingSigned(m) => {
            let l: msgs::FundingSigned = ldk(message);
            assert_eq!((l.channel_id.0, l.signature), (m.channel_id.0, m.signature));
            assert_eq!(back(35, &l), *message);
        }
        Message::ChannelReady(m) => {
            let l: msgs::ChannelReady = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.next_per_commitment_point),
                (m.channel_id.0, m.second_per_commitment_point)
            );
            assert_eq!(l.short_channel_id_alias, m.short_channel_id_alias.map(|s| s.0));
            assert_eq!(back(36, &l), *message);
        }
        Message::Shutdown(m) => {
            let l: msgs::Shutdown = ldk(message);
            assert_eq!((l.channel_id.0, &l.scriptpubkey), (m.channel_id.0, &m.scriptpubkey));
            assert_eq!(back(38, &l), *message);
        }
        Message::ClosingSigned(m) => {
            let l: msgs::ClosingSigned = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.fee_satoshis, l.signature),
                (m.channel_id.0, m.fee_satoshis.to_sat(), m.signature)
            );
            assert_eq!(
                l.fee_range.as_ref().map(|r| (r.min_fee_satoshis, r.max_fee_satoshis)),
                m.fee_range.map(|r| (r.min_fee_satoshis.to_sat(), r.max_fee_satoshis.to_sat()))
            );
            assert_eq!(back(39, &l), *message);
        }
        _ => return false,
    }
    true
}

fn check_updates(message: &Message) -> bool {
    match message {
        Message::UpdateAddHtlc(m) => {
            let l: msgs::UpdateAddHTLC = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.htlc_id, l.amount_msat),
                (m.channel_id.0, m.id, m.amount_msat.0)
            );
            assert_eq!(
                (l.payment_hash.0, l.cltv_expiry, l.blinding_point),
                (m.payment_hash.0, m.cltv_expiry.0, m.blinding_point)
            );
            let onion = m.onion_routing_packet.as_bytes();
            assert_eq!(
                (l.onion_routing_packet.version, &l.onion_routing_packet.hmac[..]),
                (onion[0], &onion[1334..])
            );
            assert_eq!(&l.onion_routing_packet.hop_data[..], &onion[34..1334]);
            if l.onion_routing_packet.public_key.is_ok() {
                assert_eq!(back(128, &l), *message);
            }
        }
        Message::UpdateFulfillHtlc(m) => {
            let l: msgs::UpdateFulfillHTLC = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.htlc_id, l.payment_preimage.0),
                (m.channel_id.0, m.id, m.payment_preimage.0)
            );
            assert_eq!(back(130, &l), *message);
        }
        Message::UpdateFailHtlc(m) => {
            let l: msgs::UpdateFailHTLC = ldk(message);
            assert_eq!((l.channel_id.0, l.htlc_id), (m.channel_id.0, m.id));
            assert_eq!(back(131, &l), *message);
        }
        Message::UpdateFailMalformedHtlc(m) => {
            let l: msgs::UpdateFailMalformedHTLC = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.htlc_id, l.failure_code),
                (m.channel_id.0, m.id, m.failure_code)
            );
            assert_eq!(back(135, &l), *message);
        }
        Message::CommitmentSigned(m) => {
            let l: msgs::CommitmentSigned = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.signature, &l.htlc_signatures),
                (m.channel_id.0, m.signature, &m.htlc_signatures)
            );
            assert_eq!(back(132, &l), *message);
        }
        Message::RevokeAndAck(m) => {
            let l: msgs::RevokeAndACK = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.per_commitment_secret, l.next_per_commitment_point),
                (m.channel_id.0, m.per_commitment_secret, m.next_per_commitment_point)
            );
            assert_eq!(back(133, &l), *message);
        }
        Message::UpdateFee(m) => {
            let l: msgs::UpdateFee = ldk(message);
            assert_eq!((l.channel_id.0, l.feerate_per_kw), (m.channel_id.0, m.feerate_per_kw.0));
            assert_eq!(back(134, &l), *message);
        }
        Message::ChannelReestablish(m) => {
            let l: msgs::ChannelReestablish = ldk(message);
            assert_eq!(l.channel_id.0, m.channel_id.0);
            // LDK names them from the sender's view: next local commitment / next remote
            // revocation (BOLT 2 `next_commitment_number` / `next_revocation_number`).
            assert_eq!(
                (l.next_local_commitment_number, l.next_remote_commitment_number),
                (m.next_commitment_number, m.next_revocation_number)
            );
            assert_eq!(
                (l.your_last_per_commitment_secret, l.my_current_per_commitment_point),
                (m.your_last_per_commitment_secret, m.my_current_per_commitment_point)
            );
            assert_eq!(back(136, &l), *message);
        }
        _ => return false,
    }
    true
}

fn check_gossip(message: &Message) -> bool {
    match message {
        Message::AnnouncementSignatures(m) => {
            let l: msgs::AnnouncementSignatures = ldk(message);
            assert_eq!(
                (l.channel_id.0, l.short_channel_id, l.node_signature, l.bitcoin_signature),
                (m.channel_id.0, m.short_channel_id.0, m.node_signature, m.bitcoin_signature)
            );
            assert_eq!(back(259, &l), *message);
        }
        Message::ChannelAnnouncement(m) => {
            let l: msgs::ChannelAnnouncement = ldk(message);
            assert_eq!(
                [
                    l.node_signature_1,
                    l.node_signature_2,
                    l.bitcoin_signature_1,
                    l.bitcoin_signature_2
                ],
                [
                    m.node_signature_1,
                    m.node_signature_2,
                    m.bitcoin_signature_1,
                    m.bitcoin_signature_2
                ]
            );
            let c = &l.contents;
            assert_eq!(
                (c.chain_hash, c.short_channel_id, &c.excess_data),
                (m.chain_hash, m.short_channel_id.0, &m.excess_data)
            );
            assert_eq!(
                (c.node_id_1.as_slice(), c.node_id_2.as_slice()),
                (&m.node_id_1.as_bytes()[..], &m.node_id_2.as_bytes()[..])
            );
            assert_eq!(
                (c.bitcoin_key_1.as_slice(), c.bitcoin_key_2.as_slice()),
                (&m.bitcoin_key_1.serialize()[..], &m.bitcoin_key_2.serialize()[..])
            );
            assert_eq!(back(256, &l), *message);
        }
        Message::NodeAnnouncement(m) => {
            let l: msgs::NodeAnnouncement = ldk(message);
            let c = &l.contents;
            assert_eq!(
                (l.signature, c.timestamp, c.rgb, c.alias.0),
                (m.signature, m.timestamp, m.rgb_color, m.alias)
            );
            assert_eq!(c.node_id.as_slice(), &m.node_id.as_bytes()[..]);
            let known =
                m.addresses.iter().filter(|a| !matches!(a, NetAddress::Unknown { .. })).count();
            assert_eq!(c.addresses.len(), known);
            assert_eq!(c.excess_data, m.excess_data);
            assert_eq!(back(257, &l), *message);
        }
        Message::ChannelUpdate(m) => {
            let l: msgs::ChannelUpdate = ldk(message);
            let c = &l.contents;
            assert_eq!(
                (l.signature, c.chain_hash, c.short_channel_id, c.timestamp),
                (m.signature, m.chain_hash, m.short_channel_id.0, m.timestamp)
            );
            assert_eq!(
                (c.message_flags, c.channel_flags, c.cltv_expiry_delta),
                (m.message_flags, m.channel_flags, m.cltv_expiry_delta.0)
            );
            assert_eq!(
                (
                    c.htlc_minimum_msat,
                    c.fee_base_msat,
                    c.fee_proportional_millionths,
                    c.htlc_maximum_msat
                ),
                (
                    m.htlc_minimum_msat.0,
                    m.fee_base_msat,
                    m.fee_proportional_millionths,
                    m.htlc_maximum_msat.0
                )
            );
            assert_eq!(c.excess_data, m.excess_data);
            assert_eq!(back(258, &l), *message);
        }
        Message::QueryShortChannelIds(m) => {
            let l: msgs::QueryShortChannelIds = ldk(message);
            let ids: Vec<u64> =
                m.short_channel_ids.uncompressed().unwrap().iter().map(|s| s.0).collect();
            assert_eq!((l.chain_hash, &l.short_channel_ids), (m.chain_hash, &ids));
            assert_eq!(back(261, &l), *message);
        }
        Message::ReplyShortChannelIdsEnd(m) => {
            let l: msgs::ReplyShortChannelIdsEnd = ldk(message);
            assert_eq!((l.chain_hash, l.full_information), (m.chain_hash, m.full_information == 1));
            assert_eq!(back(262, &l), *message);
        }
        Message::QueryChannelRange(m) => {
            let l: msgs::QueryChannelRange = ldk(message);
            assert_eq!(
                (l.chain_hash, l.first_blocknum, l.number_of_blocks),
                (m.chain_hash, m.first_blocknum, m.number_of_blocks)
            );
            assert_eq!(back(263, &l), *message);
        }
        Message::ReplyChannelRange(m) => {
            let l: msgs::ReplyChannelRange = ldk(message);
            let ids: Vec<u64> =
                m.short_channel_ids.uncompressed().unwrap().iter().map(|s| s.0).collect();
            assert_eq!(
                (l.chain_hash, l.first_blocknum, l.number_of_blocks),
                (m.chain_hash, m.first_blocknum, m.number_of_blocks)
            );
            assert_eq!((l.sync_complete, &l.short_channel_ids), (m.sync_complete == 1, &ids));
            assert_eq!(back(264, &l), *message);
        }
        Message::GossipTimestampFilter(m) => {
            let l: msgs::GossipTimestampFilter = ldk(message);
            assert_eq!(
                (l.chain_hash, l.first_timestamp, l.timestamp_range),
                (m.chain_hash, m.first_timestamp, m.timestamp_range)
            );
            assert_eq!(back(265, &l), *message);
        }
        _ => return false,
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn ldk_agrees_with_every_message(message in message()) {
        if let Some(message) = normalise(message) {
            let checked = check_bolt1(&message)
                || check_opening(&message)
                || check_updates(&message)
                || check_gossip(&message);
            prop_assert!(checked, "no LDK check for {:?}", message.msg_type());
        }
    }
}

/// LDK's own `init` (default configuration) decodes here, negotiates with the features the
/// node advertises by default (the ASSUMED BOLT 9 bits, optional), and passes our dependency
/// check; and an `update_add_htlc` carrying LDK's odd `skimmed_fee_msat` TLV (65537) decodes
/// with the TLV ignored.
#[test]
fn ldk_init_negotiates_and_ldk_only_tlvs_are_ignored() {
    use lightning::ln::channelmanager::provided_init_features;
    use lightning::util::config::UserConfig;
    use shandian_types::Features;

    let ldk_features = provided_init_features(&UserConfig::default());
    let ldk_init =
        msgs::Init { features: ldk_features, networks: None, remote_network_address: None };
    let Message::Init(theirs) = back(16, &ldk_init) else { panic!("not init") };
    let remote = theirs.combined_features();
    assert!(remote.unknown_required_bits().is_empty(), "{remote:?}");
    remote.check_dependencies().unwrap();
    let ours = Init::new(Features::from_bits([1, 9, 13, 15, 45]));
    let agreed = ours.negotiate(&theirs).unwrap();
    for bit in [
        features::bits::VAR_ONION_OPTIN,
        features::bits::OPTION_STATIC_REMOTEKEY,
        features::bits::PAYMENT_SECRET,
        features::bits::OPTION_CHANNEL_TYPE,
    ] {
        assert!(agreed.offers(bit), "bit {bit} not negotiated: {agreed:?}");
    }
    // Without var_onion_optin, which LDK requires (bit 8), negotiation fails naming it.
    assert!(remote.requires_feature(features::bits::VAR_ONION_OPTIN));
    {
        let lacking = Init::new(Features::from_bits([1, 13, 15, 45]));
        assert!(matches!(
            lacking.negotiate(&theirs),
            Err(FeatureError::RemoteRequires { name: Some("var_onion_optin"), .. })
        ));
    }

    let add = msgs::UpdateAddHTLC {
        channel_id: lightning::ln::types::ChannelId([3; 32]),
        htlc_id: 7,
        amount_msat: 5000,
        payment_hash: lightning::types::payment::PaymentHash([4; 32]),
        cltv_expiry: 144,
        skimmed_fee_msat: Some(12),
        onion_routing_packet: msgs::OnionPacket {
            version: 0,
            public_key: Ok(ldk_init_key()),
            hop_data: [9; 1300],
            hmac: [8; 32],
        },
        blinding_point: Some(ldk_init_key()),
    };
    let Message::UpdateAddHtlc(ours) = back(128, &add) else { panic!("not update_add_htlc") };
    assert_eq!((ours.id, ours.amount_msat.0, ours.cltv_expiry.0), (7, 5000, 144));
    assert_eq!(ours.blinding_point, Some(ldk_init_key()));
}

fn ldk_init_key() -> bitcoin::secp256k1::PublicKey {
    let secp = bitcoin::secp256k1::Secp256k1::new();
    bitcoin::secp256k1::SecretKey::from_slice(&[7; 32]).unwrap().public_key(&secp)
}
