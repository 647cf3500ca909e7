//! The on-chain wallet: BDK with BIP 84 descriptors from the node seed, persisted in SQLite,
//! synced through [`crate::ChainSource`] via the block follower's events.
//!
//! Not `Sync`: the node holds it behind a mutex. Every mutating call persists before it
//! returns, so a crash never loses a revealed address or a transaction the wallet built.

mod keys;
mod spend;
mod sync;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use bdk_wallet::chain::{BlockId, CheckPoint};
use bdk_wallet::rusqlite::Connection;
use bdk_wallet::{KeychainKind, PersistedWallet};
use bitcoin::{Address, Amount, Network, Txid};
use shandian_types::BlockHeight;

use crate::{BlockRef, Error};

pub use spend::FundingTx;

/// The wallet's balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalletBalance {
    /// Confirmed and spendable (mature).
    pub confirmed: Amount,
    /// In the mempool: our own change and incoming payments not yet confirmed.
    pub unconfirmed: Amount,
    /// Coinbase outputs not yet 100 blocks deep.
    pub immature: Amount,
}

impl WalletBalance {
    /// Everything the wallet holds.
    pub fn total(&self) -> Amount {
        self.confirmed + self.unconfirmed + self.immature
    }
}

/// The on-chain wallet.
pub struct Wallet {
    inner: PersistedWallet<Connection>,
    db: Connection,
    /// Signs the wallet's inputs (BDK is loaded with the public descriptors only).
    master: bitcoin::bip32::Xpriv,
    path: PathBuf,
    seed_descriptors: keys::Descriptors,
    /// Mempool transactions fetched and found irrelevant, so they are not fetched again.
    irrelevant_mempool: HashSet<Txid>,
    /// Whether [`Wallet::sync_mempool`] fetches unknown mempool transactions.
    scan_mempool: bool,
}

impl Wallet {
    /// Opens the wallet stored at `db_path` (an SQLite file, created with the wallet when
    /// absent). `birthday`, used only on creation, is a block no wallet transaction precedes:
    /// syncing starts after it instead of at genesis. Fails with [`Error::WalletLoad`] when the
    /// file holds a wallet of another seed or network.
    pub fn open(
        db_path: &Path,
        seed: &[u8],
        network: Network,
        birthday: Option<BlockRef>,
    ) -> Result<Wallet, Error> {
        let seed_descriptors = keys::descriptors(seed, network)?;
        let mut db = Connection::open(db_path)?;
        let loaded = bdk_wallet::Wallet::load()
            .descriptor(KeychainKind::External, Some(seed_descriptors.external.clone()))
            .descriptor(KeychainKind::Internal, Some(seed_descriptors.internal.clone()))
            .check_network(network)
            .load_wallet(&mut db)?;
        let mut wallet = match loaded {
            Some(inner) => Wallet::assemble(inner, db, db_path, seed_descriptors),
            None => {
                let inner = bdk_wallet::Wallet::create(
                    seed_descriptors.external.clone(),
                    seed_descriptors.internal.clone(),
                )
                .network(network)
                .create_wallet(&mut db)?;
                let mut wallet = Wallet::assemble(inner, db, db_path, seed_descriptors);
                if let Some(birthday) = birthday {
                    wallet.set_birthday(birthday)?;
                }
                wallet
            }
        };
        wallet.persist()?;
        Ok(wallet)
    }

    fn assemble(
        inner: PersistedWallet<Connection>,
        db: Connection,
        path: &Path,
        seed_descriptors: keys::Descriptors,
    ) -> Wallet {
        Wallet {
            inner,
            db,
            master: seed_descriptors.master,
            path: path.to_owned(),
            seed_descriptors,
            irrelevant_mempool: HashSet::new(),
            scan_mempool: true,
        }
    }

    fn set_birthday(&mut self, birthday: BlockRef) -> Result<(), Error> {
        if birthday.height.0 == 0 {
            return Ok(());
        }
        let genesis = self.inner.local_chain().genesis_hash();
        let update = CheckPoint::from_block_ids([
            BlockId { height: 0, hash: genesis },
            BlockId { height: birthday.height.0, hash: birthday.hash },
        ])
        .map_err(|_| Error::WalletCannotConnect { hash: birthday.hash, height: birthday.height })?;
        self.inner
            .apply_update(bdk_wallet::Update { chain: Some(update), ..Default::default() })
            .map_err(|_| Error::WalletCannotConnect {
                hash: birthday.hash,
                height: birthday.height,
            })
    }

    /// Writes staged changes to the database.
    fn persist(&mut self) -> Result<(), Error> {
        self.inner.persist(&mut self.db)?;
        Ok(())
    }

    /// Whether mempool syncs fetch every unknown mempool transaction to find incoming
    /// payments (on by default). Against a mainnet bitcoind the first scan fetches the whole
    /// mempool; turn it off there if unconfirmed incoming payments need not be shown.
    pub fn set_mempool_scan(&mut self, on: bool) {
        self.scan_mempool = on;
    }

    /// The wallet's network.
    pub fn network(&self) -> Network {
        self.inner.network()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh receive address (revealed and persisted, so it is watched from now on).
    pub fn new_address(&mut self) -> Result<Address, Error> {
        let info = self.inner.reveal_next_address(KeychainKind::External);
        self.persist()?;
        Ok(info.address)
    }

    /// The receive addresses handed out so far, oldest first.
    pub fn revealed_addresses(&self) -> Vec<Address> {
        let Some(last) = self.inner.derivation_index(KeychainKind::External) else {
            return Vec::new();
        };
        (0..=last).map(|i| self.inner.peek_address(KeychainKind::External, i).address).collect()
    }

    /// The balance as of the last applied block and mempool sync.
    pub fn balance(&self) -> WalletBalance {
        let b = self.inner.balance();
        WalletBalance {
            confirmed: b.confirmed,
            unconfirmed: b.trusted_pending + b.untrusted_pending,
            immature: b.immature,
        }
    }

    /// The last block applied to the wallet.
    pub fn tip(&self) -> BlockRef {
        let cp = self.inner.latest_checkpoint();
        BlockRef { height: BlockHeight(cp.height()), hash: cp.hash() }
    }

    /// Unspent outputs the wallet can spend (confirmed or not), with their values.
    pub fn utxos(&self) -> Vec<(bitcoin::OutPoint, Amount)> {
        self.inner.list_unspent().map(|u| (u.outpoint, u.txout.value)).collect()
    }

    /// The wallet's transactions not yet confirmed (its own, and payments to it seen in the
    /// mempool): what a restarted node broadcasts again until they confirm.
    pub fn unconfirmed_transactions(&self) -> Vec<bitcoin::Transaction> {
        self.inner
            .transactions()
            .filter(|t| !t.chain_position.is_confirmed())
            .map(|t| t.tx_node.tx.as_ref().clone())
            .collect()
    }

    /// Confirmation height of a wallet transaction; `None` if unconfirmed or unknown.
    pub fn confirmation_height(&self, txid: Txid) -> Option<BlockHeight> {
        let tx = self.inner.get_tx(txid)?;
        match tx.chain_position {
            bdk_wallet::chain::ChainPosition::Confirmed { anchor, .. } => {
                Some(BlockHeight(anchor.block_id.height))
            }
            bdk_wallet::chain::ChainPosition::Unconfirmed { .. } => None,
        }
    }
}
