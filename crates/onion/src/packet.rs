//! The `onion_packet` of BOLT 4 "Packet Structure": version, ephemeral key, 1,300 bytes of
//! hop payloads and an HMAC, 1,366 bytes in all.

use crate::error::Error;
use crate::sphinx::sha256;
use bitcoin::hex::DisplayHex;
use core::fmt;

/// The only packet version this specification defines.
pub const ONION_VERSION: u8 = 0;
/// Length of the `hop_payloads` field.
pub const HOP_PAYLOADS_LEN: usize = 1300;
/// Length of an HMAC.
pub const HMAC_LEN: usize = 32;
/// Length of a compressed public key.
pub const PUBLIC_KEY_LEN: usize = 33;
/// Length of a whole serialized packet.
pub const PACKET_LEN: usize = 1 + PUBLIC_KEY_LEN + HOP_PAYLOADS_LEN + HMAC_LEN;

/// An onion packet as it travels in `update_add_htlc`.
///
/// The fields are kept as received: an unknown version or an unparsable public key is not a
/// decoding error but a BOLT 4 failure ([`crate::peel`] reports it with the right failure code).
#[derive(Clone, PartialEq, Eq)]
pub struct OnionPacket {
    /// Packet version; 0 is the only one defined.
    pub version: u8,
    /// The ephemeral public key for this hop, compressed (possibly not a valid point).
    pub public_key: [u8; PUBLIC_KEY_LEN],
    /// The obfuscated hop payloads.
    pub hop_payloads: [u8; HOP_PAYLOADS_LEN],
    /// The HMAC over `hop_payloads` and the associated data, under this hop's `mu` key.
    pub hmac: [u8; HMAC_LEN],
}

impl OnionPacket {
    /// Splits exactly [`PACKET_LEN`] bytes into the packet's fields.
    pub fn decode(bytes: &[u8]) -> Result<OnionPacket, Error> {
        let bytes: &[u8; PACKET_LEN] =
            bytes.try_into().map_err(|_| Error::PacketLength { length: bytes.len() })?;
        Ok(OnionPacket::from_bytes(bytes))
    }

    /// The packet from its fixed-size wire form (as `update_add_htlc` carries it).
    pub fn from_bytes(bytes: &[u8; PACKET_LEN]) -> OnionPacket {
        let mut packet = OnionPacket {
            version: bytes[0],
            public_key: [0; PUBLIC_KEY_LEN],
            hop_payloads: [0; HOP_PAYLOADS_LEN],
            hmac: [0; HMAC_LEN],
        };
        packet.public_key.copy_from_slice(&bytes[1..1 + PUBLIC_KEY_LEN]);
        packet.hop_payloads.copy_from_slice(&bytes[1 + PUBLIC_KEY_LEN..PACKET_LEN - HMAC_LEN]);
        packet.hmac.copy_from_slice(&bytes[PACKET_LEN - HMAC_LEN..]);
        packet
    }

    /// The packet's fixed-size wire form.
    pub fn to_bytes(&self) -> [u8; PACKET_LEN] {
        let mut bytes = [0u8; PACKET_LEN];
        bytes[0] = self.version;
        bytes[1..1 + PUBLIC_KEY_LEN].copy_from_slice(&self.public_key);
        bytes[1 + PUBLIC_KEY_LEN..PACKET_LEN - HMAC_LEN].copy_from_slice(&self.hop_payloads);
        bytes[PACKET_LEN - HMAC_LEN..].copy_from_slice(&self.hmac);
        bytes
    }

    /// The packet's wire form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PACKET_LEN);
        out.push(self.version);
        out.extend_from_slice(&self.public_key);
        out.extend_from_slice(&self.hop_payloads);
        out.extend_from_slice(&self.hmac);
        out
    }

    /// SHA-256 of the serialized packet: the `sha256_of_onion` that BADONION failures and
    /// `update_fail_malformed_htlc` carry.
    pub fn sha256_of_onion(&self) -> [u8; 32] {
        sha256(&[&[self.version], &self.public_key, &self.hop_payloads, &self.hmac])
    }
}

/// Shows the small fields; the 1,300 payload bytes would drown everything else.
impl fmt::Debug for OnionPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnionPacket")
            .field("version", &self.version)
            .field("public_key", &self.public_key.as_hex())
            .field("hmac", &self.hmac.as_hex())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_round_trip_and_length_check() {
        let mut bytes = vec![0u8; PACKET_LEN];
        bytes[0] = 1;
        bytes[1] = 2;
        bytes[PACKET_LEN - 1] = 9;
        let packet = OnionPacket::decode(&bytes).unwrap();
        assert_eq!(packet.version, 1);
        assert_eq!(packet.public_key[0], 2);
        assert_eq!(packet.hmac[31], 9);
        assert_eq!(packet.encode(), bytes);
        assert_eq!(packet.to_bytes().to_vec(), bytes);
        assert_eq!(OnionPacket::from_bytes(&packet.to_bytes()), packet);
        assert_eq!(packet.sha256_of_onion(), sha256(&[&bytes]));
        assert_eq!(
            OnionPacket::decode(&bytes[1..]),
            Err(Error::PacketLength { length: PACKET_LEN - 1 })
        );
    }
}
