//! Method parameters: positional or named, with Core's type checks and error messages.

use std::str::FromStr;

use serde_json::Value;

use crate::rpc::protocol::{code, Params, RpcError};

/// A method's parameters, normalised to positions.
pub(crate) struct Args {
    values: Vec<Value>,
    usage: &'static str,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) fn type_error(v: &Value, expected: &str) -> RpcError {
    RpcError::new(
        code::TYPE_ERROR,
        format!("JSON value of type {} is not of expected type {expected}", type_name(v)),
    )
}

impl Args {
    /// `names` lists the method's parameters in order; `required` how many must be present.
    pub(crate) fn new(
        params: Params,
        names: &[&str],
        required: usize,
        usage: &'static str,
    ) -> Result<Args, RpcError> {
        let values = match params {
            Params::Positional(values) => values,
            Params::Named(map) => {
                let mut values = vec![Value::Null; names.len()];
                for (key, value) in map {
                    // A name may list aliases: "verbosity|verbose".
                    let pos = names.iter().position(|n| n.split('|').any(|a| a == key));
                    let pos = pos.ok_or_else(|| {
                        RpcError::new(
                            code::INVALID_PARAMETER,
                            format!("Unknown named parameter {key}"),
                        )
                    })?;
                    if let Some(slot) = values.get_mut(pos) {
                        *slot = value;
                    }
                }
                while values.last() == Some(&Value::Null) {
                    values.pop();
                }
                values
            }
        };
        let missing = values.iter().take(required).filter(|v| v.is_null()).count();
        if values.len() > names.len() || values.len() < required || missing > 0 {
            return Err(RpcError::new(code::MISC_ERROR, usage));
        }
        Ok(Args { values, usage })
    }

    /// Parameter `i`, `None` when absent or null.
    pub(crate) fn opt(&self, i: usize) -> Option<&Value> {
        self.values.get(i).filter(|v| !v.is_null())
    }

    fn req(&self, i: usize) -> Result<&Value, RpcError> {
        self.opt(i).ok_or_else(|| RpcError::new(code::MISC_ERROR, self.usage))
    }

    pub(crate) fn i64(&self, i: usize) -> Result<i64, RpcError> {
        let v = self.req(i)?;
        v.as_i64().ok_or_else(|| type_error(v, "number"))
    }

    pub(crate) fn opt_i64(&self, i: usize) -> Result<Option<i64>, RpcError> {
        self.opt(i).map(|v| v.as_i64().ok_or_else(|| type_error(v, "number"))).transpose()
    }

    pub(crate) fn opt_f64(&self, i: usize) -> Result<Option<f64>, RpcError> {
        self.opt(i).map(|v| v.as_f64().ok_or_else(|| type_error(v, "number"))).transpose()
    }

    pub(crate) fn str(&self, i: usize) -> Result<&str, RpcError> {
        let v = self.req(i)?;
        v.as_str().ok_or_else(|| type_error(v, "string"))
    }

    pub(crate) fn opt_str(&self, i: usize) -> Result<Option<&str>, RpcError> {
        self.opt(i).map(|v| v.as_str().ok_or_else(|| type_error(v, "string"))).transpose()
    }

    pub(crate) fn opt_bool(&self, i: usize) -> Result<Option<bool>, RpcError> {
        self.opt(i).map(|v| v.as_bool().ok_or_else(|| type_error(v, "bool"))).transpose()
    }

    pub(crate) fn array(&self, i: usize) -> Result<&Vec<Value>, RpcError> {
        let v = self.req(i)?;
        v.as_array().ok_or_else(|| type_error(v, "array"))
    }

    /// A verbosity given as a bool (false = 0, true = 1) or a number.
    pub(crate) fn verbosity(&self, i: usize, default: i64) -> Result<i64, RpcError> {
        match self.opt(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            Some(v) => v.as_i64().ok_or_else(|| type_error(v, "number")),
        }
    }

    /// A 256-bit hash in hex, checked as Core's `ParseHashV` does.
    pub(crate) fn hash<H: FromStr>(&self, i: usize, name: &str) -> Result<H, RpcError> {
        parse_hash(self.str(i)?, name)
    }
}

pub(crate) fn parse_hash<H: FromStr>(s: &str, name: &str) -> Result<H, RpcError> {
    if s.len() != 64 {
        let msg = format!("{name} must be of length 64 (not {}, for '{s}')", s.len());
        return Err(RpcError::new(code::INVALID_PARAMETER, msg));
    }
    s.parse().map_err(|_| {
        RpcError::new(
            code::INVALID_PARAMETER,
            format!("{name} must be hexadecimal string (not '{s}')"),
        )
    })
}
