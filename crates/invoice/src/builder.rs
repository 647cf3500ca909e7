//! Building and signing an invoice.

use crate::features::default_invoice_features;
use crate::field::{tag, Field, RouteHintHop};
use crate::invoice::{check_fields, signed_hash, TIMESTAMP_WORDS};
use crate::{hrp, words, Currency, Error, Fallback, Invoice};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey, Signing};
use shandian_types::{CltvExpiryDelta, Features, Msat, NodeId, PaymentHash, PaymentSecret};

/// A field's tag and 10-bit length.
const FIELD_HEADER_WORDS: usize = 3;
/// The largest timestamp 35 bits hold.
const MAX_TIMESTAMP: u64 = (1 << 35) - 1;

/// Collects an invoice's contents, then signs it.
///
/// Fields are written in the order they are first set. Setting a field that may appear only
/// once again replaces it; fallbacks and route hints accumulate, most preferred first.
/// [`InvoiceBuilder::sign`] checks the same rules the decoder does, so every invoice it
/// returns decodes.
///
/// ```
/// use bitcoin::secp256k1::SecretKey;
/// use shandian_invoice::{Currency, InvoiceBuilder};
/// use shandian_types::{Msat, PaymentHash, PaymentSecret};
///
/// let key = SecretKey::from_slice(&[0x11; 32]).unwrap();
/// let invoice = InvoiceBuilder::new(Currency::Regtest)
///     .timestamp(1_700_000_000)
///     .amount_msat(Msat(250_000))
///     .payment_hash(PaymentHash([1; 32]))
///     .payment_secret(PaymentSecret([2; 32]))
///     .description("coffee")
///     .sign(&key)
///     .unwrap();
/// assert!(invoice.to_string().starts_with("lnbcrt2500n1"));
/// assert_eq!(invoice.to_string().parse(), Ok(invoice));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceBuilder {
    currency: Currency,
    amount: Option<Msat>,
    timestamp: Option<u64>,
    fields: Vec<Field>,
    /// Whether [`InvoiceBuilder::features`] was called (otherwise the defaults are added).
    features_chosen: bool,
}

impl InvoiceBuilder {
    /// An empty invoice for `currency`.
    pub fn new(currency: Currency) -> InvoiceBuilder {
        InvoiceBuilder {
            currency,
            amount: None,
            timestamp: None,
            fields: Vec::new(),
            features_chosen: false,
        }
    }

    /// The amount requested (omit to let the payer choose).
    pub fn amount_msat(mut self, amount: Msat) -> Self {
        self.amount = Some(amount);
        self
    }

    /// The creation time, in seconds since 1970 (required; this crate reads no clock).
    pub fn timestamp(mut self, unix_secs: u64) -> Self {
        self.timestamp = Some(unix_secs);
        self
    }

    /// The payment hash (required).
    pub fn payment_hash(self, hash: PaymentHash) -> Self {
        self.set(Field::PaymentHash(hash), &[])
    }

    /// The payment secret (required).
    pub fn payment_secret(self, secret: PaymentSecret) -> Self {
        self.set(Field::PaymentSecret(secret), &[])
    }

    /// A description of up to 639 bytes; replaces any description hash.
    pub fn description(self, text: impl Into<String>) -> Self {
        self.set(Field::Description(text.into()), &[tag::DESCRIPTION_HASH])
    }

    /// The SHA-256 of a longer description; replaces any description.
    pub fn description_hash(self, hash: sha256::Hash) -> Self {
        self.set(Field::DescriptionHash(hash), &[tag::DESCRIPTION])
    }

    /// Seconds until the invoice expires (3600 if not set).
    pub fn expiry(self, secs: u64) -> Self {
        self.set(Field::Expiry(secs), &[])
    }

    /// The smallest CLTV delta accepted for the final HTLC (18 if not set).
    pub fn min_final_cltv_expiry_delta(self, delta: CltvExpiryDelta) -> Self {
        self.set(Field::MinFinalCltvExpiryDelta(delta), &[])
    }

    /// States the payee in an `n` field (it must be the signing key), sparing payers the
    /// public-key recovery.
    pub fn payee(self, node_id: NodeId) -> Self {
        self.set(Field::Payee(node_id), &[])
    }

    /// Adds an on-chain fallback address (after any earlier, more preferred ones).
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fields.push(Field::Fallback(fallback));
        self
    }

    /// Adds a private route, first hop first (after any earlier, more preferred ones).
    pub fn route_hint(mut self, hops: Vec<RouteHintHop>) -> Self {
        self.fields.push(Field::RouteHint(hops));
        self
    }

    /// The features of the payment. Without this call the invoice carries
    /// [`default_invoice_features`] (var_onion_optin and payment_secret required, basic_mpp
    /// optional), which payers such as LDK insist on; an empty set omits the field (BOLT 11:
    /// MUST omit the `9` field altogether when no bit is set).
    pub fn features(mut self, features: Features) -> Self {
        self.features_chosen = true;
        if features.is_empty() {
            self.fields.retain(|f| f.tag() != tag::FEATURES);
            return self;
        }
        self.set(Field::Features(features), &[])
    }

    /// Metadata the payer must return in the onion's `payment_metadata`.
    pub fn payment_metadata(self, metadata: Vec<u8>) -> Self {
        self.set(Field::PaymentMetadata(metadata), &[])
    }

    /// Appends any field as is, e.g. to reproduce an invoice field by field.
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// Signs with `key`, creating a signing context; use [`InvoiceBuilder::sign_with`] to
    /// reuse one.
    pub fn sign(self, key: &SecretKey) -> Result<Invoice, Error> {
        self.sign_with(&Secp256k1::signing_only(), key)
    }

    /// Checks the invoice and signs it with `key` (RFC 6979 deterministic, low-S).
    pub fn sign_with<C: Signing>(
        mut self,
        secp: &Secp256k1<C>,
        key: &SecretKey,
    ) -> Result<Invoice, Error> {
        let timestamp = self.timestamp.ok_or(Error::MissingTimestamp)?;
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::TimestampOutOfRange);
        }
        let hrp = hrp::encode(self.currency, self.amount)?;
        if !self.features_chosen && !self.fields.iter().any(|f| f.tag() == tag::FEATURES) {
            self.fields.push(Field::Features(default_invoice_features()));
        }
        let mut signed_data = words::from_u64_fixed(timestamp, TIMESTAMP_WORDS);
        // Each field is read back from its words, as a decoder will read it, so the invoice
        // returned equals the one its text decodes to (even for fields given raw).
        let mut fields = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            let data_start = signed_data.len() + FIELD_HEADER_WORDS;
            field.encode_into(&mut signed_data)?;
            let data = signed_data.get(data_start..).unwrap_or_default();
            fields.push(Field::decode(field.tag(), data)?);
        }
        let required = check_fields(&fields)?;
        let payee = NodeId::from(PublicKey::from_secret_key(secp, key));
        // BOLT 11: MUST set `n` to the public key used to create the `signature`.
        let stated = fields.iter().find_map(|f| match f {
            Field::Payee(id) => Some(*id),
            _ => None,
        });
        if stated.is_some_and(|id| id != payee) {
            return Err(Error::PayeeMismatch);
        }
        let message = Message::from_digest(signed_hash(&hrp, &signed_data).to_byte_array());
        let signature = secp.sign_ecdsa_recoverable(&message, key);
        Ok(Invoice::from_signed_parts(
            hrp,
            self.currency,
            self.amount,
            timestamp,
            fields,
            required,
            signed_data,
            signature,
            payee,
        ))
    }

    /// Puts `field` where a field of its type already is, or appends it; drops fields of the
    /// `replaces` types.
    fn set(mut self, field: Field, replaces: &[bech32::Fe32]) -> Self {
        let field_tag = field.tag();
        self.fields.retain(|f| !replaces.contains(&f.tag()));
        match self.fields.iter_mut().find(|f| f.tag() == field_tag) {
            Some(slot) => *slot = field,
            None => self.fields.push(field),
        }
        self
    }
}
