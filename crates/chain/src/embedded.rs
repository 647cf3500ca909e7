//! [`EmbeddedChain`]: the chain traits over the in-process regtest chain (`shandian-regtest`),
//! for tests and the demo. Feature `embedded`.
//!
//! The regtest chain's calls are synchronous (one lock; block reads and script checks do
//! work), so each runs on tokio's blocking pool and never stalls the async runtime. A tokio
//! runtime is therefore required, as everywhere in the node.

use std::sync::Arc;

use bitcoin::{Block, BlockHash, OutPoint, Transaction, Txid};
use shandian_regtest::RegtestChain;
use shandian_types::{BlockHeight, FeeratePerKw};

use crate::rpc::classify_rejection;
use crate::{
    BlockRef, Broadcaster, ChainFuture, ChainSource, Error, FeeEstimator, HeaderInfo, RpcError,
    TxLookup, UnspentOutput,
};

/// The chain traits over an in-process [`RegtestChain`]. Answers exactly what the JSON-RPC
/// client answers against `shandian chain` serving the same chain.
#[derive(Clone)]
pub struct EmbeddedChain {
    chain: Arc<RegtestChain>,
}

impl EmbeddedChain {
    /// Wraps an open regtest chain.
    pub fn new(chain: Arc<RegtestChain>) -> EmbeddedChain {
        EmbeddedChain { chain }
    }

    /// The regtest chain itself (to mine, reorg, ...).
    pub fn chain(&self) -> &Arc<RegtestChain> {
        &self.chain
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&RegtestChain) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let chain = Arc::clone(&self.chain);
        tokio::task::spawn_blocking(move || f(&chain))
            .await
            .map_err(|_| Error::EmbeddedTaskFailed)?
    }
}

fn header_info(info: shandian_regtest::HeaderInfo) -> HeaderInfo {
    // The regtest chain only reports blocks of its active chain.
    HeaderInfo { header: info.header, height: BlockHeight(info.height), in_best_chain: true }
}

impl ChainSource for EmbeddedChain {
    fn tip(&self) -> ChainFuture<'_, BlockRef> {
        Box::pin(self.run(|c| {
            let tip = c.tip();
            Ok(BlockRef { height: BlockHeight(tip.height), hash: tip.hash })
        }))
    }

    fn block_hash(&self, height: BlockHeight) -> ChainFuture<'_, Option<BlockHash>> {
        Box::pin(self.run(move |c| Ok(c.block_hash(height.0))))
    }

    fn header(&self, hash: BlockHash) -> ChainFuture<'_, Option<HeaderInfo>> {
        Box::pin(self.run(move |c| Ok(c.header(&hash).map(header_info))))
    }

    fn block(&self, hash: BlockHash) -> ChainFuture<'_, Option<Block>> {
        Box::pin(self.run(move |c| match c.block(&hash) {
            Ok(block) => Ok(Some(block)),
            Err(shandian_regtest::Error::BlockNotFound(_)) => Ok(None),
            Err(e) => Err(Error::Embedded(Box::new(e))),
        }))
    }

    fn transaction(&self, txid: Txid) -> ChainFuture<'_, Option<TxLookup>> {
        Box::pin(self.run(move |c| {
            Ok(c.transaction(&txid).map(|info| TxLookup {
                tx: info.tx,
                confirmed_in: info
                    .block
                    .map(|b| BlockRef { height: BlockHeight(b.height), hash: b.hash }),
            }))
        }))
    }

    fn unspent_output(
        &self,
        outpoint: OutPoint,
        include_mempool: bool,
    ) -> ChainFuture<'_, Option<UnspentOutput>> {
        Box::pin(self.run(move |c| {
            Ok(c.tx_out(&outpoint, include_mempool).map(|o| UnspentOutput {
                txout: o.txout,
                confirmations: o.confirmations,
                coinbase: o.coinbase,
            }))
        }))
    }

    fn mempool_txids(&self) -> ChainFuture<'_, Vec<Txid>> {
        Box::pin(self.run(|c| Ok(c.mempool_txids())))
    }
}

impl Broadcaster for EmbeddedChain {
    fn broadcast<'a>(&'a self, tx: &'a Transaction) -> ChainFuture<'a, Txid> {
        let tx = tx.clone();
        Box::pin(self.run(move |c| {
            let txid = tx.compute_txid();
            // The same mapping as over RPC, from the code and reason the server would send.
            c.submit_tx(tx).map_err(|reject| {
                let rpc = RpcError {
                    code: i64::from(reject.rpc_code()),
                    message: reject.reject_reason(),
                };
                classify_rejection(txid, rpc)
            })
        }))
    }
}

impl FeeEstimator for EmbeddedChain {
    fn estimate_feerate(&self, target_blocks: u16) -> ChainFuture<'_, FeeratePerKw> {
        Box::pin(self.run(move |c| {
            let per_kvb = c.estimate_fee(target_blocks).feerate_per_kvb;
            // sat/kvB to sat/kw: 1 vB = 4 weight units; round up.
            let per_kw = u32::try_from(per_kvb.div_ceil(4)).unwrap_or(u32::MAX);
            Ok(FeeratePerKw(per_kw).max(FeeratePerKw::MIN_RELAY))
        }))
    }
}
