//! An in-memory chain for follower tests: blocks without proof of work, reorgs on demand.

#![allow(dead_code)]

use std::sync::Mutex;

use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::{
    absolute, transaction, Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence,
    Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use shandian_chain::{BlockRef, ChainFuture, ChainSource, HeaderInfo, TxLookup, UnspentOutput};
use shandian_types::BlockHeight;

/// A best chain of blocks (index = height) plus every block ever made (for `block()`).
pub struct MemoryChain {
    inner: Mutex<Inner>,
}

struct Inner {
    best: Vec<Block>,
    all: Vec<Block>,
    counter: u32,
}

impl MemoryChain {
    /// A chain with only a genesis block.
    pub fn new() -> MemoryChain {
        let genesis = make_block(BlockHash::all_zeros(), 0, Vec::new());
        MemoryChain {
            inner: Mutex::new(Inner {
                best: vec![genesis.clone()],
                all: vec![genesis],
                counter: 1,
            }),
        }
    }

    /// Mines `n` blocks on the tip, each with a coinbase only.
    pub fn mine(&self, n: usize) {
        for _ in 0..n {
            self.mine_with(Vec::new());
        }
    }

    /// Mines one block with a coinbase and `txs`.
    pub fn mine_with(&self, txs: Vec<Transaction>) -> Block {
        let mut inner = self.inner.lock().unwrap();
        let prev = inner.best.last().unwrap().block_hash();
        inner.counter += 1;
        let block = make_block(prev, inner.counter, txs);
        inner.best.push(block.clone());
        inner.all.push(block.clone());
        block
    }

    /// Drops the `n` best blocks (never genesis).
    pub fn disconnect(&self, n: usize) {
        let mut inner = self.inner.lock().unwrap();
        let keep = inner.best.len().saturating_sub(n).max(1);
        inner.best.truncate(keep);
    }

    pub fn tip_ref(&self) -> BlockRef {
        let inner = self.inner.lock().unwrap();
        BlockRef {
            height: BlockHeight(inner.best.len() as u32 - 1),
            hash: inner.best.last().unwrap().block_hash(),
        }
    }

    pub fn height(&self) -> u32 {
        self.inner.lock().unwrap().best.len() as u32 - 1
    }

    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.inner.lock().unwrap().best.get(height as usize).map(|b| b.block_hash())
    }
}

/// A coinbase-only-style block: the counter goes into the coinbase script so every block (and
/// so every fork) has a distinct hash.
pub fn make_block(prev: BlockHash, counter: u32, mut txs: Vec<Transaction>) -> Block {
    let coinbase = Transaction {
        version: transaction::Version::ONE,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(counter.to_le_bytes().to_vec()),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::from_sat(50), script_pubkey: ScriptBuf::new() }],
    };
    txs.insert(0, coinbase);
    let mut block = Block {
        header: Header {
            version: Version::TWO,
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::all_zeros(),
            time: counter,
            bits: CompactTarget::from_consensus(0x207fffff),
            nonce: counter,
        },
        txdata: txs,
    };
    block.header.merkle_root = block.compute_merkle_root().unwrap();
    block
}

/// A transaction spending `outpoint`, distinct per `tag`.
pub fn spend(outpoint: OutPoint, tag: u8) -> Transaction {
    Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(u64::from(tag) + 1),
            script_pubkey: ScriptBuf::new(),
        }],
    }
}

impl ChainSource for MemoryChain {
    fn tip(&self) -> ChainFuture<'_, BlockRef> {
        let tip = self.tip_ref();
        Box::pin(async move { Ok(tip) })
    }

    fn block_hash(&self, height: BlockHeight) -> ChainFuture<'_, Option<BlockHash>> {
        let hash = self.hash_at(height.0);
        Box::pin(async move { Ok(hash) })
    }

    fn header(&self, hash: BlockHash) -> ChainFuture<'_, Option<HeaderInfo>> {
        let inner = self.inner.lock().unwrap();
        let found = inner.best.iter().position(|b| b.block_hash() == hash).map(|h| HeaderInfo {
            header: inner.best[h].header,
            height: BlockHeight(h as u32),
            in_best_chain: true,
        });
        Box::pin(async move { Ok(found) })
    }

    fn block(&self, hash: BlockHash) -> ChainFuture<'_, Option<Block>> {
        let found = self.inner.lock().unwrap().all.iter().find(|b| b.block_hash() == hash).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn transaction(&self, _txid: Txid) -> ChainFuture<'_, Option<TxLookup>> {
        Box::pin(async move { Ok(None) })
    }

    fn unspent_output(&self, _o: OutPoint, _m: bool) -> ChainFuture<'_, Option<UnspentOutput>> {
        Box::pin(async move { Ok(None) })
    }

    fn mempool_txids(&self) -> ChainFuture<'_, Vec<Txid>> {
        Box::pin(async move { Ok(Vec::new()) })
    }
}
