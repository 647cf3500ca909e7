//! The BOLT 7 extended gossip query vectors (`../shared/bolts/bolt07/extended-queries.json`),
//! read at test time: each message decodes to the fields the JSON lists and re-encodes to the
//! same bytes. Vectors using the retired zlib encoding (BOLT 7: "MUST NOT be used") decode to
//! [`EncodedList::Unsupported`] with encoding 1, byte for byte.

use serde_json::Value;
use shandian_types::ShortChannelId;
use shandian_wire::*;

const VECTORS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bolts/bolt07/extended-queries.json");

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn u32_of(v: &Value) -> u32 {
    u32::try_from(v.as_u64().unwrap()).unwrap()
}

/// Checks an encoded array against the JSON `{ "encoding", <items_key>: [...] }`.
fn check_list<T: PartialEq + std::fmt::Debug>(
    list: &EncodedList<T>,
    json: &Value,
    items_key: &str,
    parse: impl Fn(&Value) -> T,
) {
    match json["encoding"].as_str().unwrap() {
        "UNCOMPRESSED" => {
            let expected: Vec<T> = json[items_key].as_array().unwrap().iter().map(parse).collect();
            assert_eq!(list.uncompressed(), Some(expected.as_slice()));
        }
        "COMPRESSED_ZLIB" => {
            assert!(matches!(list, EncodedList::Unsupported { encoding_type: 1, .. }), "{list:?}")
        }
        other => panic!("unexpected encoding {other}"),
    }
}

fn scid(v: &Value) -> ShortChannelId {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn extended_query_vectors() {
    let text = std::fs::read_to_string(VECTORS).expect("BOLT 7 vectors are readable");
    let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(vectors.len(), 10);
    for vector in &vectors {
        let bytes = hex(vector["hex"].as_str().unwrap());
        let json = &vector["msg"];
        let message = Message::decode(&bytes).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(message.encode(), bytes, "re-encoding {json}");
        let chain = hex(json["chainHash"].as_str().unwrap());
        match (&message, json["type"].as_str().unwrap()) {
            (Message::QueryChannelRange(m), "QueryChannelRange") => {
                assert_eq!(m.chain_hash.as_bytes().as_slice(), chain.as_slice());
                assert_eq!(m.first_blocknum, u32_of(&json["firstBlockNum"]));
                assert_eq!(m.number_of_blocks, u32_of(&json["numberOfBlocks"]));
                let expected = match json["tlvStream"]["records"].as_array().unwrap().first() {
                    None => None,
                    Some(r) => {
                        assert_eq!(r.as_str(), Some("WANT_TIMESTAMPS | WANT_CHECKSUMS"));
                        Some(QueryChannelRange::WANT_TIMESTAMPS | QueryChannelRange::WANT_CHECKSUMS)
                    }
                };
                assert_eq!(m.query_option, expected);
            }
            (Message::ReplyChannelRange(m), "ReplyChannelRange") => {
                assert_eq!(m.chain_hash.as_bytes().as_slice(), chain.as_slice());
                assert_eq!(m.first_blocknum, u32_of(&json["firstBlockNum"]));
                assert_eq!(m.number_of_blocks, u32_of(&json["numberOfBlocks"]));
                assert_eq!(u64::from(m.sync_complete), json["complete"].as_u64().unwrap());
                check_list(&m.short_channel_ids, &json["shortChannelIds"], "array", scid);
                match (&m.timestamps, json.get("timestamps")) {
                    (None, None) => {}
                    (Some(list), Some(t)) => {
                        check_list(list, t, "timestamps", |v| ChannelUpdateTimestamps {
                            timestamp_node_id_1: u32_of(&v["timestamp1"]),
                            timestamp_node_id_2: u32_of(&v["timestamp2"]),
                        })
                    }
                    other => panic!("timestamps mismatch {other:?}"),
                }
                let expected_sums = json.get("checksums").map(|c| {
                    c["checksums"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| ChannelUpdateChecksums {
                            checksum_node_id_1: u32_of(&v["checksum1"]),
                            checksum_node_id_2: u32_of(&v["checksum2"]),
                        })
                        .collect::<Vec<_>>()
                });
                assert_eq!(m.checksums, expected_sums);
            }
            (Message::QueryShortChannelIds(m), "QueryShortChannelIds") => {
                assert_eq!(m.chain_hash.as_bytes().as_slice(), chain.as_slice());
                check_list(&m.short_channel_ids, &json["shortChannelIds"], "array", scid);
                match (&m.query_flags, json["tlvStream"]["records"].as_array().unwrap().first()) {
                    (None, None) => {}
                    (Some(flags), Some(r)) => {
                        check_list(flags, r, "array", |v| QueryFlags(v.as_u64().unwrap()))
                    }
                    other => panic!("query_flags mismatch {other:?}"),
                }
            }
            (m, t) => panic!("decoded {m:?}, vector says {t}"),
        }
    }
}
