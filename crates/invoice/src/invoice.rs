//! A decoded, signature-checked invoice and the rules every invoice must satisfy.

use crate::field::{Field, RouteHintHop};
use crate::{features, hrp, text, words, Currency, Error, Fallback};
use bech32::Fe32;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use bitcoin::secp256k1::{Message, Secp256k1, Verification};
use core::fmt;
use core::str::FromStr;
use shandian_types::{CltvExpiryDelta, Features, Msat, NodeId, PaymentHash, PaymentSecret};

/// Words in the timestamp: 35 bits.
pub(crate) const TIMESTAMP_WORDS: usize = 7;
/// Words in the signature: 520 bits, 64-byte R || S and a recovery id.
const SIGNATURE_WORDS: usize = 104;
/// BOLT 11: expiry when there is no `x` field.
pub const DEFAULT_EXPIRY_SECS: u64 = 3600;
/// BOLT 11: `min_final_cltv_expiry_delta` when there is no `c` field.
pub const DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA: CltvExpiryDelta = CltvExpiryDelta(18);

/// What the payment is for: the description itself or its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Description {
    /// The `d` field.
    Direct(String),
    /// The `h` field.
    Hash(sha256::Hash),
}

/// The fields every invoice has exactly one of, found by [`check_fields`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Required {
    pub(crate) payment_hash: PaymentHash,
    pub(crate) payment_secret: PaymentSecret,
    pub(crate) description: Description,
}

/// A BOLT 11 invoice whose signature has been checked and whose fields follow the rules.
///
/// Keeps the exact signed text, so `to_string()` (its `Display`) gives back the invoice it was
/// decoded from (in lowercase), including fields this reader skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    hrp: String,
    currency: Currency,
    amount: Option<Msat>,
    timestamp: u64,
    fields: Vec<Field>,
    required: Required,
    /// The timestamp and tagged fields: the data part the signature covers.
    signed_data: Vec<Fe32>,
    signature: RecoverableSignature,
    payee: NodeId,
}

impl Invoice {
    /// Decodes and verifies an invoice, using `secp` for the signature check.
    pub fn decode<C: Verification>(secp: &Secp256k1<C>, s: &str) -> Result<Invoice, Error> {
        let (hrp, data) = text::decode(s)?;
        let (currency, amount) = hrp::parse(&hrp)?;
        let sig_start = data.len().checked_sub(SIGNATURE_WORDS).ok_or(Error::TooShort)?;
        if sig_start < TIMESTAMP_WORDS {
            return Err(Error::TooShort);
        }
        let (signed_data, signature_words) = data.split_at(sig_start);
        let signature = decode_signature(signature_words)?;
        let (timestamp_words, mut rest) = signed_data.split_at(TIMESTAMP_WORDS);
        let timestamp = words::to_u64(timestamp_words).ok_or(Error::TooShort)?;
        let mut fields = Vec::new();
        while let [field_tag, len_high, len_low, after_header @ ..] = rest {
            let len = usize::from(len_high.to_u8()) * 32 + usize::from(len_low.to_u8());
            let (field_data, after) = after_header
                .split_at_checked(len)
                .ok_or(Error::TruncatedField(field_tag.to_char()))?;
            fields.push(Field::decode(*field_tag, field_data)?);
            rest = after;
        }
        if let Some(first) = rest.first() {
            return Err(Error::TruncatedField(first.to_char()));
        }
        // The signature is checked before the field rules, so an invoice from a forger is
        // reported as such whatever else is wrong with it.
        let payee = verify(secp, &hrp, signed_data, &signature, &fields)?;
        let required = check_fields(&fields)?;
        Ok(Invoice {
            hrp,
            currency,
            amount,
            timestamp,
            fields,
            required,
            signed_data: signed_data.to_vec(),
            signature,
            payee,
        })
    }

    /// Assembles an invoice the builder has just signed.
    pub(crate) fn from_signed_parts(
        hrp: String,
        currency: Currency,
        amount: Option<Msat>,
        timestamp: u64,
        fields: Vec<Field>,
        required: Required,
        signed_data: Vec<Fe32>,
        signature: RecoverableSignature,
        payee: NodeId,
    ) -> Invoice {
        Invoice {
            hrp,
            currency,
            amount,
            timestamp,
            fields,
            required,
            signed_data,
            signature,
            payee,
        }
    }

    /// The chain the invoice is for.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount requested; `None` lets the payer choose.
    pub fn amount_msat(&self) -> Option<Msat> {
        self.amount
    }

    /// Seconds since 1970 when the invoice was created.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// Every tagged field, in invoice order, including skipped ones.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The payment hash (the invoice's only `p` field).
    pub fn payment_hash(&self) -> PaymentHash {
        self.required.payment_hash
    }

    /// The payment secret (the invoice's only `s` field).
    pub fn payment_secret(&self) -> PaymentSecret {
        self.required.payment_secret
    }

    /// The description or its hash (exactly one is present).
    pub fn description(&self) -> &Description {
        &self.required.description
    }

    /// Whether `description` is what the invoice describes: equal to its `d` field, or
    /// hashing to its `h` field (BOLT 11: MUST check that the `h` hash matches).
    pub fn matches_description(&self, description: &str) -> bool {
        match self.description() {
            Description::Direct(text) => text.as_str() == description,
            Description::Hash(hash) => sha256::Hash::hash(description.as_bytes()) == *hash,
        }
    }

    /// Seconds after the timestamp until expiry (3600 without an `x` field).
    pub fn expiry_secs(&self) -> u64 {
        self.first(|f| match f {
            Field::Expiry(secs) => Some(*secs),
            _ => None,
        })
        .unwrap_or(DEFAULT_EXPIRY_SECS)
    }

    /// Seconds since 1970 at which the invoice expires.
    pub fn expiry_time(&self) -> u64 {
        self.timestamp.saturating_add(self.expiry_secs())
    }

    /// Whether the invoice has expired at `now` (seconds since 1970): BOLT 11 says a payer
    /// SHOULD NOT pay and a payee SHOULD NOT accept after timestamp plus expiry.
    pub fn is_expired(&self, now: u64) -> bool {
        now > self.expiry_time()
    }

    /// The smallest CLTV delta for the final HTLC (18 without a `c` field).
    pub fn min_final_cltv_expiry_delta(&self) -> CltvExpiryDelta {
        self.first(|f| match f {
            Field::MinFinalCltvExpiryDelta(delta) => Some(*delta),
            _ => None,
        })
        .unwrap_or(DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA)
    }

    /// The payee: the `n` field, or the key recovered from the signature.
    pub fn payee(&self) -> NodeId {
        self.payee
    }

    /// Whether the payee was stated in an `n` field rather than recovered.
    pub fn has_payee_field(&self) -> bool {
        self.fields.iter().any(|f| matches!(f, Field::Payee(_)))
    }

    /// The on-chain fallbacks, most preferred first.
    pub fn fallbacks(&self) -> impl Iterator<Item = &Fallback> + '_ {
        self.fields.iter().filter_map(|f| match f {
            Field::Fallback(fallback) => Some(fallback),
            _ => None,
        })
    }

    /// The private routes to the payee, most preferred first; each lists hops from a public
    /// node to the payee.
    pub fn route_hints(&self) -> impl Iterator<Item = &[RouteHintHop]> + '_ {
        self.fields.iter().filter_map(|f| match f {
            Field::RouteHint(hops) => Some(hops.as_slice()),
            _ => None,
        })
    }

    /// The `9` field's features, if present.
    pub fn features(&self) -> Option<&Features> {
        self.first(|f| match f {
            Field::Features(features) => Some(features),
            _ => None,
        })
    }

    /// The `m` field, which the payer must return as `payment_metadata`.
    pub fn payment_metadata(&self) -> Option<&[u8]> {
        self.first(|f| match f {
            Field::PaymentMetadata(bytes) => Some(bytes.as_slice()),
            _ => None,
        })
    }

    /// The signature over the invoice.
    pub fn signature(&self) -> &RecoverableSignature {
        &self.signature
    }

    /// The signature as the invoice carries it: 64 bytes R || S, then the recovery id.
    pub fn signature_bytes(&self) -> [u8; 65] {
        let (id, compact) = self.signature.serialize_compact();
        let mut bytes = [0u8; 65];
        bytes[..64].copy_from_slice(&compact);
        bytes[64] = id.to_i32() as u8;
        bytes
    }

    /// The lowercase human-readable part (`ln`, currency, amount).
    pub fn hrp(&self) -> &str {
        &self.hrp
    }

    /// The hash the signature signs (BOLT 11).
    pub fn signed_hash(&self) -> sha256::Hash {
        signed_hash(&self.hrp, &self.signed_data)
    }

    /// The first field `pick` accepts. For fields allowed once, BOLT 11 has a writer put the
    /// most preferred first.
    fn first<'a, T>(&'a self, pick: impl FnMut(&'a Field) -> Option<T>) -> Option<T> {
        self.fields.iter().find_map(pick)
    }
}

/// The invoice inside user input: surrounding whitespace trimmed and a `lightning:` URI scheme
/// (any case), as wallets share invoices, removed. BOLT 11 recommends that scheme.
pub fn strip_lightning_uri(input: &str) -> &str {
    let text = input.trim();
    match (text.get(..10), text.get(10..)) {
        (Some(scheme), Some(rest)) if scheme.eq_ignore_ascii_case("lightning:") => rest,
        _ => text,
    }
}

impl FromStr for Invoice {
    type Err = Error;

    /// Decodes and verifies with a fresh verification context; use [`Invoice::decode`] to
    /// reuse one.
    fn from_str(s: &str) -> Result<Invoice, Error> {
        Invoice::decode(&Secp256k1::verification_only(), s)
    }
}

impl fmt::Display for Invoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = self.signed_data.clone();
        data.extend(words::from_bytes(&self.signature_bytes()));
        let s = text::encode(&self.hrp, &data).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

/// BOLT 11: SHA-256 of the human-readable part's bytes and the data part before the signature,
/// with zero bits appended to a byte boundary.
pub(crate) fn signed_hash(hrp: &str, signed_data: &[Fe32]) -> sha256::Hash {
    let mut engine = sha256::Hash::engine();
    bitcoin::hashes::HashEngine::input(&mut engine, hrp.as_bytes());
    bitcoin::hashes::HashEngine::input(&mut engine, &words::to_bytes_padded(signed_data));
    sha256::Hash::from_engine(engine)
}

fn decode_signature(signature_words: &[Fe32]) -> Result<RecoverableSignature, Error> {
    // 104 words are exactly 65 bytes.
    let bytes = words::to_bytes(signature_words);
    let (compact, id) = bytes.split_at_checked(64).ok_or(Error::TooShort)?;
    let id = *id.first().ok_or(Error::TooShort)?;
    let recovery_id =
        RecoveryId::from_i32(i32::from(id)).map_err(|_| Error::InvalidRecoveryId(id))?;
    RecoverableSignature::from_compact(compact, recovery_id).map_err(|_| Error::MalformedSignature)
}

/// Checks the signature and returns the payee.
fn verify<C: Verification>(
    secp: &Secp256k1<C>,
    hrp: &str,
    signed_data: &[Fe32],
    signature: &RecoverableSignature,
    fields: &[Field],
) -> Result<NodeId, Error> {
    let message = Message::from_digest(signed_hash(hrp, signed_data).to_byte_array());
    let stated_payee = fields.iter().find_map(|f| match f {
        Field::Payee(id) => Some(*id),
        _ => None,
    });
    match stated_payee {
        // BOLT 11: if a valid `n` field is provided, MUST use it to validate the signature;
        // if the signature is not low-S, MUST fail the payment.
        Some(payee) => {
            let standard = signature.to_standard();
            let mut normalized = standard;
            normalized.normalize_s();
            if normalized != standard {
                return Err(Error::HighS);
            }
            secp.verify_ecdsa(&message, &standard, &payee.public_key())
                .map_err(|_| Error::SignatureMismatch)?;
            Ok(payee)
        }
        // Otherwise MUST perform public-key recovery, accepting high-S and low-S signatures.
        None => secp
            .recover_ecdsa(&message, signature)
            .map(NodeId::from)
            .map_err(|_| Error::SignatureNotRecoverable),
    }
}

/// The rules on which fields an invoice holds, shared by the decoder and the builder.
pub(crate) fn check_fields(fields: &[Field]) -> Result<Required, Error> {
    let mut payment_hash = None;
    let mut payment_secret = None;
    let mut description = None;
    for field in fields {
        match field {
            // BOLT 11: a writer MUST include exactly one `p` and exactly one `s` field.
            Field::PaymentHash(hash) => set_once(&mut payment_hash, *hash, 'p')?,
            Field::PaymentSecret(secret) => set_once(&mut payment_secret, *secret, 's')?,
            // BOLT 11: MUST fail the payment if neither a `d` nor a `h` field is present, or
            // if both are.
            Field::Description(text) => match description {
                Some(Description::Direct(_)) => return Err(Error::DuplicateField('d')),
                Some(Description::Hash(_)) => return Err(Error::DescriptionAndHash),
                None => description = Some(Description::Direct(text.clone())),
            },
            Field::DescriptionHash(hash) => match description {
                Some(Description::Hash(_)) => return Err(Error::DuplicateField('h')),
                Some(Description::Direct(_)) => return Err(Error::DescriptionAndHash),
                None => description = Some(Description::Hash(*hash)),
            },
            Field::Features(bits) => features::check(bits)?,
            _ => {}
        }
    }
    Ok(Required {
        payment_hash: payment_hash.ok_or(Error::MissingPaymentHash)?,
        // BOLT 11: if a valid `s` field is not provided, MUST fail the payment.
        payment_secret: payment_secret.ok_or(Error::MissingPaymentSecret)?,
        description: description.ok_or(Error::MissingDescription)?,
    })
}

fn set_once<T>(slot: &mut Option<T>, value: T, tag: char) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::DuplicateField(tag));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::tag;
    use bitcoin::secp256k1::SecretKey;

    fn key() -> SecretKey {
        SecretKey::from_slice(&[0x42; 32]).unwrap()
    }

    /// Encodes and signs raw fields with none of the builder's checks.
    fn sign_raw(fields: &[(Fe32, Vec<Fe32>)], mangle_recovery_id: Option<u8>) -> String {
        let mut data = words::from_u64_fixed(1_700_000_000, TIMESTAMP_WORDS);
        for (field_tag, field_data) in fields {
            data.push(*field_tag);
            data.extend(words::from_u64_fixed(field_data.len() as u64, 2));
            data.extend(field_data.iter().copied());
        }
        let message = Message::from_digest(signed_hash("lnbc", &data).to_byte_array());
        let (id, compact) =
            Secp256k1::new().sign_ecdsa_recoverable(&message, &key()).serialize_compact();
        let mut signature = compact.to_vec();
        signature.push(mangle_recovery_id.unwrap_or(id.to_i32() as u8));
        data.extend(words::from_bytes(&signature));
        text::encode("lnbc", &data).unwrap()
    }

    fn bytes(b: &[u8]) -> Vec<Fe32> {
        words::from_bytes(b).collect()
    }

    fn good() -> Vec<(Fe32, Vec<Fe32>)> {
        vec![
            (tag::PAYMENT_HASH, bytes(&[1; 32])),
            (tag::PAYMENT_SECRET, bytes(&[2; 32])),
            (tag::DESCRIPTION, bytes(b"ok")),
        ]
    }

    fn decode_with(extra: &[(Fe32, Vec<Fe32>)]) -> Result<Invoice, Error> {
        let mut fields = good();
        fields.extend(extra.iter().cloned());
        sign_raw(&fields, None).parse()
    }

    #[test]
    fn raw_signing_matches_the_decoder() {
        let invoice = decode_with(&[]).unwrap();
        assert_eq!(invoice.payment_hash(), PaymentHash([1; 32]));
        assert_eq!(invoice.payee(), NodeId::from(key().public_key(&Secp256k1::new())));
    }

    #[test]
    fn field_count_rules() {
        let hash = (tag::PAYMENT_HASH, bytes(&[3; 32]));
        let secret = (tag::PAYMENT_SECRET, bytes(&[3; 32]));
        let description = (tag::DESCRIPTION, bytes(b"again"));
        let description_hash = (tag::DESCRIPTION_HASH, bytes(&[3; 32]));
        assert_eq!(decode_with(&[hash]), Err(Error::DuplicateField('p')));
        assert_eq!(decode_with(&[secret]), Err(Error::DuplicateField('s')));
        assert_eq!(decode_with(&[description]), Err(Error::DuplicateField('d')));
        assert_eq!(decode_with(&[description_hash]), Err(Error::DescriptionAndHash));
        let mut fields = good();
        fields.remove(0);
        assert_eq!(sign_raw(&fields, None).parse::<Invoice>(), Err(Error::MissingPaymentHash));
        let mut fields = good();
        fields.remove(2);
        assert_eq!(sign_raw(&fields, None).parse::<Invoice>(), Err(Error::MissingDescription));
    }

    #[test]
    fn malformed_field_contents() {
        let x = |data: Vec<Fe32>| decode_with(&[(tag::EXPIRY, data)]);
        assert_eq!(x(vec![Fe32::Q, Fe32::P]), Err(Error::NonMinimalField('x')));
        assert_eq!(x(vec![Fe32::L; 13]), Err(Error::ValueOverflow('x')));
        assert_eq!(x(vec![]).map(|i| i.expiry_secs()), Ok(0));
        let c = decode_with(&[(tag::MIN_FINAL_CLTV, vec![Fe32::Q])]);
        assert_eq!(c, Err(Error::NonMinimalField('c')));
        let d = decode_with(&[(tag::DESCRIPTION, bytes(&[0xff, 0xfe]))]);
        assert_eq!(d, Err(Error::InvalidDescription));
        let r = decode_with(&[(tag::ROUTE_HINT, bytes(&[2; 50]))]);
        assert_eq!(r, Err(Error::InvalidRouteHint));
        let mut f = vec![words::word(17)];
        f.extend(bytes(&[1; 19]));
        assert_eq!(decode_with(&[(tag::FALLBACK, f)]), Err(Error::InvalidFallback));
        let features = decode_with(&[(tag::FEATURES, vec![Fe32::Z, Fe32::Q])]);
        assert_eq!(features, Err(Error::UnknownRequiredFeature(6)));
        // Unknown fields of any length are skipped.
        let unknown = decode_with(&[(Fe32::_0, vec![Fe32::L; 1023])]).unwrap();
        assert!(matches!(unknown.fields().last(), Some(Field::Skipped { .. })));
    }

    #[test]
    fn truncation_and_signature_errors() {
        let text = sign_raw(&good(), None);
        let (hrp, rest) = text.split_at(5);
        let data: Vec<Fe32> =
            rest[..rest.len() - 6].chars().map(|c| Fe32::from_char(c).unwrap()).collect();
        let reencode = |d: &[Fe32]| text::encode(&hrp[..4], d).unwrap().parse::<Invoice>();
        // Drop the words of the last field's data but keep its header claiming them.
        let mut truncated = data[..data.len() - 104 - 4].to_vec();
        truncated.extend_from_slice(&data[data.len() - 104..]);
        assert_eq!(reencode(&truncated), Err(Error::TruncatedField('d')));
        assert_eq!(reencode(&data[..TIMESTAMP_WORDS + 103]), Err(Error::TooShort));
        assert_eq!(sign_raw(&good(), Some(4)).parse::<Invoice>(), Err(Error::InvalidRecoveryId(4)));
        // An all-ones R overflows the group order.
        let mut overflow = data.clone();
        let start = overflow.len() - 104;
        overflow[start..start + 51].fill(Fe32::L);
        assert_eq!(reencode(&overflow), Err(Error::MalformedSignature));
    }

    #[test]
    fn a_stated_payee_must_have_signed() {
        let other = SecretKey::from_slice(&[7; 32]).unwrap().public_key(&Secp256k1::new());
        let n = (tag::PAYEE, bytes(&other.serialize()));
        assert_eq!(decode_with(&[n]), Err(Error::SignatureMismatch));
        let me = (tag::PAYEE, bytes(&key().public_key(&Secp256k1::new()).serialize()));
        assert!(decode_with(&[me]).unwrap().has_payee_field());
    }

    #[test]
    fn strips_the_lightning_scheme_in_any_case() {
        assert_eq!(strip_lightning_uri(" lightning:lnbc1x "), "lnbc1x");
        assert_eq!(strip_lightning_uri("LIGHTNING:lnbc1x"), "lnbc1x");
        assert_eq!(strip_lightning_uri("lnbc1x"), "lnbc1x");
        assert_eq!(strip_lightning_uri("lightning:"), "");
        assert_eq!(strip_lightning_uri("light"), "light");
        assert_eq!(strip_lightning_uri("lightning\u{e9}x"), "lightning\u{e9}x");
    }
}
