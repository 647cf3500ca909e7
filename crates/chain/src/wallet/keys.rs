//! The wallet's BIP 84 descriptors, derived from the node seed.

use bitcoin::bip32::Xpriv;
use bitcoin::{Network, NetworkKind};

use crate::Error;

/// The external (receive) and internal (change) descriptors, with private keys.
pub(crate) struct Descriptors {
    /// The BIP 32 master key, which signs for both.
    pub(crate) master: Xpriv,
    pub(crate) external: String,
    pub(crate) internal: String,
}

/// BIP 84: `wpkh(xprv/84'/coin'/0'/{0,1}/*)`, coin type 0 on mainnet and 1 on test networks.
pub(crate) fn descriptors(seed: &[u8], network: Network) -> Result<Descriptors, Error> {
    let master = Xpriv::new_master(NetworkKind::from(network), seed)?;
    let coin = if network == Network::Bitcoin { 0 } else { 1 };
    let path = |chain: u8| format!("wpkh({master}/84'/{coin}'/0'/{chain}/*)");
    Ok(Descriptors { master, external: path(0), internal: path(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coin_type_follows_network() {
        let seed = [7u8; 32];
        let main = descriptors(&seed, Network::Bitcoin).unwrap();
        assert!(main.external.starts_with("wpkh(xprv"));
        assert!(main.external.ends_with("/84'/0'/0'/0/*)"));
        assert!(main.internal.ends_with("/84'/0'/0'/1/*)"));
        let test = descriptors(&seed, Network::Regtest).unwrap();
        assert!(test.external.starts_with("wpkh(tprv"));
        assert!(test.external.ends_with("/84'/1'/0'/0/*)"));
    }

    #[test]
    fn bip84_first_address_vector() {
        // BIP 84's test vector: mnemonic "abandon ... about" (seed below), first receive
        // address on mainnet is bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu.
        let seed = bitcoin::hex::FromHex::from_hex(
            "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1\
             9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4",
        )
        .unwrap();
        let seed: Vec<u8> = seed;
        let d = descriptors(&seed, Network::Bitcoin).unwrap();
        let wallet = bdk_wallet::Wallet::create(d.external, d.internal)
            .network(Network::Bitcoin)
            .create_wallet_no_persist()
            .unwrap();
        let first = wallet.peek_address(bdk_wallet::KeychainKind::External, 0);
        assert_eq!(first.address.to_string(), "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
    }
}
