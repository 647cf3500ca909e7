//! The 32-byte identifiers and secrets: channel ids, payment hashes, preimages and secrets.

use crate::error::{hex_to_array, ParseError};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use bitcoin::Txid;
use core::fmt;
use core::str::FromStr;

macro_rules! bytes32_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw bytes, in wire order.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0.as_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.as_hex())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                hex_to_array(s).map($name)
            }
        }
    };
}

bytes32_newtype!(
    /// A channel's 32-byte id (BOLT 2): the funding txid XORed with the funding output index.
    ChannelId
);
bytes32_newtype!(
    /// SHA-256 of a payment preimage; an HTLC is locked to it.
    PaymentHash
);
bytes32_newtype!(
    /// The secret whose SHA-256 is the payment hash; revealing it settles the HTLC.
    PaymentPreimage
);
bytes32_newtype!(
    /// The invoice's `payment_secret` (BOLT 11 `s`), which stops probing of the final node.
    PaymentSecret
);

impl ChannelId {
    /// The v1 channel id (BOLT 2): `funding_txid` in wire byte order with the big-endian
    /// `funding_output_index` XORed into its last two bytes.
    pub fn from_funding_outpoint(txid: &Txid, output_index: u16) -> ChannelId {
        let mut id = txid.to_byte_array();
        let [high, low] = output_index.to_be_bytes();
        id[30] ^= high;
        id[31] ^= low;
        ChannelId(id)
    }
}

impl PaymentPreimage {
    /// The payment hash this preimage unlocks.
    pub fn hash(&self) -> PaymentHash {
        PaymentHash(sha256::Hash::hash(&self.0).to_byte_array())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_id_xors_the_output_index_into_the_last_two_bytes() {
        let txid = Txid::from_byte_array([0x11; 32]);
        let id = ChannelId::from_funding_outpoint(&txid, 0x0102);
        let mut expected = [0x11; 32];
        expected[30] = 0x11 ^ 0x01;
        expected[31] = 0x11 ^ 0x02;
        assert_eq!(id, ChannelId(expected));
    }

    #[test]
    fn preimage_hashes_with_sha256() {
        // SHA-256 of 32 zero bytes.
        let expected: PaymentHash =
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925".parse().unwrap();
        assert_eq!(PaymentPreimage([0; 32]).hash(), expected);
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let hash = PaymentHash([0xab; 32]);
        assert_eq!(hash.to_string().parse::<PaymentHash>(), Ok(hash));
        assert!("abcd".parse::<PaymentHash>().is_err());
        assert!("zz".repeat(32).parse::<PaymentHash>().is_err());
    }
}
