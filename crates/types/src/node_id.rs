use crate::error::{hex_to_array, ParseError};
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use core::fmt;
use core::str::FromStr;

/// A node's identity: its 33-byte compressed secp256k1 public key.
///
/// Construction validates the point, so a `NodeId` always converts to a [`PublicKey`].
/// Ordering is by the serialized bytes, which is the order BOLT 7 uses for `node_id_1 < node_id_2`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; 33]);

impl NodeId {
    /// Validates 33 bytes as a compressed public key.
    pub fn from_bytes(bytes: [u8; 33]) -> Result<NodeId, ParseError> {
        PublicKey::from_slice(&bytes).map_err(|_| ParseError::PublicKey)?;
        Ok(NodeId(bytes))
    }

    /// Validates a slice as a compressed public key.
    pub fn from_slice(bytes: &[u8]) -> Result<NodeId, ParseError> {
        let array: [u8; 33] = bytes.try_into().map_err(|_| ParseError::PublicKey)?;
        NodeId::from_bytes(array)
    }

    /// The serialized compressed key.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// The public key. Cannot fail: the bytes were validated on construction.
    pub fn public_key(&self) -> PublicKey {
        #[allow(clippy::expect_used)] // Invariant: every constructor validated the point.
        PublicKey::from_slice(&self.0).expect("NodeId holds a valid point")
    }
}

impl From<PublicKey> for NodeId {
    fn from(key: PublicKey) -> NodeId {
        NodeId(key.serialize())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_hex())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.0.as_hex())
    }
}

impl FromStr for NodeId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeId::from_bytes(hex_to_array(s)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERATOR: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    #[test]
    fn parses_and_prints_a_valid_key() {
        let id: NodeId = GENERATOR.parse().unwrap();
        assert_eq!(id.to_string(), GENERATOR);
        assert_eq!(NodeId::from(id.public_key()), id);
    }

    #[test]
    fn rejects_points_off_the_curve() {
        let mut bytes = [0u8; 33];
        bytes[0] = 0x02;
        assert_eq!(NodeId::from_bytes(bytes), Err(ParseError::PublicKey));
        assert!(NodeId::from_slice(&[2; 32]).is_err());
    }
}
