//! What we remember about one HTLC we sent for a payment: its route and the onion's shared
//! secrets, so that a failure coming back, even after a restart, can be decoded and blamed on
//! the right hop. Stored as the attempt's `route` blob (versioned, DESIGN.md §8).

use shandian_onion::SharedSecret;
use shandian_types::{CltvExpiry, Msat, NodeId, ShortChannelId};
use shandian_wire::{Reader, WriteExt};

use super::route::{Route, RouteHop};

/// The blob's format version.
const VERSION: u8 = 1;

/// A sent HTLC's route and secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRoute {
    /// The hops, the payee last.
    pub hops: Vec<RouteHop>,
    /// One shared secret per hop, in route order.
    pub shared_secrets: Vec<SharedSecret>,
}

/// Why a stored route blob does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RouteBlobError {
    /// A version this code does not know.
    #[error("unknown route record version {0}")]
    Version(u8),
    /// Truncated or inconsistent.
    #[error("malformed route record")]
    Malformed,
}

impl SentRoute {
    /// The route of `route` with the onion's secrets.
    pub fn new(route: &Route, shared_secrets: Vec<SharedSecret>) -> SentRoute {
        SentRoute { hops: route.hops.clone(), shared_secrets }
    }

    /// The nodes, the payee last.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.hops.iter().map(|h| h.node_id).collect()
    }

    /// Version, hop count, then per hop: node id, channel, amount, expiry, shared secret.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.hops.len() * (33 + 8 + 8 + 4 + 32));
        out.push(VERSION);
        // Routes have at most 20 hops (the onion's size bounds them).
        out.push(u8::try_from(self.hops.len()).unwrap_or(u8::MAX));
        for (hop, secret) in self.hops.iter().zip(&self.shared_secrets) {
            out.extend_from_slice(hop.node_id.as_bytes());
            out.put_u64(hop.short_channel_id.0);
            out.put_u64(hop.amount.0);
            out.put_u32(hop.cltv_expiry.0);
            out.extend_from_slice(&secret.0);
        }
        out
    }

    /// Reads a blob written by [`SentRoute::encode`].
    pub fn decode(bytes: &[u8]) -> Result<SentRoute, RouteBlobError> {
        let malformed = |_| RouteBlobError::Malformed;
        let mut reader = Reader::new(bytes);
        let version = reader.read_u8().map_err(malformed)?;
        if version != VERSION {
            return Err(RouteBlobError::Version(version));
        }
        let count = reader.read_u8().map_err(malformed)?;
        let mut hops = Vec::with_capacity(usize::from(count));
        let mut shared_secrets = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let node = reader.read_array::<33>().map_err(malformed)?;
            hops.push(RouteHop {
                node_id: NodeId::from_bytes(node).map_err(|_| RouteBlobError::Malformed)?,
                short_channel_id: ShortChannelId(reader.read_u64().map_err(malformed)?),
                amount: Msat(reader.read_u64().map_err(malformed)?),
                cltv_expiry: CltvExpiry(reader.read_u32().map_err(malformed)?),
            });
            shared_secrets.push(SharedSecret(reader.read_array::<32>().map_err(malformed)?));
        }
        if !reader.is_empty() || hops.is_empty() {
            return Err(RouteBlobError::Malformed);
        }
        Ok(SentRoute { hops, shared_secrets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
    use proptest::prelude::*;

    fn sample() -> SentRoute {
        let secp = Secp256k1::signing_only();
        let node = |b: u8| {
            NodeId::from(PublicKey::from_secret_key(
                &secp,
                &SecretKey::from_slice(&[b; 32]).unwrap(),
            ))
        };
        SentRoute {
            hops: vec![
                RouteHop {
                    node_id: node(2),
                    short_channel_id: ShortChannelId(5),
                    amount: Msat(1100),
                    cltv_expiry: CltvExpiry(600),
                },
                RouteHop {
                    node_id: node(3),
                    short_channel_id: ShortChannelId(6),
                    amount: Msat(1000),
                    cltv_expiry: CltvExpiry(560),
                },
            ],
            shared_secrets: vec![SharedSecret([1; 32]), SharedSecret([2; 32])],
        }
    }

    #[test]
    fn round_trips() {
        let route = sample();
        assert_eq!(SentRoute::decode(&route.encode()), Ok(route));
    }

    #[test]
    fn refuses_other_versions_and_trailing_bytes() {
        let mut bytes = sample().encode();
        bytes.push(0);
        assert_eq!(SentRoute::decode(&bytes), Err(RouteBlobError::Malformed));
        bytes[0] = 2;
        assert_eq!(SentRoute::decode(&bytes), Err(RouteBlobError::Version(2)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = SentRoute::decode(&bytes);
        }
    }
}
