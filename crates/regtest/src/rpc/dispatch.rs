//! Method table.

use serde_json::Value;

use crate::chain::RegtestChain;
use crate::rpc::protocol::{code, Params, RpcError};
use crate::rpc::{blockchain, extras, mining, transactions};

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
        "submitblock" => extras::submitblock,
        "getchaintips" => extras::getchaintips,
        "decoderawtransaction" => extras::decoderawtransaction,
        "getdifficulty" => extras::getdifficulty,
        "getconnectioncount" => extras::getconnectioncount,
        "ping" => extras::ping,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::protocol::parse_call;
    use bitcoin::ScriptBuf;
    use proptest::prelude::*;
    use serde_json::json;

    const METHODS: &[&str] = &[
        "getblockchaininfo",
        "getblockcount",
        "getbestblockhash",
        "getblockhash",
        "getblockheader",
        "getblock",
        "invalidateblock",
        "getrawtransaction",
        "gettxout",
        "sendrawtransaction",
        "testmempoolaccept",
        "getrawmempool",
        "getmempoolentry",
        "getmempoolinfo",
        "estimatesmartfee",
        "generatetoaddress",
        "generateblock",
        "getnetworkinfo",
        "uptime",
        "submitblock",
        "getchaintips",
        "decoderawtransaction",
        "getdifficulty",
        "nosuchmethod",
    ];

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..300).prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            "[0-9a-f]{0,70}".prop_map(Value::from),
            ".{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,12}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Nothing a client sends panics: every method with arbitrary parameters returns a value
    /// or a Core-style error.
    #[test]
    fn arbitrary_requests_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let chain = RegtestChain::open(dir.path()).unwrap();
        chain.mine(2, &ScriptBuf::new_op_return([1u8; 4])).unwrap();
        let config = ProptestConfig { cases: 2_000, ..ProptestConfig::default() };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let strategy = (0..METHODS.len(), arb_json(), arb_json());
        runner
            .run(&strategy, |(method, params, id)| {
                let request = json!({"method": METHODS[method], "params": params, "id": id});
                if let Ok(req) = parse_call(request) {
                    let _ = call(&chain, &req.method, req.params);
                }
                Ok(())
            })
            .unwrap();
    }
}
