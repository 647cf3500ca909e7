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
        let _ = ChannelRecord::decode(&bytes);
    }

    #[test]
    fn corrupted_records_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = valid_record();
        for (index, value) in flips {
            let i = index.index(bytes.len());
            bytes[i] ^= value | 1;
        }
        let _ = ChannelRecord::decode(&bytes);
        let len = cut.index(bytes.len());
        let _ = ChannelRecord::decode(&bytes[..len]);
    }
}

#[test]
fn unknown_versions_are_refused() {
    let mut bytes = valid_record();
    bytes[1] = 99;
    assert_eq!(ChannelRecord::decode(&bytes).err(), Some(Error::UnknownRecordVersion(99)));
}
