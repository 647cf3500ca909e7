//! Tagged fields (BOLT 11 "Tagged Fields"): their typed form, and how each is read from and
//! written to 5-bit words.

use crate::fallback::Fallback;
use crate::{words, Error};
use bech32::Fe32;
use bitcoin::hashes::{sha256, Hash};
use shandian_types::{
    CltvExpiryDelta, Features, NodeId, PaymentHash, PaymentSecret, ShortChannelId,
};

/// The field types, by their 5-bit tag.
pub(crate) mod tag {
    use bech32::Fe32;
    /// `p`: payment hash.
    pub const PAYMENT_HASH: Fe32 = Fe32::P;
    /// `s`: payment secret.
    pub const PAYMENT_SECRET: Fe32 = Fe32::S;
    /// `d`: description.
    pub const DESCRIPTION: Fe32 = Fe32::D;
    /// `m`: payment metadata.
    pub const PAYMENT_METADATA: Fe32 = Fe32::M;
    /// `n`: payee node id.
    pub const PAYEE: Fe32 = Fe32::N;
    /// `h`: description hash.
    pub const DESCRIPTION_HASH: Fe32 = Fe32::H;
    /// `x`: expiry.
    pub const EXPIRY: Fe32 = Fe32::X;
    /// `c`: min_final_cltv_expiry_delta.
    pub const MIN_FINAL_CLTV: Fe32 = Fe32::C;
    /// `f`: fallback address.
    pub const FALLBACK: Fe32 = Fe32::F;
    /// `r`: route hint.
    pub const ROUTE_HINT: Fe32 = Fe32::R;
    /// `9`: features.
    pub const FEATURES: Fe32 = Fe32::_9;
}

/// Words in a 256-bit hash or secret field (`p`, `s`, `h`).
const HASH_WORDS: usize = 52;
/// Words in a 33-byte public key field (`n`).
const PUBKEY_WORDS: usize = 53;
/// Bytes in one route hint hop: pubkey, short_channel_id, fee_base_msat,
/// fee_proportional_millionths, cltv_expiry_delta.
const HOP_BYTES: usize = 33 + 8 + 4 + 4 + 2;
/// The largest `data_length`: 10 bits.
pub(crate) const MAX_FIELD_WORDS: usize = 1023;

/// One hop of a private route towards the payee (an entry of an `r` field), with the fees and
/// delta of the channel leaving `src_node_id` as BOLT 7's `channel_update` defines them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteHintHop {
    /// The node at the start of the channel.
    pub src_node_id: NodeId,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// Base fee for forwarding over the channel.
    pub fee_base_msat: u32,
    /// Proportional fee, in millionths of the forwarded amount.
    pub fee_proportional_millionths: u32,
    /// Blocks the hop adds to the HTLC's expiry.
    pub cltv_expiry_delta: CltvExpiryDelta,
}

/// A tagged field, in the order it appears in the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// `p`: SHA-256 of the payment preimage.
    PaymentHash(PaymentHash),
    /// `s`: the secret that stops forwarding nodes probing the payee.
    PaymentSecret(PaymentSecret),
    /// `d`: a short UTF-8 description of the purpose of the payment.
    Description(String),
    /// `h`: SHA-256 of a longer description delivered some other way.
    DescriptionHash(sha256::Hash),
    /// `x`: seconds after the timestamp until the invoice expires.
    Expiry(u64),
    /// `c`: the smallest CLTV delta the payee accepts for the last HTLC.
    MinFinalCltvExpiryDelta(CltvExpiryDelta),
    /// `n`: the payee's node id (otherwise recovered from the signature).
    Payee(NodeId),
    /// `f`: an on-chain address to pay if the Lightning payment fails.
    Fallback(Fallback),
    /// `r`: a private route to the payee, first hop first.
    RouteHint(Vec<RouteHintHop>),
    /// `9`: features required or supported for the payment.
    Features(Features),
    /// `m`: metadata the payer must return in the onion.
    PaymentMetadata(Vec<u8>),
    /// A field this reader skips: an unknown type, a `p`/`s`/`h`/`n` field of the wrong
    /// length or an `n` that is not a valid key, or a fallback of an unknown version. Kept
    /// so the signed data can be reproduced exactly.
    Skipped {
        /// The field type.
        tag: Fe32,
        /// The field data.
        data: Vec<Fe32>,
    },
}

impl Field {
    /// The field's 5-bit type.
    pub fn tag(&self) -> Fe32 {
        match self {
            Field::PaymentHash(_) => tag::PAYMENT_HASH,
            Field::PaymentSecret(_) => tag::PAYMENT_SECRET,
            Field::Description(_) => tag::DESCRIPTION,
            Field::DescriptionHash(_) => tag::DESCRIPTION_HASH,
            Field::Expiry(_) => tag::EXPIRY,
            Field::MinFinalCltvExpiryDelta(_) => tag::MIN_FINAL_CLTV,
            Field::Payee(_) => tag::PAYEE,
            Field::Fallback(_) => tag::FALLBACK,
            Field::RouteHint(_) => tag::ROUTE_HINT,
            Field::Features(_) => tag::FEATURES,
            Field::PaymentMetadata(_) => tag::PAYMENT_METADATA,
            Field::Skipped { tag, .. } => *tag,
        }
    }

    /// Reads one field's data. Fields the reader must ignore come back as [`Field::Skipped`].
    pub(crate) fn decode(tag: Fe32, data: &[Fe32]) -> Result<Field, Error> {
        let skipped = || Field::Skipped { tag, data: data.to_vec() };
        let field = match tag {
            // BOLT 11: `p`, `h`, `s` and `n` have fixed lengths; the spec's examples show a
            // reader skipping such a field of any other length.
            tag::PAYMENT_HASH | tag::PAYMENT_SECRET | tag::DESCRIPTION_HASH => {
                let Some(hash) = hash_field(data) else { return Ok(skipped()) };
                match tag {
                    tag::PAYMENT_HASH => Field::PaymentHash(PaymentHash(hash)),
                    tag::PAYMENT_SECRET => Field::PaymentSecret(PaymentSecret(hash)),
                    _ => Field::DescriptionHash(sha256::Hash::from_byte_array(hash)),
                }
            }
            // BOLT 11: "if a valid `n` field is provided" — otherwise recover the key.
            tag::PAYEE if data.len() == PUBKEY_WORDS => {
                match NodeId::from_slice(&words::to_bytes(data)) {
                    Ok(id) => Field::Payee(id),
                    Err(_) => skipped(),
                }
            }
            tag::DESCRIPTION => Field::Description(
                String::from_utf8(words::to_bytes(data)).map_err(|_| Error::InvalidDescription)?,
            ),
            tag::EXPIRY => Field::Expiry(minimal_u64(tag, data)?),
            tag::MIN_FINAL_CLTV => {
                let delta = minimal_u64(tag, data)?;
                let delta = u16::try_from(delta).map_err(|_| Error::ValueOverflow('c'))?;
                Field::MinFinalCltvExpiryDelta(CltvExpiryDelta(delta))
            }
            tag::FALLBACK => match Fallback::decode(data)? {
                Some(fallback) => Field::Fallback(fallback),
                // BOLT 11: MUST skip over `f` fields that use an unknown `version`.
                None => skipped(),
            },
            tag::ROUTE_HINT => Field::RouteHint(decode_route(data)?),
            tag::FEATURES => Field::Features(decode_features(data)?),
            tag::PAYMENT_METADATA => Field::PaymentMetadata(words::to_bytes(data)),
            _ => skipped(),
        };
        Ok(field)
    }

    /// The field's data as words (without the tag and length).
    pub(crate) fn encode_data(&self) -> Vec<Fe32> {
        match self {
            Field::PaymentHash(hash) => words::from_bytes(&hash.0).collect(),
            Field::PaymentSecret(secret) => words::from_bytes(&secret.0).collect(),
            Field::Description(text) => words::from_bytes(text.as_bytes()).collect(),
            Field::DescriptionHash(hash) => words::from_bytes(hash.as_byte_array()).collect(),
            Field::Expiry(seconds) => words::from_u64_minimal(*seconds),
            Field::MinFinalCltvExpiryDelta(delta) => words::from_u64_minimal(u64::from(delta.0)),
            Field::Payee(id) => words::from_bytes(id.as_bytes()).collect(),
            Field::Fallback(fallback) => fallback.encode(),
            Field::RouteHint(hops) => words::from_bytes(&encode_route(hops)).collect(),
            Field::Features(features) => encode_features(features),
            Field::PaymentMetadata(bytes) => words::from_bytes(bytes).collect(),
            Field::Skipped { data, .. } => data.clone(),
        }
    }

    /// Appends the field (tag, 10-bit length, data) to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<Fe32>) -> Result<(), Error> {
        let data = self.encode_data();
        if data.len() > MAX_FIELD_WORDS {
            return Err(Error::FieldTooLong(self.tag().to_char()));
        }
        out.push(self.tag());
        out.extend(words::from_u64_fixed(data.len() as u64, 2));
        out.extend(data);
        Ok(())
    }
}

/// The 32 bytes of a 52-word field, or `None` for any other length.
fn hash_field(data: &[Fe32]) -> Option<[u8; 32]> {
    if data.len() != HASH_WORDS {
        return None;
    }
    words::to_bytes(data).try_into().ok()
}

/// BOLT 11: `x` and `c` MUST use the minimum `data_length`; a reader SHOULD treat a leading
/// 0 field element as invalid.
fn minimal_u64(tag: Fe32, data: &[Fe32]) -> Result<u64, Error> {
    if data.first() == Some(&Fe32::Q) {
        return Err(Error::NonMinimalField(tag.to_char()));
    }
    words::to_u64(data).ok_or(Error::ValueOverflow(tag.to_char()))
}

fn decode_route(data: &[Fe32]) -> Result<Vec<RouteHintHop>, Error> {
    let bytes = words::to_bytes(data);
    if bytes.is_empty() || bytes.len() % HOP_BYTES != 0 {
        return Err(Error::InvalidRouteHint);
    }
    bytes.chunks_exact(HOP_BYTES).map(decode_hop).collect()
}

fn decode_hop(hop: &[u8]) -> Result<RouteHintHop, Error> {
    let (pubkey, rest) = hop.split_at_checked(33).ok_or(Error::InvalidRouteHint)?;
    let (scid, rest) = split_array::<8>(rest)?;
    let (fee_base, rest) = split_array::<4>(rest)?;
    let (fee_proportional, rest) = split_array::<4>(rest)?;
    let (cltv, _) = split_array::<2>(rest)?;
    Ok(RouteHintHop {
        src_node_id: NodeId::from_slice(pubkey).map_err(|_| Error::InvalidRouteHint)?,
        short_channel_id: ShortChannelId(u64::from_be_bytes(scid)),
        fee_base_msat: u32::from_be_bytes(fee_base),
        fee_proportional_millionths: u32::from_be_bytes(fee_proportional),
        cltv_expiry_delta: CltvExpiryDelta(u16::from_be_bytes(cltv)),
    })
}

fn split_array<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), Error> {
    let (head, rest) = bytes.split_at_checked(N).ok_or(Error::InvalidRouteHint)?;
    let head = head.try_into().map_err(|_| Error::InvalidRouteHint)?;
    Ok((head, rest))
}

fn encode_route(hops: &[RouteHintHop]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(hops.len() * HOP_BYTES);
    for hop in hops {
        bytes.extend_from_slice(hop.src_node_id.as_bytes());
        bytes.extend_from_slice(&hop.short_channel_id.0.to_be_bytes());
        bytes.extend_from_slice(&hop.fee_base_msat.to_be_bytes());
        bytes.extend_from_slice(&hop.fee_proportional_millionths.to_be_bytes());
        bytes.extend_from_slice(&hop.cltv_expiry_delta.0.to_be_bytes());
    }
    bytes
}

/// The `9` field is a big-endian bit field: bit 0 is the lowest bit of the last word.
fn decode_features(data: &[Fe32]) -> Result<Features, Error> {
    // BOLT 11: a `9` field with a non-minimal `data_length` SHOULD be treated as invalid.
    if data.first() == Some(&Fe32::Q) {
        return Err(Error::NonMinimalField('9'));
    }
    let bits = data.iter().rev().enumerate().flat_map(|(i, word)| {
        (0..5).filter(move |j| word.to_u8() & (1 << j) != 0).map(move |j| i * 5 + j)
    });
    Ok(Features::from_bits(bits))
}

fn encode_features(features: &Features) -> Vec<Fe32> {
    let Some(highest) = features.bits().last() else { return Vec::new() };
    let len = highest / 5 + 1;
    let mut data = vec![0u8; len];
    for bit in features.bits() {
        if let Some(word) = data.get_mut(len - 1 - bit / 5) {
            *word |= 1 << (bit % 5);
        }
    }
    data.into_iter().map(words::word).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_words_are_big_endian() {
        // BOLT 11 example: `sgq` is bits 8 and 14.
        let data = [Fe32::S, Fe32::G, Fe32::Q];
        let features = decode_features(&data).unwrap();
        assert_eq!(features.bits().collect::<Vec<_>>(), vec![8, 14]);
        assert_eq!(encode_features(&features), data.to_vec());
        assert_eq!(decode_features(&[Fe32::Q, Fe32::P]), Err(Error::NonMinimalField('9')));
        assert!(encode_features(&Features::new()).is_empty());
    }

    #[test]
    fn minimal_integers_are_enforced() {
        assert_eq!(minimal_u64(tag::EXPIRY, &[Fe32::P, Fe32::U]), Ok(60));
        assert_eq!(minimal_u64(tag::EXPIRY, &[Fe32::Q, Fe32::P]), Err(Error::NonMinimalField('x')));
        assert_eq!(minimal_u64(tag::EXPIRY, &[Fe32::L; 13]), Err(Error::ValueOverflow('x')));
        let c = Field::decode(tag::MIN_FINAL_CLTV, &words::from_u64_minimal(70_000));
        assert_eq!(c, Err(Error::ValueOverflow('c')));
    }

    #[test]
    fn wrong_length_fixed_fields_are_skipped() {
        for tag in [tag::PAYMENT_HASH, tag::PAYMENT_SECRET, tag::DESCRIPTION_HASH, tag::PAYEE] {
            for len in [0, 51, 54] {
                let data = vec![Fe32::Q; len];
                assert_eq!(Field::decode(tag, &data), Ok(Field::Skipped { tag, data }));
            }
        }
        // 53 words that are not a valid point: not a "valid `n` field", so skipped too.
        let data = vec![Fe32::Q; 53];
        assert!(matches!(Field::decode(tag::PAYEE, &data), Ok(Field::Skipped { .. })));
    }

    #[test]
    fn route_hints_must_be_whole_hops_with_valid_keys() {
        assert_eq!(decode_route(&[]), Err(Error::InvalidRouteHint));
        assert_eq!(decode_route(&[Fe32::Q; 82]), Err(Error::InvalidRouteHint));
        assert_eq!(decode_route(&[Fe32::Q; 81]), Err(Error::InvalidRouteHint));
    }
}
