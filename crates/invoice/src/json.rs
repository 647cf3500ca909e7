//! The invoice as one JSON object, as `shandian decodeinvoice` prints it.

use crate::{Description, Invoice, RouteHintHop};
use bitcoin::hashes::Hash;
use bitcoin::hex::DisplayHex;
use serde_json::{json, Map, Value};

impl Invoice {
    /// The invoice as a JSON object with these keys:
    ///
    /// - `currency`: the prefix after `ln` (`bc`, `tb`, `tbs`, `bcrt`);
    /// - `network`: `bitcoin`, `testnet`, `signet` or `regtest`;
    /// - `amount_msat`: number, absent when the invoice has no amount;
    /// - `created_at`: the timestamp, seconds since 1970;
    /// - `expiry`: seconds (3600 when there is no `x` field);
    /// - `payee`: hex node id (stated or recovered);
    /// - `payment_hash`, `payment_secret`: hex;
    /// - `description` (text) or `description_hash` (hex);
    /// - `min_final_cltv_expiry`: blocks (18 when there is no `c` field);
    /// - `features`: big-endian hex, absent when the invoice has no `9` field or it is empty;
    /// - `fallbacks`: list of `{"address": ...}`, absent when there are none;
    /// - `routes`: list of route hints, each a list of `{"pubkey", "short_channel_id"
    ///   (BLOCKxTXxOUT), "fee_base_msat", "fee_proportional_millionths",
    ///   "cltv_expiry_delta"}`, absent when there are none;
    /// - `payment_metadata`: hex, absent when there is none;
    /// - `signature`: hex of the 64-byte R || S followed by the recovery id byte.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        let mut put = |key: &str, value: Value| {
            out.insert(key.to_owned(), value);
        };
        put("currency", json!(self.currency().prefix()));
        put("network", json!(self.currency().network_name()));
        if let Some(amount) = self.amount_msat() {
            put("amount_msat", json!(amount.0));
        }
        put("created_at", json!(self.timestamp()));
        put("expiry", json!(self.expiry_secs()));
        put("payee", json!(self.payee().to_string()));
        put("payment_hash", json!(self.payment_hash().to_string()));
        put("payment_secret", json!(self.payment_secret().to_string()));
        match self.description() {
            Description::Direct(text) => put("description", json!(text)),
            Description::Hash(hash) => {
                put("description_hash", json!(hash.as_byte_array().to_lower_hex_string()))
            }
        }
        put("min_final_cltv_expiry", json!(self.min_final_cltv_expiry_delta().0));
        if let Some(features) = self.features().filter(|f| !f.is_empty()) {
            put("features", json!(features.to_string()));
        }
        let network = self.currency().network();
        let fallbacks: Vec<Value> = self
            .fallbacks()
            .map(|f| json!({ "address": f.address(network).to_string() }))
            .collect();
        if !fallbacks.is_empty() {
            put("fallbacks", Value::Array(fallbacks));
        }
        let routes: Vec<Value> = self
            .route_hints()
            .map(|hops| Value::Array(hops.iter().map(hop_json).collect()))
            .collect();
        if !routes.is_empty() {
            put("routes", Value::Array(routes));
        }
        if let Some(metadata) = self.payment_metadata() {
            put("payment_metadata", json!(metadata.to_lower_hex_string()));
        }
        put("signature", json!(self.signature_bytes().to_lower_hex_string()));
        Value::Object(out)
    }
}

fn hop_json(hop: &RouteHintHop) -> Value {
    json!({
        "pubkey": hop.src_node_id.to_string(),
        "short_channel_id": hop.short_channel_id.to_string(),
        "fee_base_msat": hop.fee_base_msat,
        "fee_proportional_millionths": hop.fee_proportional_millionths,
        "cltv_expiry_delta": hop.cltv_expiry_delta.0,
    })
}
