//! Stored records: decoding is total (any bytes give a record or an error, never a panic),
//! and a restored record continues the channel.

mod common;

use common::*;
use proptest::prelude::*;
use shandian_channel::{ChannelRecord, Error};
use shandian_types::Msat;

fn valid_record() -> Vec<u8> {
    static RECORD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    RECORD.get_or_init(build_record).clone()
}

fn build_record() -> Vec<u8> {
    let mut pair = Pair::open(true, Msat(1_000_000_000));
    pair.pay(true, 20_000_000);
    pair.add(false, 5_000_000).unwrap();
    pair.command(false, shandian_channel::Command::Commit).unwrap();
    pair.run();
    pair.a.record.as_ref().unwrap().encode()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_record(&bytes);
    }

    #[test]
    fn corrupted_records_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = valid_record();
        for (index, value) in flips {
            let i = index.index(bytes.len());
            bytes[i] ^= value | 1;
        }
        let _ = decode_record(&bytes);
        let len = cut.index(bytes.len());
        let _ = decode_record(&bytes[..len]);
    }
}

#[test]
fn unknown_versions_are_refused() {
    let mut bytes = valid_record();
    bytes[1] = 99;
    assert_eq!(decode_record(&bytes).err(), Some(Error::UnknownRecordVersion(99)));
}

#[test]
fn a_key_index_beyond_bip32_is_an_error() {
    // Found by `corrupted_records_never_panic`: a flipped high bit in the stored key index
    // (bytes 3..7: version, has_key, index) names no hardened key.
    let mut bytes = valid_record();
    bytes[3] |= 0x80;
    assert!(matches!(decode_record(&bytes), Err(Error::Signer(_))));
}

#[test]
fn version_1_records_with_private_keys_are_refused() {
    let mut bytes = valid_record();
    bytes[..2].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(decode_record(&bytes).err(), Some(Error::UnknownRecordVersion(1)));
}

#[test]
fn restore_needs_the_signer_of_the_stored_key_index() {
    let bytes = valid_record();
    let header = ChannelRecord::header(&bytes).unwrap();
    assert_eq!(header.key_index, Some(1));
    assert!(header.revoked_count > 0);
    // Another channel's keys, or no signer at all, are refused.
    assert_eq!(ChannelRecord::decode(&bytes, Some(signer(2))).err(), Some(Error::SignerMismatch));
    assert_eq!(ChannelRecord::decode(&bytes, None).err(), Some(Error::SignerMismatch));
    // A signer that revoked more than the record knows: the record is stale.
    let ahead = shandian_tx::InMemorySigner::from_node_seed(&NODE_SEED, 1)
        .unwrap()
        .with_revoked_count(header.revoked_count + 1);
    let ahead = shandian_channel::ChannelSigner::new(1, ahead);
    assert!(matches!(ChannelRecord::decode(&bytes, Some(ahead)), Err(Error::SignerAhead { .. })));
    // A fresh signer is brought up to the stored revocation count.
    let restored = ChannelRecord::decode(&bytes, Some(signer(1))).unwrap();
    let funded = restored.channel.funded().unwrap();
    assert_eq!(funded.setup().signer.revoked_count(), header.revoked_count);
}

#[test]
fn records_hold_no_private_keys() {
    let bytes = valid_record();
    let secrets = shandian_tx::InMemorySigner::from_node_seed(&NODE_SEED, 1).unwrap();
    // The per-commitment secret of the current (unrevoked) commitment must not appear, nor
    // any 32-byte window equal to a secret the signer would release.
    let header = ChannelRecord::header(&bytes).unwrap();
    let mut s = secrets.with_revoked_count(header.revoked_count);
    let current =
        shandian_tx::Signer::release_per_commitment_secret(&mut s, header.revoked_count).unwrap();
    assert!(!bytes.windows(32).any(|w| w == current.as_slice()));
}

/// `build_record`'s state as version 2 wrote it (every HTLC in full wherever it appears),
/// before version 3 stored each HTLC once.
fn version_2_record() -> Vec<u8> {
    let hex = include_str!("data/record_v2.hex").trim();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn version_2_records_still_decode() {
    let old = version_2_record();
    assert_eq!(old[..2], 2u16.to_be_bytes());
    let from_old = decode_record(&old).unwrap();
    assert_eq!(from_old.version, 2);
    let funded = from_old.channel.funded().unwrap();
    // The peer's HTLC is in both commitments (two more copies of it in version 2).
    assert!(!funded.log().holder_commitment().spec.received.is_empty());
    assert!(!funded.log().counterparty_commitment().spec.received.is_empty());
    // The same state as this version writes it: identical once re-encoded.
    let new = valid_record();
    assert_eq!(new[..2], shandian_channel::record::RECORD_VERSION.to_be_bytes());
    let from_new = decode_record(&new).unwrap();
    assert_eq!(from_new.version, shandian_channel::record::RECORD_VERSION);
    assert_eq!(from_old.encode(), new);
    assert_eq!(from_new.encode(), new);
    // Each HTLC once: smaller than version 2 wrote the same state.
    assert!(new.len() < old.len(), "{} >= {}", new.len(), old.len());
}
