//! Which chain an invoice is for: the currency prefix after `ln`.

use bitcoin::Network;
use core::fmt;

/// The chain an invoice asks to be paid on, named by its BIP 173 prefix (BOLT 11 `prefix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    /// `lnbc`: Bitcoin mainnet.
    Bitcoin,
    /// `lntb`: Bitcoin testnet.
    Testnet,
    /// `lntbs`: Bitcoin signet.
    Signet,
    /// `lnbcrt`: Bitcoin regtest.
    Regtest,
}

impl Currency {
    /// Every currency, longest prefix first so prefix matching is unambiguous.
    pub const ALL: [Currency; 4] =
        [Currency::Regtest, Currency::Signet, Currency::Bitcoin, Currency::Testnet];

    /// The BIP 173 prefix that follows `ln`: `bc`, `tb`, `tbs` or `bcrt`.
    pub fn prefix(self) -> &'static str {
        match self {
            Currency::Bitcoin => "bc",
            Currency::Testnet => "tb",
            Currency::Signet => "tbs",
            Currency::Regtest => "bcrt",
        }
    }

    /// The network, for fallback addresses and for checking an invoice fits the node's chain.
    pub fn network(self) -> Network {
        match self {
            Currency::Bitcoin => Network::Bitcoin,
            Currency::Testnet => Network::Testnet,
            Currency::Signet => Network::Signet,
            Currency::Regtest => Network::Regtest,
        }
    }

    /// The network's name as `decodeinvoice` prints it: bitcoin, testnet, signet or regtest.
    pub fn network_name(self) -> &'static str {
        match self {
            Currency::Bitcoin => "bitcoin",
            Currency::Testnet => "testnet",
            Currency::Signet => "signet",
            Currency::Regtest => "regtest",
        }
    }

    /// The currency whose invoices a node on `network` issues; `None` for networks BOLT 11
    /// has no prefix for (e.g. testnet4).
    pub fn from_network(network: Network) -> Option<Currency> {
        match network {
            Network::Bitcoin => Some(Currency::Bitcoin),
            Network::Testnet => Some(Currency::Testnet),
            Network::Signet => Some(Currency::Signet),
            Network::Regtest => Some(Currency::Regtest),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}
