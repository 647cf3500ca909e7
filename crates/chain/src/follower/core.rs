//! The sans-IO follower: a window of the best chain it has delivered, fed one block at a time.
//!
//! Call contract: the driver (or a test) finds the fork point with [`Follower::hash_at`],
//! calls [`Follower::disconnect_tip`] until the best block is the fork point, then
//! [`Follower::connect_block`] for each block of the new branch in height order. Every call
//! returns the [`ChainEvent`]s it caused, in order.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bitcoin::{Block, BlockHash, OutPoint, Txid};
use shandian_types::BlockHeight;

use crate::{BlockRef, Error};

/// What the follower reports, in chain order.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainEvent {
    /// The best block is no longer `block`; its parent is the new best block.
    BlockDisconnected(BlockRef),
    /// `block` at `height` extends the best chain.
    BlockConnected {
        /// The block.
        block: Arc<Block>,
        /// Its height.
        height: BlockHeight,
    },
    /// A watched transaction was included in `block`.
    TxConfirmed {
        /// The transaction.
        txid: Txid,
        /// The block holding it.
        block: BlockRef,
    },
    /// A watched transaction's block was disconnected: it is unconfirmed again.
    TxUnconfirmed {
        /// The transaction.
        txid: Txid,
    },
    /// A watched output was spent by `spender` in `block`.
    OutputSpent {
        /// The output.
        outpoint: OutPoint,
        /// The spending transaction.
        spender: Txid,
        /// The block holding the spender.
        block: BlockRef,
    },
    /// The block holding a watched output's spender was disconnected.
    OutputUnspent {
        /// The output.
        outpoint: OutPoint,
    },
}

/// Where a watched output's spend was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spend {
    /// The spending transaction.
    pub spender: Txid,
    /// The block holding it.
    pub block: BlockRef,
}

/// How many recent blocks a follower remembers by default: deeper reorgs are an error.
pub const DEFAULT_MEMORY: usize = 2016;

/// A reorg-aware view of the best chain and of watched transactions and outputs.
#[derive(Debug, Clone)]
pub struct Follower {
    /// The recent best chain, oldest first; never empty.
    blocks: VecDeque<BlockRef>,
    memory: usize,
    watched_txs: HashMap<Txid, Option<BlockRef>>,
    watched_outputs: HashMap<OutPoint, Option<Spend>>,
}

impl Follower {
    /// A follower whose best block is `start`: the next block it connects is at
    /// `start.height + 1`. It cannot follow a reorg that disconnects `start` itself; use
    /// [`Follower::from_recent`] to seed it with more history.
    pub fn new(start: BlockRef) -> Follower {
        Follower::from_recent(start, core::iter::empty())
    }

    /// A follower whose best block is `tip`, remembering `ancestors` (any order) so it can
    /// walk back through them on a reorg. Only the ancestors at consecutive heights right below
    /// `tip` are kept.
    pub fn from_recent(tip: BlockRef, ancestors: impl IntoIterator<Item = BlockRef>) -> Follower {
        let mut older: Vec<BlockRef> =
            ancestors.into_iter().filter(|b| b.height < tip.height).collect();
        // Highest first; keep only the run of consecutive heights right below the tip, since
        // the window is indexed by height (a sparse history cannot be walked back through).
        older.sort_by_key(|b| core::cmp::Reverse(b.height));
        older.dedup_by_key(|b| b.height);
        let mut blocks = VecDeque::from([tip]);
        for block in older {
            let next_expected = blocks.front().and_then(|f| f.height.0.checked_sub(1));
            if Some(block.height.0) != next_expected {
                break;
            }
            blocks.push_front(block);
        }
        let mut follower = Follower {
            blocks,
            memory: DEFAULT_MEMORY,
            watched_txs: HashMap::new(),
            watched_outputs: HashMap::new(),
        };
        follower.trim();
        follower
    }

    /// Remember at most `blocks` (at least 1) recent blocks.
    pub fn with_memory(mut self, blocks: usize) -> Follower {
        self.memory = blocks.max(1);
        self.trim();
        self
    }

    /// The best block delivered so far.
    pub fn best(&self) -> BlockRef {
        // `blocks` is never empty: constructors push the tip and disconnects keep one.
        self.blocks.back().copied().unwrap_or(BlockRef {
            height: BlockHeight(0),
            hash: bitcoin::hashes::Hash::all_zeros(),
        })
    }

    /// The remembered best-chain block at `height`, if within memory.
    pub fn hash_at(&self, height: BlockHeight) -> Option<BlockHash> {
        let oldest = self.blocks.front()?.height.0;
        let index = usize::try_from(height.0.checked_sub(oldest)?).ok()?;
        self.blocks.get(index).map(|b| b.hash)
    }

    /// The oldest remembered block.
    pub fn oldest(&self) -> BlockRef {
        self.blocks.front().copied().unwrap_or_else(|| self.best())
    }

    /// The remembered blocks, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = BlockRef> + '_ {
        self.blocks.iter().copied()
    }

    /// Watch `txid`: its confirmations are tracked from now on (only blocks connected after
    /// this call are searched; pass `confirmed_in` if the caller already knows its block).
    pub fn watch_tx(&mut self, txid: Txid, confirmed_in: Option<BlockRef>) {
        self.watched_txs.insert(txid, confirmed_in);
    }

    /// Stop watching `txid`.
    pub fn unwatch_tx(&mut self, txid: &Txid) {
        self.watched_txs.remove(txid);
    }

    /// Watch `outpoint` for a spend in blocks connected from now on.
    pub fn watch_output(&mut self, outpoint: OutPoint) {
        self.watched_outputs.entry(outpoint).or_insert(None);
    }

    /// Stop watching `outpoint`.
    pub fn unwatch_output(&mut self, outpoint: &OutPoint) {
        self.watched_outputs.remove(outpoint);
    }

    /// Confirmations of a watched transaction: 0 while unconfirmed, `None` if not watched.
    pub fn confirmations(&self, txid: &Txid) -> Option<u32> {
        let confirmed_in = self.watched_txs.get(txid)?;
        Some(confirmed_in.map_or(0, |b| self.depth(b.height)))
    }

    /// Where a watched output was spent; `None` while unspent or not watched.
    pub fn spend_of(&self, outpoint: &OutPoint) -> Option<Spend> {
        self.watched_outputs.get(outpoint).copied().flatten()
    }

    /// Confirmations of a block at `height` on the best chain (1 for the best block).
    pub fn depth(&self, height: BlockHeight) -> u32 {
        self.best().height.0.checked_sub(height.0).map_or(0, |d| d.saturating_add(1))
    }

    /// Disconnects the best block. Refuses (with [`Error::ReorgTooDeep`]) to drop the last
    /// remembered block: the follower cannot know its parent's hash.
    pub fn disconnect_tip(&mut self) -> Result<Vec<ChainEvent>, Error> {
        if self.blocks.len() < 2 {
            return Err(Error::ReorgTooDeep(self.memory));
        }
        let Some(gone) = self.blocks.pop_back() else {
            return Err(Error::ReorgTooDeep(self.memory));
        };
        let mut events = vec![ChainEvent::BlockDisconnected(gone)];
        for (txid, confirmed_in) in self.watched_txs.iter_mut() {
            if *confirmed_in == Some(gone) {
                *confirmed_in = None;
                events.push(ChainEvent::TxUnconfirmed { txid: *txid });
            }
        }
        for (outpoint, spend) in self.watched_outputs.iter_mut() {
            if spend.is_some_and(|s| s.block == gone) {
                *spend = None;
                events.push(ChainEvent::OutputUnspent { outpoint: *outpoint });
            }
        }
        Ok(events)
    }

    /// Connects `block`, which must build on the best block.
    pub fn connect_block(&mut self, block: Arc<Block>) -> Result<Vec<ChainEvent>, Error> {
        let best = self.best();
        let hash = block.block_hash();
        let height = BlockHeight(best.height.0.saturating_add(1));
        if block.header.prev_blockhash != best.hash {
            return Err(Error::DoesNotConnect { hash, height, expected_prev: best.hash });
        }
        let here = BlockRef { height, hash };
        let mut events = Vec::new();
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            if let Some(confirmed_in) = self.watched_txs.get_mut(&txid) {
                *confirmed_in = Some(here);
                events.push(ChainEvent::TxConfirmed { txid, block: here });
            }
            if self.watched_outputs.is_empty() {
                continue;
            }
            for input in &tx.input {
                if let Some(spend) = self.watched_outputs.get_mut(&input.previous_output) {
                    *spend = Some(Spend { spender: txid, block: here });
                    let outpoint = input.previous_output;
                    events.push(ChainEvent::OutputSpent { outpoint, spender: txid, block: here });
                }
            }
        }
        events.insert(0, ChainEvent::BlockConnected { block, height });
        self.blocks.push_back(here);
        self.trim();
        Ok(events)
    }

    fn trim(&mut self) {
        while self.blocks.len() > self.memory {
            self.blocks.pop_front();
        }
    }
}
