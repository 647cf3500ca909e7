//! [`RegtestChain`]: the thread-safe handle to the embedded chain.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{Amount, Block, BlockHash, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use tokio::sync::watch;

use crate::error::{Error, MempoolReject};
use crate::fee_estimate::{self, FeeEstimate};
use crate::kernel::Kernel;
use crate::mempool::{Accepted, Mempool, MempoolEntry, NextBlock};
use crate::miner::{build_block, select_transactions};
use crate::persist;
use crate::utxo::Utxo;
use crate::view::ChainView;

/// The active tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainTip {
    /// Height of the tip.
    pub height: u32,
    /// Hash of the tip.
    pub hash: BlockHash,
}

/// A block header with its place in the active chain.
#[derive(Debug, Clone)]
pub struct HeaderInfo {
    /// The header.
    pub header: Header,
    /// Block hash.
    pub hash: BlockHash,
    /// Height.
    pub height: u32,
    /// Confirmations (1 for the tip).
    pub confirmations: u32,
    /// Median time past (BIP 113).
    pub median_time: u32,
    /// Cumulative chain work.
    pub chainwork: Work,
    /// Number of transactions.
    pub n_tx: usize,
    /// Size with witnesses.
    pub size: usize,
    /// Size without witnesses.
    pub stripped_size: usize,
    /// Weight.
    pub weight: u64,
    /// The next block's hash, unless this is the tip.
    pub next: Option<BlockHash>,
}

/// Where a transaction was found.
#[derive(Debug, Clone)]
pub struct TxInfo {
    /// The transaction.
    pub tx: Transaction,
    /// The confirming block, or `None` when it is in the mempool.
    pub block: Option<HeaderInfo>,
}

/// An unspent output as `gettxout` reports it.
#[derive(Debug, Clone)]
pub struct TxOutInfo {
    /// The output.
    pub txout: TxOut,
    /// Confirmations (0 when created by a mempool transaction).
    pub confirmations: u32,
    /// Whether it is a coinbase output.
    pub coinbase: bool,
    /// The tip the answer refers to.
    pub best_block: BlockHash,
}

/// A mempool transaction with its ancestor and descendant totals.
#[derive(Debug, Clone)]
pub struct MempoolEntryInfo {
    /// The entry.
    pub entry: MempoolEntry,
    /// Ancestors including itself: count, vsize, fees.
    pub ancestor: (usize, u64, Amount),
    /// Descendants including itself: count, vsize, fees.
    pub descendant: (usize, u64, Amount),
    /// In-mempool transactions spending its outputs.
    pub spent_by: Vec<Txid>,
}

/// Mempool totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolInfo {
    /// Number of transactions.
    pub size: usize,
    /// Sum of virtual sizes.
    pub bytes: u64,
    /// Sum of fees.
    pub total_fee: Amount,
}

pub(crate) struct State {
    pub(crate) kernel: Kernel,
    pub(crate) view: ChainView,
    pub(crate) mempool: Mempool,
}

/// The embedded regtest chain: Bitcoin Core's consensus engine, our UTXO view, a mempool and a
/// miner behind one lock. Cheap to share as `Arc<RegtestChain>`.
pub struct RegtestChain {
    state: Mutex<State>,
    data_dir: PathBuf,
    started: Instant,
    tip_tx: watch::Sender<ChainTip>,
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl State {
    pub(crate) fn tip(&self) -> ChainTip {
        let hash = self.view.tip().map(|m| m.hash).unwrap_or_else(|| {
            bitcoin::constants::genesis_block(bitcoin::Network::Regtest).block_hash()
        });
        ChainTip { height: self.view.height(), hash }
    }

    pub(crate) fn next_block(&self) -> NextBlock {
        let tip = self.view.height();
        NextBlock {
            height: tip.saturating_add(1),
            tip_mtp: self.view.median_time_past(tip),
            now: unix_now(),
        }
    }

    pub(crate) fn accept(
        &mut self,
        tx: Transaction,
        max_feerate: Option<u64>,
        dry_run: bool,
    ) -> Result<Accepted, MempoolReject> {
        let next = self.next_block();
        self.mempool.accept(tx, &self.view, &next, max_feerate, dry_run)
    }

    /// Brings our view in line with the kernel's active chain (used at start-up and whenever
    /// the kernel's tip is not simply the block we just submitted).
    pub(crate) fn sync_with_kernel(&mut self) -> Result<(), Error> {
        let kernel_height = self.kernel.tip_height();
        let mut disconnected = Vec::new();
        while !self.view.is_empty() {
            let h = self.view.height();
            let ours = self.view.tip().map(|m| m.hash);
            if h <= kernel_height && ours == self.kernel.hash_at(h) {
                break;
            }
            // Only reachable if the kernel reorganised on its own; its block is still stored.
            let block =
                self.kernel.block_at(h).map_err(|_| Error::InconsistentView { height: h })?;
            self.view.disconnect_tip(&block)?;
            disconnected.push(block);
        }
        let start = if self.view.is_empty() { 0 } else { self.view.height().saturating_add(1) };
        for height in start..=kernel_height {
            let block = self.kernel.block_at(height)?;
            self.view.connect(&block)?;
            self.mempool.remove_for_block(&block);
        }
        if !disconnected.is_empty() {
            self.readd_to_mempool(disconnected);
        }
        Ok(())
    }

    /// After a reorg: offers the disconnected blocks' transactions (oldest first), then the
    /// previous mempool, to a fresh mempool; whatever is no longer valid is dropped.
    pub(crate) fn readd_to_mempool(&mut self, mut disconnected_newest_first: Vec<Block>) {
        let old = self.mempool.drain();
        disconnected_newest_first.reverse();
        let returning =
            disconnected_newest_first.into_iter().flat_map(|b| b.txdata.into_iter().skip(1));
        for tx in returning.chain(old) {
            let _ = self.accept(tx, None, false);
        }
    }

    /// Submits `block` to Core and, when it becomes the tip, to our view and mempool.
    pub(crate) fn connect_block(&mut self, block: &Block) -> Result<BlockHash, Error> {
        let hash = block.block_hash();
        self.kernel.submit(block)?;
        let tip = self.tip();
        let kernel_height = self.kernel.tip_height();
        if kernel_height == tip.height.saturating_add(1)
            && self.kernel.hash_at(kernel_height) == Some(hash)
            && block.header.prev_blockhash == tip.hash
        {
            self.view.connect(block)?;
            self.mempool.remove_for_block(block);
        } else {
            self.sync_with_kernel()?;
        }
        if self.view.height_of(&hash).is_none() {
            return Err(Error::NotOnActiveChain(hash));
        }
        Ok(hash)
    }

    /// Mines one block on the tip with `txs` (mempool selection when `None`).
    pub(crate) fn mine_one(
        &mut self,
        script: &ScriptBuf,
        txs: Option<Vec<Transaction>>,
    ) -> Result<BlockHash, Error> {
        let block = self.build_on_tip(script, txs)?;
        self.connect_block(&block)
    }

    /// Builds and solves (without submitting) a block on the tip.
    pub(crate) fn build_on_tip(
        &self,
        script: &ScriptBuf,
        txs: Option<Vec<Transaction>>,
    ) -> Result<Block, Error> {
        let tip = self.tip();
        let (txs, fees) = match txs {
            Some(txs) => (txs, Amount::ZERO),
            None => {
                let chosen = select_transactions(&self.mempool);
                let fees =
                    chosen.iter().fold(Amount::ZERO, |a, e| a.checked_add(e.fee).unwrap_or(a));
                (chosen.into_iter().map(|e| e.tx.clone()).collect(), fees)
            }
        };
        let mtp = self.view.median_time_past(tip.height);
        let now = u32::try_from(unix_now()).unwrap_or(u32::MAX);
        let time = now.max(mtp.saturating_add(1));
        build_block(tip.hash, tip.height.saturating_add(1), time, script, txs, fees)
    }
}

impl RegtestChain {
    /// Opens the chain in `data_dir` (created if missing) at the tip it had when last closed.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Arc<RegtestChain>, Error> {
        let data_dir = data_dir.as_ref().to_path_buf();
        let kernel = Kernel::open(&data_dir)?;
        let mut state = State { kernel, view: ChainView::default(), mempool: Mempool::default() };
        state.sync_with_kernel()?;
        for tx in persist::load_mempool(&data_dir)? {
            let _ = state.accept(tx, None, false);
        }
        let (tip_tx, _) = watch::channel(state.tip());
        Ok(Arc::new(RegtestChain {
            state: Mutex::new(state),
            data_dir,
            started: Instant::now(),
            tip_tx,
        }))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the kernel inconsistent (it validates
        // atomically), so a poisoned lock is recovered rather than propagated.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish_tip(&self, tip: ChainTip) {
        self.tip_tx.send_replace(tip);
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Seconds since the chain was opened.
    pub fn uptime(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// A receiver that sees every new tip.
    pub fn subscribe_tip(&self) -> watch::Receiver<ChainTip> {
        self.tip_tx.subscribe()
    }

    /// The active tip.
    pub fn tip(&self) -> ChainTip {
        self.state().tip()
    }

    /// Hash of the active-chain block at `height`.
    pub fn block_hash(&self, height: u32) -> Option<BlockHash> {
        self.state().view.meta(height).map(|m| m.hash)
    }

    /// Median time past of the tip.
    pub fn median_time_past(&self) -> u32 {
        let s = self.state();
        s.view.median_time_past(s.view.height())
    }

    /// Header and chain position of an active-chain block.
    pub fn header(&self, hash: &BlockHash) -> Option<HeaderInfo> {
        let s = self.state();
        header_info(&s.view, s.view.height_of(hash)?)
    }

    /// A full active-chain block, read back from Core's block storage.
    pub fn block(&self, hash: &BlockHash) -> Result<Block, Error> {
        let s = self.state();
        let height = s.view.height_of(hash).ok_or(Error::BlockNotFound(*hash))?;
        s.kernel.block_at(height)
    }

    /// The outputs spent by each non-coinbase transaction of an active-chain block, in
    /// transaction and input order (from Core's undo data).
    pub fn block_spent_outputs(&self, hash: &BlockHash) -> Result<Vec<Vec<Utxo>>, Error> {
        let s = self.state();
        let height = s.view.height_of(hash).ok_or(Error::BlockNotFound(*hash))?;
        s.kernel.spent_outputs_at(height)
    }

    /// A transaction from the mempool or the active chain.
    pub fn transaction(&self, txid: &Txid) -> Option<TxInfo> {
        let s = self.state();
        if let Some(entry) = s.mempool.get(txid) {
            return Some(TxInfo { tx: entry.tx.clone(), block: None });
        }
        let height = s.view.tx_height(txid)?;
        let block = s.kernel.block_at(height).ok()?;
        let tx = block.txdata.into_iter().find(|tx| tx.compute_txid() == *txid)?;
        Some(TxInfo { tx, block: header_info(&s.view, height) })
    }

    /// An unspent output; with `include_mempool`, outputs spent by the mempool are reported
    /// spent and outputs of mempool transactions are reported with 0 confirmations.
    pub fn tx_out(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<TxOutInfo> {
        let s = self.state();
        let tip = s.tip();
        if include_mempool && s.mempool.spender(outpoint).is_some() {
            return None;
        }
        if let Some(coin) = s.view.utxo(outpoint) {
            return Some(TxOutInfo {
                txout: coin.txout.clone(),
                confirmations: tip.height.saturating_sub(coin.height).saturating_add(1),
                coinbase: coin.is_coinbase,
                best_block: tip.hash,
            });
        }
        let txout = s.mempool.output(outpoint).filter(|_| include_mempool)?.clone();
        Some(TxOutInfo { txout, confirmations: 0, coinbase: false, best_block: tip.hash })
    }

    /// Adds `tx` to the mempool (a transaction already there is accepted again).
    pub fn submit_tx(&self, tx: Transaction) -> Result<Txid, MempoolReject> {
        self.submit_tx_with_max_feerate(tx, None)
    }

    /// Like [`submit_tx`](Self::submit_tx), refusing fee rates above `max_feerate_per_kvb`
    /// (sat per 1000 vB; `None` or 0 for no limit).
    pub fn submit_tx_with_max_feerate(
        &self,
        tx: Transaction,
        max_feerate_per_kvb: Option<u64>,
    ) -> Result<Txid, MempoolReject> {
        let mut s = self.state();
        let txid = tx.compute_txid();
        if s.mempool.get(&txid).is_some() {
            return Ok(txid);
        }
        s.accept(tx, max_feerate_per_kvb, false).map(|a| a.txid)
    }

    /// Checks `tx` against the mempool rules without adding it.
    pub fn test_tx(
        &self,
        tx: Transaction,
        max_feerate_per_kvb: Option<u64>,
    ) -> Result<Accepted, MempoolReject> {
        self.state().accept(tx, max_feerate_per_kvb, true)
    }

    /// Checks a package in order without changing the mempool: each transaction may spend
    /// outputs of the ones before it (as `testmempoolaccept` with several transactions).
    pub fn test_package(
        &self,
        txs: Vec<Transaction>,
        max_feerate_per_kvb: Option<u64>,
    ) -> Vec<Result<Accepted, MempoolReject>> {
        let s = self.state();
        let mut scratch = s.mempool.clone();
        let next = s.next_block();
        txs.into_iter()
            .map(|tx| scratch.accept(tx, &s.view, &next, max_feerate_per_kvb, false))
            .collect()
    }

    /// Mines `n` blocks paying to `script`, each filled from the mempool.
    pub fn mine(&self, n: u32, script: &ScriptBuf) -> Result<Vec<BlockHash>, Error> {
        let mut hashes = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let mut s = self.state();
            hashes.push(s.mine_one(script, None)?);
            let tip = s.tip();
            drop(s);
            self.publish_tip(tip);
        }
        Ok(hashes)
    }

    /// Mines one block with exactly `txs` (not checked by our mempool: Core decides). The
    /// coinbase claims the subsidy only, as Core's `generateblock` does.
    pub fn generate_block(
        &self,
        script: &ScriptBuf,
        txs: Vec<Transaction>,
    ) -> Result<BlockHash, Error> {
        let mut s = self.state();
        let hash = s.mine_one(script, Some(txs))?;
        let tip = s.tip();
        drop(s);
        self.publish_tip(tip);
        Ok(hash)
    }

    /// Builds and solves a block on the tip paying to `script`, without submitting it: with
    /// `txs`, exactly those (subsidy only); otherwise the miner's mempool selection.
    pub fn create_block(
        &self,
        script: &ScriptBuf,
        txs: Option<Vec<Transaction>>,
    ) -> Result<Block, Error> {
        self.state().build_on_tip(script, txs)
    }

    /// Submits a block built elsewhere.
    pub fn submit_block(&self, block: &Block) -> Result<BlockHash, Error> {
        let mut s = self.state();
        let hash = s.connect_block(block)?;
        let tip = s.tip();
        drop(s);
        self.publish_tip(tip);
        Ok(hash)
    }

    /// Invalidates an active-chain block and its descendants: the tip moves back to its
    /// parent and their transactions return to the mempool when still valid.
    pub fn invalidate(&self, hash: &BlockHash) -> Result<(), Error> {
        let mut s = self.state();
        crate::reorg::invalidate(&mut s, hash)?;
        let tip = s.tip();
        drop(s);
        self.publish_tip(tip);
        Ok(())
    }

    /// A fee-rate estimate for confirmation within `target` blocks.
    pub fn estimate_fee(&self, target: u16) -> FeeEstimate {
        let s = self.state();
        fee_estimate::estimate(&s.view, &s.mempool, target)
    }

    /// Txids in the mempool, in acceptance order.
    pub fn mempool_txids(&self) -> Vec<Txid> {
        self.state().mempool.entries_in_order().iter().map(|e| e.txid).collect()
    }

    /// A mempool entry with its ancestor and descendant totals.
    pub fn mempool_entry(&self, txid: &Txid) -> Option<MempoolEntryInfo> {
        let s = self.state();
        let entry = s.mempool.get(txid)?.clone();
        let totals = |ids: &std::collections::HashSet<Txid>| {
            ids.iter().filter_map(|id| s.mempool.get(id)).fold(
                (1usize, entry.vsize, entry.fee),
                |(n, v, f), e| {
                    (n + 1, v.saturating_add(e.vsize), f.checked_add(e.fee).unwrap_or(f))
                },
            )
        };
        let ancestor = totals(&s.mempool.ancestors(txid));
        let descendant = totals(&s.mempool.descendants(txid));
        let spent_by = s.mempool.children(txid);
        Some(MempoolEntryInfo { entry, ancestor, descendant, spent_by })
    }

    /// Mempool totals.
    pub fn mempool_info(&self) -> MempoolInfo {
        let s = self.state();
        let entries = s.mempool.entries_in_order();
        MempoolInfo {
            size: entries.len(),
            bytes: entries.iter().map(|e| e.vsize).sum(),
            total_fee: entries.iter().fold(Amount::ZERO, |a, e| a.checked_add(e.fee).unwrap_or(a)),
        }
    }

    /// Number of unspent outputs in the active chain.
    pub fn utxo_count(&self) -> usize {
        self.state().view.utxos.len()
    }

    /// Writes the mempool to the data directory (also done when the chain is dropped).
    pub fn persist_mempool(&self) -> Result<(), Error> {
        let s = self.state();
        let txs: Vec<Transaction> =
            s.mempool.entries_in_order().iter().map(|e| e.tx.clone()).collect();
        persist::save_mempool(&self.data_dir, &txs)
    }
}

impl Drop for RegtestChain {
    fn drop(&mut self) {
        if let Err(e) = self.persist_mempool() {
            tracing::warn!("could not save the mempool: {e}");
        }
    }
}

pub(crate) fn header_info(view: &ChainView, height: u32) -> Option<HeaderInfo> {
    let meta = view.meta(height)?;
    Some(HeaderInfo {
        header: meta.header,
        hash: meta.hash,
        height,
        confirmations: view.height().saturating_sub(height).saturating_add(1),
        median_time: view.median_time_past(height),
        chainwork: meta.chainwork,
        n_tx: meta.n_tx,
        size: meta.size,
        stripped_size: meta.stripped_size,
        weight: meta.weight,
        next: view.meta(height.saturating_add(1)).map(|m| m.hash),
    })
}
