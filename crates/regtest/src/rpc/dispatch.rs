//! Method table.

use serde_json::Value;

use crate::chain::RegtestChain;
use crate::rpc::protocol::{code, Params, RpcError};
use crate::rpc::{blockchain, mining, transactions};

type Method = fn(&RegtestChain, Params) -> Result<Value, RpcError>;

fn lookup(name: &str) -> Option<Method> {
    Some(match name {
        "getblockchaininfo" => blockchain::getblockchaininfo,
        "getblockcount" => blockchain::getblockcount,
        "getbestblockhash" => blockchain::getbestblockhash,
        "getblockhash" => blockchain::getblockhash,
        "getblockheader" => blockchain::getblockheader,
        "getblock" => blockchain::getblock,
        "invalidateblock" => blockchain::invalidateblock,
        "getrawtransaction" => transactions::getrawtransaction,
        "gettxout" => transactions::gettxout,
        "sendrawtransaction" => transactions::sendrawtransaction,
        "testmempoolaccept" => transactions::testmempoolaccept,
        "getrawmempool" => transactions::getrawmempool,
        "getmempoolentry" => transactions::getmempoolentry,
        "getmempoolinfo" => transactions::getmempoolinfo,
        "estimatesmartfee" => transactions::estimatesmartfee,
        "generatetoaddress" => mining::generatetoaddress,
        "generateblock" => mining::generateblock,
        "getnetworkinfo" => mining::getnetworkinfo,
        "uptime" => mining::uptime,
        _ => return None,
    })
}

/// Whether `name` is `stop` (handled by the server, which owns shutdown).
pub(crate) fn is_stop(name: &str) -> bool {
    name == "stop"
}

/// Runs a method (blocking: mining and validation happen on the calling thread).
pub(crate) fn call(chain: &RegtestChain, method: &str, params: Params) -> Result<Value, RpcError> {
    let f =
        lookup(method).ok_or_else(|| RpcError::new(code::METHOD_NOT_FOUND, "Method not found"))?;
    f(chain, params)
}
