//! BOLT 1 setup and control messages: `init`, `error`, `warning`, `ping`, `pong`.

use crate::address::NetAddress;
use crate::error::DecodeError;
use crate::extension::{decode_record, put_record_with, read_extension};
use crate::fields::{ReadFields, WriteFields};
use crate::message::WireMessage;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::constants::ChainHash;
use shandian_types::{ChannelId, Features};

/// `init` (type 16): the first message on every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// The legacy `globalfeatures` field (BOLT 1: SHOULD NOT set bits above 13 here).
    pub global_features: Features,
    /// The `features` field.
    pub features: Features,
    /// TLV 1 `networks`: the chains the sender is interested in.
    pub networks: Option<Vec<ChainHash>>,
    /// TLV 3 `remote_addr`: the address the sender sees us connecting from.
    pub remote_addr: Option<NetAddress>,
}

impl Init {
    /// An `init` with `features`, empty `globalfeatures` and no TLVs.
    pub fn new(features: Features) -> Init {
        Init { global_features: Features::new(), features, networks: None, remote_addr: None }
    }

    /// BOLT 1: "MUST combine (bitwise OR) the two feature bitmaps into one logical `features`
    /// map."
    pub fn combined_features(&self) -> Features {
        self.features.union(&self.global_features)
    }

    /// The features this (local) `init` and the `remote` one agree on; see
    /// [`crate::features::negotiate`].
    pub fn negotiate(&self, remote: &Init) -> Result<Features, crate::features::FeatureError> {
        crate::features::negotiate(&self.combined_features(), &remote.combined_features())
    }
}

const NETWORKS: u64 = 1;
const REMOTE_ADDR: u64 = 3;

impl WireMessage for Init {
    const TYPE: u16 = 16;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<Init, DecodeError> {
        let global_features = Features::from_be_bytes(reader.read_u16_prefixed()?);
        let features = Features::from_be_bytes(reader.read_u16_prefixed()?);
        let tlvs = read_extension(reader, &[])?;
        let networks = decode_record(&tlvs, NETWORKS, |r| {
            // `...*chain_hash`: a whole number of 32-byte hashes.
            let mut chains = Vec::new();
            while !r.is_empty() {
                chains.push(r.read_chain_hash()?);
            }
            Ok(chains)
        })?;
        let remote_addr = decode_record(&tlvs, REMOTE_ADDR, |r| match NetAddress::read(r)? {
            // BOLT 1: if it sets `remote_addr` it MUST be a valid address descriptor.
            NetAddress::Unknown { .. } => {
                Err(DecodeError::InvalidTlvValue { tlv_type: REMOTE_ADDR })
            }
            address => Ok(address),
        })?;
        Ok(Init { global_features, features, networks, remote_addr })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_u16_prefixed_lossy(&self.global_features.to_be_bytes());
        out.put_u16_prefixed_lossy(&self.features.to_be_bytes());
        if let Some(chains) = &self.networks {
            put_record_with(out, NETWORKS, |v| chains.iter().for_each(|c| v.put_chain_hash(c)));
        }
        if let Some(address) = &self.remote_addr {
            put_record_with(out, REMOTE_ADDR, |v| address.write(v));
        }
    }
}

/// `error` (type 17): the channel (or, with an all-zero `channel_id`, every channel) has failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    /// The failed channel, or all zeros for every channel with the sender.
    pub channel_id: ChannelId,
    /// Diagnostic data (BOLT 1: SHOULD NOT be printed verbatim unless printable ASCII).
    pub data: Vec<u8>,
}

/// `warning` (type 1): something is wrong but the channel has not failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The channel concerned, or all zeros if none in particular.
    pub channel_id: ChannelId,
    /// Diagnostic data (BOLT 1: SHOULD NOT be printed verbatim unless printable ASCII).
    pub data: Vec<u8>,
}

fn decode_error_fields(reader: &mut Reader<'_>) -> Result<(ChannelId, Vec<u8>), DecodeError> {
    let channel_id = reader.read_channel_id()?;
    let data = reader.read_u16_prefixed()?.to_vec();
    read_extension(reader, &[])?;
    Ok((channel_id, data))
}

fn encode_error_fields(channel_id: &ChannelId, data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(channel_id.as_bytes());
    out.put_u16_prefixed_lossy(data);
}

/// Renders peer-supplied diagnostic `data` safely: printable ASCII verbatim, anything else as
/// hex (BOLT 1: "if `data` is not composed solely of printable ASCII characters ... SHOULD NOT
/// print out `data` verbatim").
pub fn printable_data(data: &[u8]) -> String {
    if data.iter().all(|b| (32..=126).contains(b)) {
        data.iter().map(|&b| char::from(b)).collect()
    } else {
        use bitcoin::hex::DisplayHex;
        format!("0x{}", data.as_hex())
    }
}

impl WireMessage for ErrorMessage {
    const TYPE: u16 = 17;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<ErrorMessage, DecodeError> {
        let (channel_id, data) = decode_error_fields(reader)?;
        Ok(ErrorMessage { channel_id, data })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        encode_error_fields(&self.channel_id, &self.data, out);
    }
}

impl WireMessage for Warning {
    const TYPE: u16 = 1;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<Warning, DecodeError> {
        let (channel_id, data) = decode_error_fields(reader)?;
        Ok(Warning { channel_id, data })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        encode_error_fields(&self.channel_id, &self.data, out);
    }
}

/// `ping` (type 18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// How many bytes the `pong` must carry.
    pub num_pong_bytes: u16,
    /// Padding (BOLT 1: SHOULD be zeros, MUST NOT be secret).
    pub ignored: Vec<u8>,
}

impl Ping {
    /// BOLT 1: a `num_pong_bytes` of 65532 or more asks for no reply ("MUST ignore the
    /// `ping`"); otherwise the reply carries exactly `num_pong_bytes` zero bytes.
    pub fn reply(&self) -> Option<Pong> {
        (self.num_pong_bytes < 65532)
            .then(|| Pong { ignored: vec![0; usize::from(self.num_pong_bytes)] })
    }
}

impl WireMessage for Ping {
    const TYPE: u16 = 18;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<Ping, DecodeError> {
        let num_pong_bytes = reader.read_u16()?;
        let ignored = reader.read_u16_prefixed()?.to_vec();
        read_extension(reader, &[])?;
        Ok(Ping { num_pong_bytes, ignored })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_u16(self.num_pong_bytes);
        out.put_u16_prefixed_lossy(&self.ignored);
    }
}

/// `pong` (type 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// Padding of the length the `ping` asked for.
    pub ignored: Vec<u8>,
}

impl WireMessage for Pong {
    const TYPE: u16 = 19;

    fn decode_payload(reader: &mut Reader<'_>) -> Result<Pong, DecodeError> {
        let ignored = reader.read_u16_prefixed()?.to_vec();
        read_extension(reader, &[])?;
        Ok(Pong { ignored })
    }

    fn encode_payload(&self, out: &mut Vec<u8>) {
        out.put_u16_prefixed_lossy(&self.ignored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn ping_reply_rule() {
        let ping = |n| Ping { num_pong_bytes: n, ignored: vec![] };
        assert_eq!(ping(3).reply(), Some(Pong { ignored: vec![0; 3] }));
        assert_eq!(ping(65531).reply().map(|p| p.ignored.len()), Some(65531));
        assert_eq!(ping(65532).reply(), None);
    }

    #[test]
    fn init_tlvs_decode() {
        // init, no features, networks = [regtest], remote_addr = 127.0.0.1:9735.
        let mut bytes = vec![0, 16, 0, 0, 0, 1, 0x02];
        bytes.extend_from_slice(&[1, 32]);
        bytes.extend_from_slice(ChainHash::REGTEST.as_bytes());
        bytes.extend_from_slice(&[3, 7, 1, 127, 0, 0, 1, 0x26, 0x07]);
        let Ok(Message::Init(init)) = Message::decode(&bytes) else { panic!("not init") };
        assert!(init.features.is_set(1));
        assert_eq!(init.networks, Some(vec![ChainHash::REGTEST]));
        assert_eq!(
            init.remote_addr,
            Some(NetAddress::Ipv4 { addr: [127, 0, 0, 1].into(), port: 9735 })
        );
        assert_eq!(Message::Init(init).encode(), bytes);
    }

    #[test]
    fn init_bad_tlv_values_fail() {
        // networks of 31 bytes: not a whole number of chain hashes.
        let mut bytes = vec![0, 16, 0, 0, 0, 0, 1, 31];
        bytes.extend_from_slice(&[0; 31]);
        assert_eq!(Message::decode(&bytes), Err(DecodeError::InvalidTlvValue { tlv_type: 1 }));
        // remote_addr with a truncated ipv4 descriptor.
        let bytes = [0, 16, 0, 0, 0, 0, 3, 3, 1, 127, 0];
        assert_eq!(Message::decode(&bytes), Err(DecodeError::InvalidTlvValue { tlv_type: 3 }));
    }

    #[test]
    fn features_are_ored() {
        let init = Init {
            global_features: Features::from_bits([1]),
            ..Init::new(Features::from_bits([9]))
        };
        assert_eq!(init.combined_features(), Features::from_bits([1, 9]));
    }

    #[test]
    fn printable_data_escapes() {
        assert_eq!(printable_data(b"bad sig"), "bad sig");
        assert_eq!(printable_data(&[0x1b, b'[']), "0x1b5b");
    }
}
