//! On-chain fallback addresses (the `f` field).

use crate::{words, Error};
use bech32::Fe32;
use bitcoin::hashes::Hash;
use bitcoin::{Address, Network, PubkeyHash, ScriptHash, WitnessProgram, WitnessVersion};

/// `f` version 17: a pay-to-pubkey-hash address.
const P2PKH_VERSION: u8 = 17;
/// `f` version 18: a pay-to-script-hash address.
const P2SH_VERSION: u8 = 18;

/// An address the payer may pay on chain if the Lightning payment fails.
///
/// It carries no network: the invoice's currency decides how it is written as an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Fallback {
    /// Versions 0 to 16: a segwit output (P2WPKH, P2WSH, P2TR, ...).
    Witness(WitnessProgram),
    /// Version 17: P2PKH.
    PubkeyHash(PubkeyHash),
    /// Version 18: P2SH.
    ScriptHash(ScriptHash),
}

impl Fallback {
    /// The fallback for paying to `address`.
    pub fn from_address(address: &Address) -> Option<Fallback> {
        if let Some(program) = address.witness_program() {
            return Some(Fallback::Witness(program));
        }
        if let Some(hash) = address.pubkey_hash() {
            return Some(Fallback::PubkeyHash(hash));
        }
        address.script_hash().map(Fallback::ScriptHash)
    }

    /// The address on `network` (mainnet, or the test networks' shared base58 prefixes and
    /// their own bech32 prefix).
    pub fn address(&self, network: Network) -> Address {
        match self {
            Fallback::Witness(program) => Address::from_witness_program(*program, network),
            Fallback::PubkeyHash(hash) => Address::p2pkh(*hash, network),
            Fallback::ScriptHash(hash) => Address::p2sh_from_hash(*hash, network),
        }
    }

    /// Reads an `f` field: `None` for a version this reader must skip (19 to 31) or an empty
    /// field; an error for a known version whose payload has the wrong length.
    pub(crate) fn decode(data: &[Fe32]) -> Result<Option<Fallback>, Error> {
        let Some((version, payload)) = data.split_first() else { return Ok(None) };
        let bytes = words::to_bytes(payload);
        let fallback = match version.to_u8() {
            P2PKH_VERSION => Fallback::PubkeyHash(
                PubkeyHash::from_slice(&bytes).map_err(|_| Error::InvalidFallback)?,
            ),
            P2SH_VERSION => Fallback::ScriptHash(
                ScriptHash::from_slice(&bytes).map_err(|_| Error::InvalidFallback)?,
            ),
            v => match WitnessVersion::try_from(v) {
                Ok(version) => Fallback::Witness(
                    WitnessProgram::new(version, &bytes).map_err(|_| Error::InvalidFallback)?,
                ),
                // BOLT 11: MUST skip over `f` fields that use an unknown `version`.
                Err(_) => return Ok(None),
            },
        };
        Ok(Some(fallback))
    }

    /// The `f` field's data: the version word, then the hash or program.
    pub(crate) fn encode(&self) -> Vec<Fe32> {
        let (version, bytes): (u8, &[u8]) = match self {
            Fallback::Witness(program) => {
                (program.version().to_num(), program.program().as_bytes())
            }
            Fallback::PubkeyHash(hash) => (P2PKH_VERSION, hash.as_byte_array()),
            Fallback::ScriptHash(hash) => (P2SH_VERSION, hash.as_byte_array()),
        };
        core::iter::once(words::word(version)).chain(words::from_bytes(bytes)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    #[test]
    fn round_trips_every_kind_of_address() {
        for (text, network) in [
            ("1RustyRX2oai4EYYDpQGWvEL62BBGqN9T", Network::Bitcoin),
            ("3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX", Network::Bitcoin),
            ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", Network::Bitcoin),
            ("mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP", Network::Testnet),
            ("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", Network::Regtest),
        ] {
            let address = Address::from_str(text).unwrap().require_network(network).unwrap();
            let fallback = Fallback::from_address(&address).unwrap();
            let decoded = Fallback::decode(&fallback.encode()).unwrap().unwrap();
            assert_eq!(decoded, fallback);
            assert_eq!(decoded.address(network).to_string(), text);
        }
    }

    #[test]
    fn unknown_versions_are_skipped_and_bad_lengths_rejected() {
        assert_eq!(Fallback::decode(&[]), Ok(None));
        assert_eq!(Fallback::decode(&[words::word(19); 33]), Ok(None));
        assert_eq!(Fallback::decode(&[words::word(31)]), Ok(None));
        assert_eq!(Fallback::decode(&[words::word(17); 10]), Err(Error::InvalidFallback));
        assert_eq!(Fallback::decode(&[words::word(18); 10]), Err(Error::InvalidFallback));
        // Version 0 needs a 20- or 32-byte program.
        assert_eq!(Fallback::decode(&[Fe32::Q; 10]), Err(Error::InvalidFallback));
    }
}
