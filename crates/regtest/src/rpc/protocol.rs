//! The JSON-RPC envelope as Bitcoin Core speaks it: 1.0 (no `jsonrpc` field) and 2.0 requests,
//! batches, replies that always carry both `result` and `error`, and Core's HTTP statuses.

use serde_json::{json, Map, Value};

/// JSON-RPC error codes Bitcoin Core uses.
pub(crate) mod code {
    pub(crate) const PARSE_ERROR: i32 = -32700;
    pub(crate) const INVALID_REQUEST: i32 = -32600;
    pub(crate) const METHOD_NOT_FOUND: i32 = -32601;
    pub(crate) const MISC_ERROR: i32 = -1;
    pub(crate) const TYPE_ERROR: i32 = -3;
    pub(crate) const INVALID_ADDRESS_OR_KEY: i32 = -5;
    pub(crate) const INVALID_PARAMETER: i32 = -8;
    pub(crate) const DESERIALIZATION_ERROR: i32 = -22;
    pub(crate) const VERIFY_ERROR: i32 = -25;
    pub(crate) const DATABASE_ERROR: i32 = -20;
}

/// An error reply: Core's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RpcError {
    pub(crate) code: i32,
    pub(crate) message: String,
}

impl RpcError {
    pub(crate) fn new(code: i32, message: impl Into<String>) -> RpcError {
        RpcError { code, message: message.into() }
    }

    fn to_json(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }
}

/// A request that passed envelope checks.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) id: Value,
    pub(crate) version2: bool,
    /// A 2.0 request without `id`: executed, never answered.
    pub(crate) notification: bool,
    pub(crate) method: String,
    pub(crate) params: Params,
}

/// Positional or named parameters.
#[derive(Debug)]
pub(crate) enum Params {
    Positional(Vec<Value>),
    Named(Map<String, Value>),
}

/// Reads one request object. On error returns the reply to send (with the id, when known).
pub(crate) fn parse_call(value: Value) -> Result<Call, (Value, bool, RpcError)> {
    let Value::Object(mut obj) = value else {
        return Err((
            Value::Null,
            false,
            RpcError::new(code::INVALID_REQUEST, "Invalid Request object"),
        ));
    };
    let id = obj.remove("id");
    let version2 = match obj.get("jsonrpc") {
        None => false,
        Some(Value::String(v)) if v == "2.0" => true,
        Some(Value::String(v)) if v == "1.0" || v == "1.1" => false,
        Some(_) => {
            let err = RpcError::new(code::INVALID_REQUEST, "JSON-RPC version not supported");
            return Err((id.unwrap_or(Value::Null), false, err));
        }
    };
    let notification = version2 && id.is_none();
    let id = id.unwrap_or(Value::Null);
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        None => return Err((id, version2, RpcError::new(code::INVALID_REQUEST, "Missing method"))),
        Some(_) => {
            return Err((
                id,
                version2,
                RpcError::new(code::INVALID_REQUEST, "Method must be a string"),
            ))
        }
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Params::Positional(Vec::new()),
        Some(Value::Array(a)) => Params::Positional(a),
        Some(Value::Object(o)) => Params::Named(o),
        Some(_) => {
            let err = RpcError::new(code::INVALID_REQUEST, "Params must be an array or object");
            return Err((id, version2, err));
        }
    };
    Ok(Call { id, version2, notification, method, params })
}

/// A reply object; both `result` and `error` are always present, as in Core's 1.0 replies.
pub(crate) fn reply(id: Value, version2: bool, outcome: Result<Value, RpcError>) -> Value {
    let mut obj = Map::new();
    if version2 {
        obj.insert("jsonrpc".into(), json!("2.0"));
    }
    match outcome {
        Ok(result) => {
            obj.insert("result".into(), result);
            obj.insert("error".into(), Value::Null);
        }
        Err(e) => {
            obj.insert("result".into(), Value::Null);
            obj.insert("error".into(), e.to_json());
        }
    }
    obj.insert("id".into(), id);
    Value::Object(obj)
}

/// Core's HTTP status for a single (non-batch) legacy reply: 400 for an invalid request, 404
/// for an unknown method, 500 for other errors; 2.0 replies are always 200.
pub(crate) fn http_status(version2: bool, outcome: &Result<Value, RpcError>) -> u16 {
    match outcome {
        Ok(_) => 200,
        Err(_) if version2 => 200,
        Err(e) if e.code == code::INVALID_REQUEST => 400,
        Err(e) if e.code == code::METHOD_NOT_FOUND => 404,
        Err(_) => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_v2_envelopes() {
        let call = parse_call(json!({"method": "getblockcount", "id": "x"})).unwrap();
        assert!(!call.version2 && !call.notification);
        let call = parse_call(json!({"jsonrpc": "2.0", "method": "getblockcount"})).unwrap();
        assert!(call.version2 && call.notification);
        let (_, _, err) = parse_call(json!({"id": 1})).unwrap_err();
        assert_eq!(err.code, code::INVALID_REQUEST);
        let (_, _, err) = parse_call(json!([1])).unwrap_err();
        assert_eq!(err.message, "Invalid Request object");
        let (_, _, err) = parse_call(json!({"method": "x", "params": 3})).unwrap_err();
        assert_eq!(err.code, code::INVALID_REQUEST);
        let r = reply(json!(1), false, Ok(json!(5)));
        assert_eq!(r, json!({"result": 5, "error": null, "id": 1}));
    }
}
