//! Keeping the wallet in step with the chain: blocks from the follower, the mempool, reorgs.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use bdk_wallet::rusqlite::Connection;
use bdk_wallet::{KeychainKind, WalletPersister};
use bitcoin::{Block, Transaction, Txid};
use shandian_types::BlockHeight;

use super::Wallet;
use crate::follower::{self, ChainEvent, Follower};
use crate::{BlockRef, ChainSource, Error};

/// Blocks connected per follower round while the wallet catches up, bounding memory.
const CATCH_UP_BATCH: usize = 100;

/// Seconds since the Unix epoch: BDK's "last seen in the mempool" stamp, which only orders
/// conflicting unconfirmed transactions.
pub(crate) fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Wallet {
    /// A follower positioned at the wallet's tip, remembering every block the wallet has, so a
    /// node that feeds the wallet from its own follower can start from here.
    pub fn follower(&self) -> Follower {
        let recent = self
            .inner
            .checkpoints()
            .map(|cp| BlockRef { height: BlockHeight(cp.height()), hash: cp.hash() });
        Follower::from_recent(self.tip(), recent.collect::<Vec<_>>())
    }

    /// Catches up with `source`: connects (and, across a reorg, first disconnects) blocks up to
    /// its tip, then picks up relevant mempool transactions. Persists as it goes.
    pub async fn sync(&mut self, source: &(impl ChainSource + ?Sized)) -> Result<(), Error> {
        let mut follower = self.follower();
        loop {
            let mut events = Vec::new();
            let result = follower::sync(&mut follower, source, CATCH_UP_BATCH, &mut events).await;
            self.apply_events(&events)?;
            if result? {
                break;
            }
        }
        self.sync_mempool(source).await
    }

    /// Applies follower events in order: connected blocks are scanned for wallet
    /// transactions; disconnected blocks un-confirm theirs. Persists once at the end.
    pub fn apply_events(&mut self, events: &[ChainEvent]) -> Result<(), Error> {
        // A connected block at height h replaces whatever the wallet had at h and above, so
        // disconnects only need explicit work when the batch ends lower than it started.
        let mut expected_tip: Option<BlockHeight> = None;
        for event in events {
            match event {
                ChainEvent::BlockConnected { block, height } => {
                    self.apply_block(block, *height)?;
                    expected_tip = Some(*height);
                }
                ChainEvent::BlockDisconnected(gone) => {
                    expected_tip = Some(BlockHeight(gone.height.0.saturating_sub(1)));
                }
                _ => {}
            }
        }
        if let Some(tip) = expected_tip {
            if self.tip().height > tip {
                self.truncate_chain(tip)?;
            }
        }
        self.persist()
    }

    /// Applies one block on top of the wallet's chain (or replacing its blocks from `height`
    /// up, on a reorg). Does not persist: call through [`Wallet::apply_events`].
    fn apply_block(&mut self, block: &Block, height: BlockHeight) -> Result<(), Error> {
        let hash = block.block_hash();
        self.inner
            .apply_block(block, height.0)
            .map_err(|_| Error::WalletCannotConnect { hash, height })
    }

    /// Drops the wallet's blocks above `keep`. BDK's local chain only replaces blocks when
    /// given new ones, so a chain that got shorter is written to the database as deletions and
    /// the wallet reloaded from it.
    fn truncate_chain(&mut self, keep: BlockHeight) -> Result<(), Error> {
        self.persist()?;
        let mut changes = bdk_wallet::ChangeSet::default();
        for cp in self.inner.checkpoints() {
            if cp.height() > keep.0 {
                changes.local_chain.blocks.insert(cp.height(), None);
            }
        }
        <Connection as WalletPersister>::persist(&mut self.db, &changes)?;
        let reloaded = bdk_wallet::Wallet::load()
            .descriptor(KeychainKind::External, Some(self.seed_descriptors.external.clone()))
            .descriptor(KeychainKind::Internal, Some(self.seed_descriptors.internal.clone()))
            .check_network(self.network())
            .load_wallet(&mut self.db)?;
        let Some(inner) = reloaded else {
            return Err(Error::WalletCannotConnect { hash: self.tip().hash, height: keep });
        };
        self.inner = inner;
        Ok(())
    }

    /// Records `tx` as in the mempool now: its inputs count as spent and its outputs to the
    /// wallet as unconfirmed balance. Ignored if it does not touch the wallet.
    pub fn apply_unconfirmed(&mut self, tx: Transaction) -> Result<(), Error> {
        self.inner.apply_unconfirmed_txs([(tx, now())]);
        self.persist()
    }

    /// Forgets an unconfirmed transaction the wallet built but that will never confirm (it was
    /// never broadcast, or it was double-spent): its inputs become spendable again.
    pub fn abandon_tx(&mut self, txid: Txid) -> Result<(), Error> {
        self.inner.apply_evicted_txs([(txid, now())]);
        self.persist()
    }

    /// Picks up mempool transactions that pay or spend the wallet, and refreshes the
    /// "last seen" stamp of the wallet's own unconfirmed ones (also those a reorg returned to
    /// the mempool). Each irrelevant transaction is fetched once; with
    /// [`Wallet::set_mempool_scan`] off, only the wallet's own transactions are looked at.
    pub async fn sync_mempool(
        &mut self,
        source: &(impl ChainSource + ?Sized),
    ) -> Result<(), Error> {
        let txids = source.mempool_txids().await?;
        let in_mempool: HashSet<Txid> = txids.iter().copied().collect();
        self.irrelevant_mempool.retain(|t| in_mempool.contains(t));
        let mut found = Vec::new();
        for txid in txids {
            if self.irrelevant_mempool.contains(&txid) {
                continue;
            }
            if let Some(known) = self.inner.tx_graph().get_tx(txid) {
                found.push((known, now()));
                continue;
            }
            if !self.scan_mempool {
                continue;
            }
            // The transaction may have left the mempool since the list was taken.
            let Some(lookup) = source.transaction(txid).await? else { continue };
            // BDK keeps only the relevant ones; remember the rest so they are not fetched again.
            self.inner.apply_unconfirmed_txs([(lookup.tx, now())]);
            if self.inner.tx_graph().get_tx(txid).is_none() {
                self.irrelevant_mempool.insert(txid);
            }
        }
        self.inner.apply_unconfirmed_txs(found);
        self.persist()
    }
}
