//! What the channel manager needs from the chain: the follower's events, the wallet (funding,
//! closing scripts), broadcasting and fee estimates. The node's chain backend implements it;
//! tests and benches may drive the manager with their own.

use std::future::Future;
use std::pin::Pin;

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, Txid};
use shandian_chain::{ChainEvent, FundingTx};
use shandian_types::{BlockHeight, FeeratePerKw};
use tokio::sync::mpsc;

use super::error::ChainOpError;
pub use crate::onchain::SpendLookup;

/// A boxed, sendable future.
pub type ChainCall<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The chain as the channel manager uses it.
pub trait ChannelChain: Send + Sync + 'static {
    /// Every follower event from now on, in order.
    fn subscribe(&self) -> mpsc::UnboundedReceiver<ChainEvent>;
    /// The height of the best block.
    fn best_height(&self) -> ChainCall<'_, BlockHeight>;
    /// A wallet-funded, signed, unbroadcast transaction paying `amount` to `script`.
    fn fund(
        &self,
        script: ScriptBuf,
        amount: Amount,
    ) -> ChainCall<'_, Result<FundingTx, ChainOpError>>;
    /// Releases the inputs of a funding transaction that will never be broadcast.
    fn abandon(&self, txid: Txid) -> ChainCall<'_, ()>;
    /// Broadcasts `tx` (and keeps rebroadcasting it until it confirms).
    fn broadcast(&self, tx: Transaction) -> ChainCall<'_, Result<(), ChainOpError>>;
    /// Reports `txid`'s confirmations through the follower.
    fn watch_tx(&self, txid: Txid) -> ChainCall<'_, ()>;
    /// Reports spends of `outpoint` through the follower.
    fn watch_output(&self, outpoint: OutPoint) -> ChainCall<'_, ()>;
    /// Where a confirmed transaction is: the transaction, its block height and its index in
    /// the block.
    fn transaction_position(
        &self,
        txid: Txid,
    ) -> ChainCall<'_, Option<(Transaction, BlockHeight, u32)>>;
    /// Whether a confirmed transaction spent `outpoint` (a funding output), looking for the
    /// spend in blocks from `from` (the funding's height) up: a channel restored after the
    /// node was down learns that its peer closed it meanwhile.
    fn find_spend(
        &self,
        outpoint: OutPoint,
        from: BlockHeight,
    ) -> ChainCall<'_, Result<SpendLookup, ChainOpError>>;
    /// The feerate for new commitments.
    fn feerate(&self) -> ChainCall<'_, FeeratePerKw>;
    /// A fresh wallet script for our closing output.
    fn shutdown_script(&self) -> ChainCall<'_, Result<ScriptBuf, ChainOpError>>;
}
