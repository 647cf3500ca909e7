//! Proptest strategies for every message, shared by the round-trip and LDK interop tests.
#![allow(dead_code)] // each test binary uses a different subset

use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{Amount, ScriptBuf, Txid};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use shandian_types::*;
use shandian_wire::*;

pub fn point() -> impl Strategy<Value = PublicKey> {
    (any::<bool>(), any::<[u8; 32]>()).prop_filter_map("not on curve", |(odd, x)| {
        let mut bytes = [0u8; 33];
        bytes[0] = if odd { 3 } else { 2 };
        bytes[1..].copy_from_slice(&x);
        PublicKey::from_slice(&bytes).ok()
    })
}

pub fn node_id() -> impl Strategy<Value = NodeId> {
    point().prop_map(NodeId::from)
}

pub fn sig() -> impl Strategy<Value = Signature> {
    any::<[u8; 32]>().prop_flat_map(|r| {
        any::<[u8; 32]>().prop_filter_map("not below the order", move |s| {
            Signature::from_compact(&[r, s].concat()).ok()
        })
    })
}

pub fn features() -> impl Strategy<Value = Features> {
    btree_set(0usize..80, 0..6).prop_map(Features::from_bits)
}

pub fn chain() -> impl Strategy<Value = ChainHash> {
    any::<[u8; 32]>().prop_map(ChainHash::from)
}

pub fn cid() -> impl Strategy<Value = ChannelId> {
    any::<[u8; 32]>().prop_map(ChannelId)
}

pub fn txid() -> impl Strategy<Value = Txid> {
    any::<[u8; 32]>().prop_map(Txid::from_byte_array)
}

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

pub fn sat() -> impl Strategy<Value = Amount> {
    any::<u64>().prop_map(Amount::from_sat)
}

pub fn msat() -> impl Strategy<Value = Msat> {
    any::<u64>().prop_map(Msat)
}

pub fn scid() -> impl Strategy<Value = ShortChannelId> {
    any::<u64>().prop_map(ShortChannelId)
}

pub fn known_address() -> impl Strategy<Value = NetAddress> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(a, port)| NetAddress::Ipv4 { addr: a.into(), port }),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(a, port)| NetAddress::Ipv6 { addr: a.into(), port }),
        (any::<[u8; 10]>(), any::<u16>())
            .prop_map(|(onion, port)| NetAddress::TorV2 { onion, port }),
        (vec(any::<u8>(), 35), any::<u16>())
            .prop_map(|(o, port)| NetAddress::TorV3 { onion: o.try_into().unwrap(), port }),
        ("[a-z0-9.-]{0,40}", any::<u16>())
            .prop_map(|(hostname, port)| NetAddress::Dns { hostname, port }),
    ]
}

pub fn address_list() -> impl Strategy<Value = Vec<NetAddress>> {
    let unknown =
        (6u8.., bytes(20)).prop_map(|(addr_type, data)| NetAddress::Unknown { addr_type, data });
    (vec(known_address(), 0..4), proptest::option::of(unknown)).prop_map(|(mut list, tail)| {
        list.extend(tail);
        list
    })
}

pub fn encoded<T: std::fmt::Debug + Clone + 'static>(
    item: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = EncodedList<T>> {
    prop_oneof![
        vec(item, 0..8).prop_map(EncodedList::Uncompressed),
        (1u8.., bytes(30))
            .prop_map(|(encoding_type, data)| EncodedList::Unsupported { encoding_type, data }),
    ]
}

pub fn keys() -> impl Strategy<Value = ChannelKeys> {
    (point(), point(), point(), point(), point(), point()).prop_map(|(a, b, c, d, e, f)| {
        ChannelKeys {
            funding_pubkey: a,
            revocation_basepoint: b,
            payment_basepoint: c,
            delayed_payment_basepoint: d,
            htlc_basepoint: e,
            first_per_commitment_point: f,
        }
    })
}

pub fn opening_tlvs() -> impl Strategy<Value = OpeningTlvs> {
    (proptest::option::of(bytes(40)), proptest::option::of(features())).prop_map(|(s, t)| {
        OpeningTlvs { upfront_shutdown_script: s.map(ScriptBuf::from_bytes), channel_type: t }
    })
}

pub fn attribution() -> impl Strategy<Value = Option<AttributionData>> {
    proptest::option::of((any::<[u32; 20]>(), vec(any::<[u8; 4]>(), 210)).prop_map(|(t, h)| {
        AttributionData { htlc_hold_times: t, truncated_hmacs: Box::new(h.try_into().unwrap()) }
    }))
}

pub fn bolt1() -> Vec<BoxedStrategy<Message>> {
    vec![
        (
            features(),
            features(),
            proptest::option::of(vec(chain(), 0..3)),
            proptest::option::of(known_address()),
        )
            .prop_map(|(global_features, features, networks, remote_addr)| {
                Message::Init(Init { global_features, features, networks, remote_addr })
            })
            .boxed(),
        (cid(), bytes(100))
            .prop_map(|(channel_id, data)| ErrorMessage { channel_id, data }.into())
            .boxed(),
        (cid(), bytes(100))
            .prop_map(|(channel_id, data)| Warning { channel_id, data }.into())
            .boxed(),
        (any::<u16>(), bytes(100))
            .prop_map(|(num_pong_bytes, ignored)| Ping { num_pong_bytes, ignored }.into())
            .boxed(),
        bytes(100).prop_map(|ignored| Pong { ignored }.into()).boxed(),
        any::<u16>()
            .prop_map(|t| Message::UnknownOdd { msg_type: t | 1 })
            .prop_filter("known type", |m| {
                !matches!(m.msg_type(), 1 | 17 | 19 | 259 | 261 | 263 | 265)
            })
            .boxed(),
    ]
}

pub fn opening() -> Vec<BoxedStrategy<Message>> {
    vec![
        (
            (chain(), cid(), sat(), msat(), sat(), msat(), sat(), msat()),
            (any::<u32>(), any::<u16>(), any::<u16>(), keys(), any::<u8>(), opening_tlvs()),
        )
            .prop_map(|((c, t, f, p, d, m, r, h), (fee, del, max, keys, flags, tlvs))| {
                OpenChannel {
                    chain_hash: c,
                    temporary_channel_id: t,
                    funding_satoshis: f,
                    push_msat: p,
                    dust_limit_satoshis: d,
                    max_htlc_value_in_flight_msat: m,
                    channel_reserve_satoshis: r,
                    htlc_minimum_msat: h,
                    feerate_per_kw: FeeratePerKw(fee),
                    to_self_delay: del,
                    max_accepted_htlcs: max,
                    keys,
                    channel_flags: flags,
                    tlvs,
                }
                .into()
            })
            .boxed(),
        (
            (cid(), sat(), msat(), sat(), msat(), any::<u32>()),
            (any::<u16>(), any::<u16>(), keys(), opening_tlvs()),
        )
            .prop_map(|((t, d, m, r, h, depth), (del, max, keys, tlvs))| {
                AcceptChannel {
                    temporary_channel_id: t,
                    dust_limit_satoshis: d,
                    max_htlc_value_in_flight_msat: m,
                    channel_reserve_satoshis: r,
                    htlc_minimum_msat: h,
                    minimum_depth: depth,
                    to_self_delay: del,
                    max_accepted_htlcs: max,
                    keys,
                    tlvs,
                }
                .into()
            })
            .boxed(),
        (cid(), txid(), any::<u16>(), sig())
            .prop_map(|(t, f, i, s)| {
                FundingCreated {
                    temporary_channel_id: t,
                    funding_txid: f,
                    funding_output_index: i,
                    signature: s,
                }
                .into()
            })
            .boxed(),
        (cid(), sig())
            .prop_map(|(channel_id, signature)| FundingSigned { channel_id, signature }.into())
            .boxed(),
        (cid(), point(), proptest::option::of(scid()))
            .prop_map(|(channel_id, p, alias)| {
                ChannelReady {
                    channel_id,
                    second_per_commitment_point: p,
                    short_channel_id_alias: alias,
                }
                .into()
            })
            .boxed(),
        (cid(), bytes(60))
            .prop_map(|(channel_id, s)| {
                Shutdown { channel_id, scriptpubkey: ScriptBuf::from_bytes(s) }.into()
            })
            .boxed(),
        (cid(), sat(), sig(), proptest::option::of((sat(), sat())))
            .prop_map(|(channel_id, fee, signature, range)| {
                ClosingSigned {
                    channel_id,
                    fee_satoshis: fee,
                    signature,
                    fee_range: range
                        .map(|(a, b)| FeeRange { min_fee_satoshis: a, max_fee_satoshis: b }),
                }
                .into()
            })
            .boxed(),
    ]
}

pub fn updates() -> Vec<BoxedStrategy<Message>> {
    vec![
        (
            cid(),
            any::<u64>(),
            msat(),
            any::<[u8; 32]>(),
            any::<u32>(),
            any::<u8>(),
            proptest::option::of(point()),
        )
            .prop_map(|(channel_id, id, amount_msat, h, cltv, fill, blinding_point)| {
                UpdateAddHtlc {
                    channel_id,
                    id,
                    amount_msat,
                    payment_hash: PaymentHash(h),
                    cltv_expiry: CltvExpiry(cltv),
                    onion_routing_packet: OnionPacket::new([fill; ONION_PACKET_LEN]),
                    blinding_point,
                }
                .into()
            })
            .boxed(),
        (cid(), any::<u64>(), any::<[u8; 32]>(), attribution())
            .prop_map(|(channel_id, id, p, attribution_data)| {
                UpdateFulfillHtlc {
                    channel_id,
                    id,
                    payment_preimage: PaymentPreimage(p),
                    attribution_data,
                }
                .into()
            })
            .boxed(),
        (cid(), any::<u64>(), bytes(300), attribution())
            .prop_map(|(channel_id, id, reason, attribution_data)| {
                UpdateFailHtlc { channel_id, id, reason, attribution_data }.into()
            })
            .boxed(),
        (cid(), any::<u64>(), any::<[u8; 32]>(), any::<u16>())
            .prop_map(|(channel_id, id, sha256_of_onion, failure_code)| {
                UpdateFailMalformedHtlc { channel_id, id, sha256_of_onion, failure_code }.into()
            })
            .boxed(),
        (cid(), sig(), vec(sig(), 0..5), proptest::option::of(txid()))
            .prop_map(|(channel_id, signature, htlc_signatures, funding_txid)| {
                CommitmentSigned { channel_id, signature, htlc_signatures, funding_txid }.into()
            })
            .boxed(),
        (cid(), any::<[u8; 32]>(), point())
            .prop_map(|(channel_id, s, p)| {
                RevokeAndAck { channel_id, per_commitment_secret: s, next_per_commitment_point: p }
                    .into()
            })
            .boxed(),
        (cid(), any::<u32>())
            .prop_map(|(channel_id, f)| {
                UpdateFee { channel_id, feerate_per_kw: FeeratePerKw(f) }.into()
            })
            .boxed(),
        (
            cid(),
            any::<u64>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            point(),
            proptest::option::of((txid(), any::<u8>())),
            proptest::option::of((txid(), any::<u8>())),
        )
            .prop_map(|(channel_id, n, r, secret, p, next, locked)| {
                let flags = |(txid, retransmit_flags)| FundingTxidFlags { txid, retransmit_flags };
                ChannelReestablish {
                    channel_id,
                    next_commitment_number: n,
                    next_revocation_number: r,
                    your_last_per_commitment_secret: secret,
                    my_current_per_commitment_point: p,
                    next_funding: next.map(flags),
                    my_current_funding_locked: locked.map(flags),
                }
                .into()
            })
            .boxed(),
    ]
}

pub fn announcements() -> Vec<BoxedStrategy<Message>> {
    vec![
        (cid(), scid(), sig(), sig())
            .prop_map(|(channel_id, short_channel_id, node_signature, bitcoin_signature)| {
                AnnouncementSignatures {
                    channel_id,
                    short_channel_id,
                    node_signature,
                    bitcoin_signature,
                }
                .into()
            })
            .boxed(),
        (
            (sig(), sig(), sig(), sig()),
            (features(), chain(), scid(), node_id(), node_id(), point(), point(), bytes(20)),
        )
            .prop_map(
                |(
                    (s1, s2, b1, b2),
                    (features, chain_hash, short_channel_id, n1, n2, k1, k2, x),
                )| {
                    ChannelAnnouncement {
                        node_signature_1: s1,
                        node_signature_2: s2,
                        bitcoin_signature_1: b1,
                        bitcoin_signature_2: b2,
                        features,
                        chain_hash,
                        short_channel_id,
                        node_id_1: n1,
                        node_id_2: n2,
                        bitcoin_key_1: k1,
                        bitcoin_key_2: k2,
                        excess_data: x,
                    }
                    .into()
                },
            )
            .boxed(),
        (
            sig(),
            features(),
            any::<u32>(),
            node_id(),
            any::<[u8; 3]>(),
            any::<[u8; 32]>(),
            address_list(),
            bytes(20),
        )
            .prop_map(
                |(signature, features, timestamp, node_id, rgb_color, alias, addresses, x)| {
                    NodeAnnouncement {
                        signature,
                        features,
                        timestamp,
                        node_id,
                        rgb_color,
                        alias,
                        addresses,
                        excess_data: x,
                    }
                    .into()
                },
            )
            .boxed(),
        (
            (sig(), chain(), scid(), any::<u32>(), any::<u8>(), any::<u8>()),
            (any::<u16>(), msat(), any::<u32>(), any::<u32>(), msat(), bytes(20)),
        )
            .prop_map(
                |(
                    (signature, chain_hash, short_channel_id, timestamp, mf, cf),
                    (d, min, base, prop, max, x),
                )| {
                    ChannelUpdate {
                        signature,
                        chain_hash,
                        short_channel_id,
                        timestamp,
                        message_flags: mf,
                        channel_flags: cf,
                        cltv_expiry_delta: CltvExpiryDelta(d),
                        htlc_minimum_msat: min,
                        fee_base_msat: base,
                        fee_proportional_millionths: prop,
                        htlc_maximum_msat: max,
                        excess_data: x,
                    }
                    .into()
                },
            )
            .boxed(),
    ]
}

pub fn queries() -> Vec<BoxedStrategy<Message>> {
    let flags = any::<u64>().prop_map(QueryFlags);
    let stamps = (any::<u32>(), any::<u32>()).prop_map(|(a, b)| ChannelUpdateTimestamps {
        timestamp_node_id_1: a,
        timestamp_node_id_2: b,
    });
    let sums = (any::<u32>(), any::<u32>())
        .prop_map(|(a, b)| ChannelUpdateChecksums { checksum_node_id_1: a, checksum_node_id_2: b });
    vec![
        (chain(), encoded(scid()), proptest::option::of(encoded(flags)))
            .prop_map(|(chain_hash, short_channel_ids, query_flags)| {
                QueryShortChannelIds { chain_hash, short_channel_ids, query_flags }.into()
            })
            .boxed(),
        (chain(), any::<u8>())
            .prop_map(|(chain_hash, full_information)| {
                ReplyShortChannelIdsEnd { chain_hash, full_information }.into()
            })
            .boxed(),
        (chain(), any::<u32>(), any::<u32>(), proptest::option::of(any::<u64>()))
            .prop_map(|(chain_hash, first_blocknum, number_of_blocks, query_option)| {
                QueryChannelRange { chain_hash, first_blocknum, number_of_blocks, query_option }
                    .into()
            })
            .boxed(),
        (
            (chain(), any::<u32>(), any::<u32>(), any::<u8>()),
            (
                encoded(scid()),
                proptest::option::of(encoded(stamps)),
                proptest::option::of(vec(sums, 0..5)),
            ),
        )
            .prop_map(
                |(
                    (chain_hash, first_blocknum, number_of_blocks, sync_complete),
                    (ids, timestamps, checksums),
                )| {
                    ReplyChannelRange {
                        chain_hash,
                        first_blocknum,
                        number_of_blocks,
                        sync_complete,
                        short_channel_ids: ids,
                        timestamps,
                        checksums,
                    }
                    .into()
                },
            )
            .boxed(),
        (chain(), any::<u32>(), any::<u32>())
            .prop_map(|(chain_hash, first_timestamp, timestamp_range)| {
                GossipTimestampFilter { chain_hash, first_timestamp, timestamp_range }.into()
            })
            .boxed(),
    ]
}

pub fn message() -> impl Strategy<Value = Message> {
    let all: Vec<_> = [bolt1(), opening(), updates(), announcements(), queries()].concat();
    Union::new(all)
}
