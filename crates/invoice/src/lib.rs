//! BOLT 11 Lightning invoices: decode, verify, build, sign, and describe as JSON.
//!
//! An invoice is a bech32 string (without BIP 173's length limit) whose human-readable part
//! names the chain and amount (`lnbc2500u`) and whose data part holds a timestamp, tagged
//! fields (payment hash, secret, description, expiry, route hints, ...) and a recoverable
//! signature by the payee.
//!
//! - [`Invoice`] is an invoice that has been decoded and verified: [`Invoice::decode`] (or
//!   `str::parse`) checks the checksum, amount rules, every field and the signature, and
//!   finds the payee (stated in `n` or recovered). [`Invoice::to_json`] describes it for
//!   `shandian decodeinvoice`; `to_string()` gives back the exact invoice.
//! - [`InvoiceBuilder`] makes the node's own invoices and signs them.
//!
//! Sans-IO: no clock is read (timestamps and "now" are passed in) and no randomness is used
//! beyond what libsecp256k1's context creation does for side-channel blinding (pass your own
//! context to [`Invoice::decode`] and [`InvoiceBuilder::sign_with`] to avoid even that).

mod builder;
mod currency;
mod error;
mod fallback;
mod features;
mod field;
mod hrp;
mod invoice;
mod json;
mod text;
mod words;

pub use bech32::Fe32;
pub use builder::InvoiceBuilder;
pub use currency::Currency;
pub use error::Error;
pub use fallback::Fallback;
pub use features::default_invoice_features;
pub use field::{Field, RouteHintHop};
pub use invoice::{
    strip_lightning_uri, Description, Invoice, DEFAULT_EXPIRY_SECS,
    DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
};
