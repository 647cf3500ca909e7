//! A short memory of the blocks the backend delivered: which transactions each confirmed and
//! which outputs each spent, so a watch registered *after* its block went by still finds it
//! (the follower only searches blocks connected after a watch).

use std::collections::VecDeque;

use bitcoin::{Block, OutPoint, Txid};

use shandian_chain::BlockRef;

/// What one block confirmed.
#[derive(Debug, Clone)]
struct Summary {
    block: BlockRef,
    txids: Vec<Txid>,
    /// Every input's previous output, with the spending transaction.
    spends: Vec<(OutPoint, Txid)>,
}

/// The last `capacity` best-chain blocks, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct RecentBlocks {
    blocks: VecDeque<Summary>,
    capacity: usize,
}

impl RecentBlocks {
    /// Remembers at most `capacity` blocks (at least one).
    pub(crate) fn new(capacity: usize) -> RecentBlocks {
        RecentBlocks { blocks: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Records a connected block.
    pub(crate) fn connect(&mut self, block: &Block, at: BlockRef) {
        // A reconnect at a height we hold replaces it and everything above (a reorg seen as
        // connects only).
        while self.blocks.back().is_some_and(|s| s.block.height >= at.height) {
            self.blocks.pop_back();
        }
        let mut txids = Vec::with_capacity(block.txdata.len());
        let mut spends = Vec::new();
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            txids.push(txid);
            if !tx.is_coinbase() {
                spends.extend(tx.input.iter().map(|i| (i.previous_output, txid)));
            }
        }
        self.blocks.push_back(Summary { block: at, txids, spends });
        while self.blocks.len() > self.capacity {
            self.blocks.pop_front();
        }
    }

    /// Forgets a disconnected block (and anything above it).
    pub(crate) fn disconnect(&mut self, gone: BlockRef) {
        while self.blocks.back().is_some_and(|s| s.block.height >= gone.height) {
            self.blocks.pop_back();
        }
    }

    /// The remembered block confirming `txid`, and its position in the block.
    pub(crate) fn find_tx(&self, txid: &Txid) -> Option<(BlockRef, u32)> {
        self.blocks.iter().rev().find_map(|s| {
            let index = s.txids.iter().position(|t| t == txid)?;
            Some((s.block, u32::try_from(index).ok()?))
        })
    }

    /// The remembered spend of `outpoint`: the spender and its block.
    pub(crate) fn find_spend(&self, outpoint: &OutPoint) -> Option<(Txid, BlockRef)> {
        self.blocks.iter().rev().find_map(|s| {
            s.spends.iter().find(|(o, _)| o == outpoint).map(|(_, spender)| (*spender, s.block))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::block::{Header, Version};
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version as TxVersion;
    use bitcoin::{
        Amount, BlockHash, CompactTarget, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode,
        TxOut, Witness,
    };
    use shandian_types::BlockHeight;

    fn tx(spending: OutPoint) -> Transaction {
        Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: spending,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut { value: Amount::from_sat(1000), script_pubkey: ScriptBuf::new() }],
        }
    }

    fn block(txs: Vec<Transaction>, nonce: u32) -> Block {
        let header = Header {
            version: Version::TWO,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: 0,
            bits: CompactTarget::from_consensus(0),
            nonce,
        };
        Block { header, txdata: txs }
    }

    fn at(height: u32, b: &Block) -> BlockRef {
        BlockRef { height: BlockHeight(height), hash: b.block_hash() }
    }

    #[test]
    fn finds_transactions_and_spends_until_disconnected_or_forgotten() {
        let spent = OutPoint { txid: Txid::all_zeros(), vout: 3 };
        let first = tx(spent);
        let b1 = block(vec![first.clone()], 1);
        let mut recent = RecentBlocks::new(2);
        recent.connect(&b1, at(10, &b1));
        assert_eq!(recent.find_tx(&first.compute_txid()), Some((at(10, &b1), 0)));
        assert_eq!(recent.find_spend(&spent), Some((first.compute_txid(), at(10, &b1))));
        assert_eq!(recent.find_spend(&OutPoint { txid: Txid::all_zeros(), vout: 4 }), None);

        // A reorg replacing height 10 forgets the old block's contents.
        let b1b = block(vec![], 2);
        recent.connect(&b1b, at(10, &b1b));
        assert_eq!(recent.find_tx(&first.compute_txid()), None);

        // Capacity: the oldest block falls out.
        let second = tx(OutPoint { txid: first.compute_txid(), vout: 0 });
        let b2 = block(vec![second.clone()], 3);
        let b3 = block(vec![], 4);
        recent.connect(&b2, at(11, &b2));
        recent.connect(&b3, at(12, &b3));
        assert_eq!(recent.find_tx(&second.compute_txid()), Some((at(11, &b2), 0)));
        let b4 = block(vec![], 5);
        recent.connect(&b4, at(13, &b4));
        assert_eq!(recent.find_tx(&second.compute_txid()), None);

        recent.disconnect(at(13, &b4));
        recent.disconnect(at(12, &b3));
        assert_eq!(recent.find_tx(&second.compute_txid()), None);
    }
}
