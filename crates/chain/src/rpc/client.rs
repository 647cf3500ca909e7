//! [`RpcClient`]: the chain traits over Bitcoin Core's JSON-RPC interface.

use bitcoin::block::Header;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Amount, Block, BlockHash, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use serde::Deserialize;
use serde_json::{json, Value};
use shandian_types::{BlockHeight, FeeratePerKw};

use super::auth::RpcAuth;
use super::transport::{decode_hex, hex_bytes, Transport};
use super::RpcError;
use crate::source::{
    feerate_from_btc_per_kvb, BlockRef, Broadcaster, ChainFuture, ChainSource, FeeEstimator,
    HeaderInfo, TxLookup, UnspentOutput,
};
use crate::Error;

/// A bitcoind JSON-RPC client. Works unchanged against Bitcoin Core and `shandian chain`.
///
/// Cheap to share: hold it in an `Arc` and call it from any task.
pub struct RpcClient {
    transport: Transport,
    fallback_feerate: FeeratePerKw,
}

/// Core's `getblockchaininfo`, the fields we use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockchainInfo {
    /// `main`, `test`, `testnet4`, `signet` or `regtest`.
    pub chain: String,
    /// Height of the best block.
    pub blocks: u32,
    /// Hash of the best block.
    pub bestblockhash: BlockHash,
    /// Whether the node is still catching up.
    #[serde(default)]
    pub initialblockdownload: bool,
}

#[derive(Deserialize)]
struct VerboseHeader {
    height: u32,
    confirmations: i64,
}

#[derive(Deserialize)]
struct VerboseTx {
    hex: String,
    #[serde(default)]
    blockhash: Option<BlockHash>,
}

#[derive(Deserialize)]
struct ScriptPubKey {
    hex: String,
}

#[derive(Deserialize)]
struct TxOutReply {
    confirmations: u32,
    value: f64,
    #[serde(rename = "scriptPubKey")]
    script_pubkey: ScriptPubKey,
    coinbase: bool,
}

#[derive(Deserialize)]
struct SmartFee {
    #[serde(default)]
    feerate: Option<f64>,
}

impl RpcClient {
    /// A client for `url` (`http://host:port`, optionally with a `/wallet/..` path) with
    /// `auth`. No request is made until the first call.
    pub fn new(url: &str, auth: RpcAuth) -> Result<RpcClient, Error> {
        Ok(RpcClient {
            transport: Transport::new(url, auth)?,
            fallback_feerate: FeeratePerKw(FeeratePerKw::MIN_RELAY.0.saturating_mul(4)),
        })
    }

    /// The feerate [`FeeEstimator::estimate_feerate`] answers when the backend has no estimate
    /// (a fresh regtest chain always). Default: 1012 sat/kw (about 4 sat/vB).
    pub fn with_fallback_feerate(mut self, feerate: FeeratePerKw) -> RpcClient {
        self.fallback_feerate = feerate.max(FeeratePerKw::MIN_RELAY);
        self
    }

    /// Any method, raw: the escape hatch for calls this client has no typed method for
    /// (`generatetoaddress`, `invalidateblock`, ...).
    pub async fn call_raw(&self, method: &'static str, params: Vec<Value>) -> Result<Value, Error> {
        self.transport.call(method, params).await
    }

    /// `getblockchaininfo`.
    pub async fn blockchain_info(&self) -> Result<BlockchainInfo, Error> {
        self.transport.call("getblockchaininfo", vec![]).await
    }

    /// `getblockcount`.
    pub async fn block_count(&self) -> Result<BlockHeight, Error> {
        self.transport.call("getblockcount", vec![]).await.map(BlockHeight)
    }

    /// `getbestblockhash`.
    pub async fn best_block_hash(&self) -> Result<BlockHash, Error> {
        self.transport.call("getbestblockhash", vec![]).await
    }

    async fn get_block_hash(&self, height: BlockHeight) -> Result<Option<BlockHash>, Error> {
        match self.transport.call("getblockhash", vec![json!(height.0)]).await {
            Ok(hash) => Ok(Some(hash)),
            // Core: "Block height out of range".
            Err(Error::Rpc(e)) if e.code == RpcError::INVALID_PARAMETER => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_header(&self, hash: BlockHash) -> Result<Option<HeaderInfo>, Error> {
        const M: &str = "getblockheader";
        let verbose: VerboseHeader =
            match self.transport.call(M, vec![json!(hash), json!(true)]).await {
                Ok(v) => v,
                Err(Error::Rpc(e)) if e.code == RpcError::INVALID_ADDRESS_OR_KEY => {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            };
        let hex: String = self.transport.call(M, vec![json!(hash), json!(false)]).await?;
        let header: Header = decode_hex(M, &hex)?;
        Ok(Some(HeaderInfo {
            header,
            height: BlockHeight(verbose.height),
            // Core reports -1 confirmations for a block off the best chain.
            in_best_chain: verbose.confirmations >= 0,
        }))
    }

    async fn get_block(&self, hash: BlockHash) -> Result<Option<Block>, Error> {
        match self.transport.call::<String>("getblock", vec![json!(hash), json!(0)]).await {
            Ok(hex) => decode_hex("getblock", &hex).map(Some),
            Err(Error::Rpc(e)) if e.code == RpcError::INVALID_ADDRESS_OR_KEY => Ok(None),
            // Core answers -1 "Block not available (pruned data)".
            Err(Error::Rpc(e)) if e.code == RpcError::MISC_ERROR => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_transaction(&self, txid: Txid) -> Result<Option<TxLookup>, Error> {
        const M: &str = "getrawtransaction";
        let reply: VerboseTx = match self.transport.call(M, vec![json!(txid), json!(true)]).await {
            Ok(v) => v,
            Err(Error::Rpc(e)) if e.code == RpcError::INVALID_ADDRESS_OR_KEY => return Ok(None),
            Err(e) => return Err(e),
        };
        let tx: Transaction = decode_hex(M, &reply.hex)?;
        let confirmed_in = match reply.blockhash {
            None => None,
            Some(hash) => match self.get_header(hash).await? {
                Some(info) if info.in_best_chain => Some(BlockRef { height: info.height, hash }),
                _ => None,
            },
        };
        Ok(Some(TxLookup { tx, confirmed_in }))
    }

    async fn get_tx_out(
        &self,
        outpoint: OutPoint,
        include_mempool: bool,
    ) -> Result<Option<UnspentOutput>, Error> {
        const M: &str = "gettxout";
        let params = vec![json!(outpoint.txid), json!(outpoint.vout), json!(include_mempool)];
        let Some(reply) = self.transport.call::<Option<TxOutReply>>(M, params).await? else {
            return Ok(None);
        };
        let value = Amount::from_btc(reply.value).map_err(|e| Error::malformed(M, e))?;
        let script = hex_bytes(M, &reply.script_pubkey.hex)?;
        Ok(Some(UnspentOutput {
            txout: TxOut { value, script_pubkey: ScriptBuf::from_bytes(script) },
            confirmations: reply.confirmations,
            coinbase: reply.coinbase,
        }))
    }

    async fn send(&self, tx: &Transaction) -> Result<Txid, Error> {
        let txid = tx.compute_txid();
        match self
            .transport
            .call::<Txid>("sendrawtransaction", vec![json!(serialize_hex(tx))])
            .await
        {
            Ok(_) => Ok(txid),
            Err(Error::Rpc(e)) => Err(classify_rejection(txid, e)),
            Err(e) => Err(e),
        }
    }

    async fn estimate(&self, target_blocks: u16) -> Result<FeeratePerKw, Error> {
        const M: &str = "estimatesmartfee";
        let reply: SmartFee = self.transport.call(M, vec![json!(target_blocks.max(1))]).await?;
        // No estimate yet (too few blocks with transactions): use the configured fallback.
        let Some(btc_per_kvb) = reply.feerate else { return Ok(self.fallback_feerate) };
        feerate_from_btc_per_kvb(btc_per_kvb)
            .ok_or(Error::malformed(M, crate::error::MalformedReason::OutOfRange))
    }
}

/// Maps a `sendrawtransaction` error to the typed broadcast errors.
pub(crate) fn classify_rejection(txid: Txid, e: RpcError) -> Error {
    let reason = e.message;
    match e.code {
        RpcError::VERIFY_ALREADY_IN_CHAIN => Error::TxAlreadyInChain(txid),
        RpcError::VERIFY_ERROR => Error::TxInputsMissingOrSpent { txid, reason },
        RpcError::VERIFY_REJECTED | RpcError::DESERIALIZATION_ERROR => {
            if reason.contains("txn-already-in-mempool") || reason.contains("txn-already-known") {
                Error::TxAlreadyInMempool(txid)
            } else if reason.contains("txn-mempool-conflict") {
                Error::TxConflict { txid, reason }
            } else if reason.contains("missingorspent") {
                Error::TxInputsMissingOrSpent { txid, reason }
            } else {
                Error::TxRejected { txid, reason }
            }
        }
        code => Error::Rpc(RpcError { code, message: reason }),
    }
}

impl ChainSource for RpcClient {
    fn tip(&self) -> ChainFuture<'_, BlockRef> {
        Box::pin(async move {
            // Two calls can straddle a new block: ask for the hash at the height, so the pair is
            // always consistent (retrying once if the chain shrank in between).
            for _ in 0..3 {
                let height = self.block_count().await?;
                if let Some(hash) = self.get_block_hash(height).await? {
                    return Ok(BlockRef { height, hash });
                }
            }
            let height = self.block_count().await?;
            Err(Error::HeightMissing(height))
        })
    }

    fn block_hash(&self, height: BlockHeight) -> ChainFuture<'_, Option<BlockHash>> {
        Box::pin(self.get_block_hash(height))
    }

    fn header(&self, hash: BlockHash) -> ChainFuture<'_, Option<HeaderInfo>> {
        Box::pin(self.get_header(hash))
    }

    fn block(&self, hash: BlockHash) -> ChainFuture<'_, Option<Block>> {
        Box::pin(self.get_block(hash))
    }

    fn transaction(&self, txid: Txid) -> ChainFuture<'_, Option<TxLookup>> {
        Box::pin(self.get_transaction(txid))
    }

    fn unspent_output(
        &self,
        outpoint: OutPoint,
        include_mempool: bool,
    ) -> ChainFuture<'_, Option<UnspentOutput>> {
        Box::pin(self.get_tx_out(outpoint, include_mempool))
    }

    fn mempool_txids(&self) -> ChainFuture<'_, Vec<Txid>> {
        Box::pin(self.transport.call("getrawmempool", vec![]))
    }
}

impl Broadcaster for RpcClient {
    fn broadcast<'a>(&'a self, tx: &'a Transaction) -> ChainFuture<'a, Txid> {
        Box::pin(self.send(tx))
    }
}

impl FeeEstimator for RpcClient {
    fn estimate_feerate(&self, target_blocks: u16) -> ChainFuture<'_, FeeratePerKw> {
        Box::pin(self.estimate(target_blocks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txid() -> Txid {
        bitcoin::hashes::Hash::all_zeros()
    }

    fn rpc(code: i64, message: &str) -> RpcError {
        RpcError { code, message: message.to_owned() }
    }

    #[test]
    fn rejections_are_classified() {
        let t = txid();
        assert!(matches!(classify_rejection(t, rpc(-27, "x")), Error::TxAlreadyInChain(_)));
        let e = classify_rejection(t, rpc(-25, "bad-txns-inputs-missingorspent"));
        assert!(e.is_double_spend());
        let e = classify_rejection(t, rpc(-26, "txn-mempool-conflict"));
        assert!(matches!(e, Error::TxConflict { .. }) && e.is_double_spend());
        let e = classify_rejection(t, rpc(-26, "txn-already-in-mempool"));
        assert!(e.is_already_known());
        let e = classify_rejection(t, rpc(-26, "bad-txns-premature-spend-of-coinbase"));
        assert!(matches!(e, Error::TxRejected { ref reason, .. } if reason.contains("coinbase")));
        assert!(matches!(classify_rejection(t, rpc(-1, "x")), Error::Rpc(_)));
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(matches!(RpcClient::new("not a url", RpcAuth::None), Err(Error::InvalidUrl(_))));
        assert!(matches!(RpcClient::new("https://h:1", RpcAuth::None), Err(Error::InvalidUrl(_))));
        assert!(RpcClient::new("http://127.0.0.1:18443", RpcAuth::None).is_ok());
    }
}
