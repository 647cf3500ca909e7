//! An in-memory chain for driving channel managers without a real chain: funding
//! transactions with made-up inputs, a mempool that `mine` puts into the next block, and the
//! follower's `BlockConnected` events to every subscriber.

use std::sync::Mutex;

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxMerkleNode, TxOut, Txid, WPubkeyHash, Witness,
};
use shandian_chain::{BlockRef, ChainEvent, FundingTx};
use shandian_node::channels::{ChainCall, ChainOpError, ChannelChain};
use shandian_node::onchain::SpendLookup;
use shandian_types::{BlockHeight, FeeratePerKw};
use tokio::sync::mpsc;

#[derive(Default)]
struct Inner {
    height: u32,
    mempool: Vec<Transaction>,
    blocks: Vec<(u32, Vec<Transaction>)>,
    subscribers: Vec<mpsc::UnboundedSender<ChainEvent>>,
    counter: u32,
}

/// See the module docs.
#[derive(Default)]
pub struct MemoryChain {
    inner: Mutex<Inner>,
}

impl MemoryChain {
    /// Mines one block holding the mempool; returns its height.
    pub fn mine(&self) -> u32 {
        let mut inner = self.inner.lock().unwrap();
        inner.height += 1;
        let height = inner.height;
        let txdata = std::mem::take(&mut inner.mempool);
        inner.blocks.push((height, txdata.clone()));
        let header = Header {
            version: BlockVersion::TWO,
            prev_blockhash: BlockHash::from_byte_array([height as u8; 32]),
            merkle_root: TxMerkleNode::all_zeros(),
            time: height,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: height,
        };
        let block = std::sync::Arc::new(Block { header, txdata });
        inner.subscribers.retain(|s| {
            s.send(ChainEvent::BlockConnected { block: block.clone(), height: BlockHeight(height) })
                .is_ok()
        });
        height
    }

    /// Whether `txid` is in a block.
    pub fn confirmed(&self, txid: &Txid) -> bool {
        let inner = self.inner.lock().unwrap();
        inner.blocks.iter().any(|(_, txs)| txs.iter().any(|t| t.compute_txid() == *txid))
    }

    /// Whether `txid` waits in the mempool.
    pub fn in_mempool(&self, txid: &Txid) -> bool {
        self.inner.lock().unwrap().mempool.iter().any(|t| t.compute_txid() == *txid)
    }

    fn next(&self) -> u32 {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        inner.counter
    }
}

impl ChannelChain for MemoryChain {
    fn subscribe(&self) -> mpsc::UnboundedReceiver<ChainEvent> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.inner.lock().unwrap().subscribers.push(sender);
        receiver
    }

    fn best_height(&self) -> ChainCall<'_, BlockHeight> {
        let height = self.inner.lock().unwrap().height;
        Box::pin(async move { BlockHeight(height) })
    }

    fn fund(
        &self,
        script: ScriptBuf,
        amount: Amount,
    ) -> ChainCall<'_, Result<FundingTx, ChainOpError>> {
        let n = self.next();
        let mut previous = [0u8; 32];
        previous[..4].copy_from_slice(&n.to_be_bytes());
        let tx = Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint { txid: Txid::from_byte_array(previous), vout: 0 },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut { value: amount, script_pubkey: script }],
        };
        Box::pin(async move { Ok(FundingTx { tx, output_index: 0, fee: Amount::ZERO }) })
    }

    fn abandon(&self, _: Txid) -> ChainCall<'_, ()> {
        Box::pin(async {})
    }

    fn broadcast(&self, tx: Transaction) -> ChainCall<'_, Result<(), ChainOpError>> {
        let mut inner = self.inner.lock().unwrap();
        let txid = tx.compute_txid();
        let known = inner.mempool.iter().chain(inner.blocks.iter().flat_map(|(_, t)| t.iter()));
        if !known.map(Transaction::compute_txid).any(|t| t == txid) {
            inner.mempool.push(tx);
        }
        Box::pin(async { Ok(()) })
    }

    fn watch_tx(&self, _: Txid) -> ChainCall<'_, ()> {
        Box::pin(async {})
    }

    fn watch_output(&self, _: OutPoint) -> ChainCall<'_, ()> {
        Box::pin(async {})
    }

    fn transaction_position(
        &self,
        txid: Txid,
    ) -> ChainCall<'_, Option<(Transaction, BlockHeight, u32)>> {
        let inner = self.inner.lock().unwrap();
        let found = inner.blocks.iter().find_map(|(height, txs)| {
            let index = txs.iter().position(|t| t.compute_txid() == txid)?;
            Some((txs[index].clone(), BlockHeight(*height), index as u32))
        });
        Box::pin(async move { found })
    }

    fn find_spend(
        &self,
        outpoint: OutPoint,
        from: BlockHeight,
    ) -> ChainCall<'_, Result<SpendLookup, ChainOpError>> {
        let inner = self.inner.lock().unwrap();
        let found = inner.blocks.iter().filter(|(height, _)| *height >= from.0).find_map(
            |(height, txs)| {
                let tx =
                    txs.iter().find(|t| t.input.iter().any(|i| i.previous_output == outpoint))?;
                let hash = BlockHash::from_byte_array([*height as u8; 32]);
                let block = BlockRef { height: BlockHeight(*height), hash };
                Some(SpendLookup::Spent { txid: tx.compute_txid(), block })
            },
        );
        Box::pin(async move { Ok(found.unwrap_or(SpendLookup::Unspent)) })
    }

    fn feerate(&self) -> ChainCall<'_, FeeratePerKw> {
        Box::pin(async { FeeratePerKw(1000) })
    }

    fn shutdown_script(&self) -> ChainCall<'_, Result<ScriptBuf, ChainOpError>> {
        let n = self.next();
        let mut hash = [0u8; 20];
        hash[..4].copy_from_slice(&n.to_be_bytes());
        let script = ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array(hash));
        Box::pin(async move { Ok(script) })
    }
}
