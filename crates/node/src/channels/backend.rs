//! The node's chain backend as the channel manager's [`ChannelChain`].

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, Txid};
use shandian_chain::{ChainEvent, FundingTx};
use shandian_types::{BlockHeight, FeeratePerKw};
use tokio::sync::mpsc;

use super::chain::{ChainCall, ChannelChain, SpendLookup};
use super::error::ChainOpError;
use crate::onchain::ChainBackend;

impl ChannelChain for ChainBackend {
    fn subscribe(&self) -> mpsc::UnboundedReceiver<ChainEvent> {
        ChainBackend::subscribe(self)
    }

    fn best_height(&self) -> ChainCall<'_, BlockHeight> {
        Box::pin(async move { self.best_block().await.height })
    }

    fn fund(
        &self,
        script: ScriptBuf,
        amount: Amount,
    ) -> ChainCall<'_, Result<FundingTx, ChainOpError>> {
        Box::pin(async move { ChainBackend::fund(self, script, amount).await.map_err(Into::into) })
    }

    fn abandon(&self, txid: Txid) -> ChainCall<'_, ()> {
        Box::pin(ChainBackend::abandon(self, txid))
    }

    fn broadcast(&self, tx: Transaction) -> ChainCall<'_, Result<(), ChainOpError>> {
        Box::pin(async move { ChainBackend::broadcast(self, tx).await.map_err(Into::into) })
    }

    fn watch_tx(&self, txid: Txid) -> ChainCall<'_, ()> {
        Box::pin(ChainBackend::watch_tx(self, txid))
    }

    fn watch_output(&self, outpoint: OutPoint) -> ChainCall<'_, ()> {
        Box::pin(ChainBackend::watch_output(self, outpoint))
    }

    fn transaction_position(
        &self,
        txid: Txid,
    ) -> ChainCall<'_, Option<(Transaction, BlockHeight, u32)>> {
        Box::pin(ChainBackend::transaction_position(self, txid))
    }

    fn find_spend(
        &self,
        outpoint: OutPoint,
        from: BlockHeight,
    ) -> ChainCall<'_, Result<SpendLookup, ChainOpError>> {
        Box::pin(async move { self.lookup_spend(outpoint, from).await.map_err(Into::into) })
    }

    fn feerate(&self) -> ChainCall<'_, FeeratePerKw> {
        Box::pin(ChainBackend::feerate(self))
    }

    fn shutdown_script(&self) -> ChainCall<'_, Result<ScriptBuf, ChainOpError>> {
        Box::pin(async move { ChainBackend::shutdown_script(self).await.map_err(Into::into) })
    }
}
