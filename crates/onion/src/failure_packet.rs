//! BOLT 4 "Returning Errors": the failure packet a failing node creates, every hop on the way
//! back obfuscates, and the origin decodes to learn which hop failed and why.
//!
//! Packet layout before obfuscation: `hmac` (32) ‖ `failure_len` (u16) ‖ `failuremsg` ‖
//! `pad_len` (u16) ‖ `pad`, where `hmac` is HMAC-SHA256 under the hop's `um` key over everything
//! after it. Each hop, the failing one first, XORs the whole packet with its `ammag` stream.

use crate::attribution::AttributionData;
use crate::error::Error;
use crate::failure::{FailureCode, FailureMessage};
use crate::packet::HMAC_LEN;
use crate::sphinx::{hmac_sha256, macs_equal, KeyType, SharedSecret, Stream};
use shandian_wire::{Reader, WriteExt};

/// The length `failure_len + pad_len` SHOULD equal (BOLT 4), so that all failures look alike.
pub const FAILURE_PADDED_LEN: usize = 256;

/// How many decryption rounds the origin runs whatever the route length (BOLT 4: "SHOULD
/// continue decrypting, until the loop has been repeated 27 times"), so a failing node cannot
/// learn its position from the origin's timing.
pub const FAILURE_DECRYPTION_ROUNDS: usize = 27;

/// The smallest packet: an HMAC and the two length fields.
const MIN_PACKET_LEN: usize = HMAC_LEN + 2 + 2;

/// Creates the failure packet at the failing node, padded so that `failure_len + pad_len` is
/// [`FAILURE_PADDED_LEN`], and obfuscates it with this node's `ammag` key: the result is the
/// `reason` of `update_fail_htlc`.
///
/// `secret` is the shared secret from peeling the HTLC's onion ([`crate::PeeledOnion`]).
pub fn create_failure_packet(
    secret: &SharedSecret,
    message: &FailureMessage,
) -> Result<Vec<u8>, Error> {
    create_failure_packet_padded(secret, &message.encode()?, FAILURE_PADDED_LEN)
}

/// Like [`create_failure_packet`], for an already encoded `failuremsg` (which may carry a
/// trailing TLV stream) and a chosen padded length: `pad_len` is `padded_len - failure_len`, or
/// 0 if the message is longer (BOLT 4: `failure_len + pad_len` MUST be at least 256, so pass at
/// least [`FAILURE_PADDED_LEN`]).
pub fn create_failure_packet_padded(
    secret: &SharedSecret,
    failure_message: &[u8],
    padded_len: usize,
) -> Result<Vec<u8>, Error> {
    let too_long = Error::FailureMessageTooLong { length: failure_message.len() };
    let padded_len = padded_len.max(FAILURE_PADDED_LEN);
    let pad_len = u16::try_from(padded_len.saturating_sub(failure_message.len()))
        .map_err(|_| too_long.clone())?;
    let mut packet =
        Vec::with_capacity(MIN_PACKET_LEN + failure_message.len() + usize::from(pad_len));
    packet.resize(HMAC_LEN, 0);
    packet.put_u16_prefixed(failure_message).map_err(|_| too_long)?;
    packet.put_u16(pad_len);
    packet.resize(packet.len() + usize::from(pad_len), 0);
    let (hmac, body) = packet.split_at_mut(HMAC_LEN);
    hmac.copy_from_slice(&hmac_sha256(&secret.key(KeyType::Um), &[body]));
    obfuscate_failure(secret, &mut packet);
    Ok(packet)
}

/// [`create_failure_packet_padded`] with `attribution_data` (`option_attribution_data`): the
/// failing node's hold time (in units of 100 ms) and HMACs, for the `update_fail_htlc` TLV.
pub fn create_attributed_failure_packet(
    secret: &SharedSecret,
    failure_message: &[u8],
    padded_len: usize,
    hold_time: u32,
) -> Result<(Vec<u8>, AttributionData), Error> {
    let mut packet = create_failure_packet_padded(secret, failure_message, padded_len)?;
    // The HMACs cover the packet before this node's own obfuscation.
    obfuscate_failure(secret, &mut packet);
    let mut attribution = AttributionData::default();
    attribution.add_hop(secret, &packet, hold_time);
    obfuscate_failure(secret, &mut packet);
    Ok((packet, attribution))
}

/// What an intermediate hop supporting `option_attribution_data` does with a failure coming
/// back: adds its hold time and HMACs to the downstream `attribution_data` (or to an all-zero
/// one when none came: BOLT 4 "MUST instantiate an all-zeroes `attribution_data` block"), then
/// obfuscates the packet like [`obfuscate_failure`].
pub fn forward_attributed_failure(
    secret: &SharedSecret,
    packet: &mut [u8],
    downstream: Option<AttributionData>,
    hold_time: u32,
) -> AttributionData {
    let mut attribution = downstream.unwrap_or_default();
    attribution.add_hop(secret, packet, hold_time);
    obfuscate_failure(secret, packet);
    attribution
}

/// Applies this hop's `ammag` stream to a failure packet: what the failing node does last and
/// every intermediate node does before passing `update_fail_htlc` back.
pub fn obfuscate_failure(secret: &SharedSecret, packet: &mut [u8]) {
    Stream::new(&secret.key(KeyType::Ammag)).apply(packet);
}

/// A failure the origin decoded: who sent it and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFailure {
    /// Index in the route of the hop that created the failure (0 is the first hop).
    pub hop: usize,
    /// The raw `failuremsg`, code first.
    pub failure_message: Vec<u8>,
    /// The failure code, readable even if the data is malformed (`None` if the message is
    /// shorter than a code).
    pub code: Option<FailureCode>,
    /// The parsed failure message; an error if its data does not match its code.
    pub message: Result<FailureMessage, Error>,
}

/// Decodes a failure packet at the origin, trying each hop's shared secret in route order (the
/// secrets [`crate::build_onion`] returned). The hop whose `um` HMAC matches is the sender.
///
/// Runs [`FAILURE_DECRYPTION_ROUNDS`] rounds whatever the route length, to hide it. Returns
/// [`Error::FailureNotAttributable`] when no hop's HMAC matches.
pub fn decode_failure(secrets: &[SharedSecret], packet: &[u8]) -> Result<DecodedFailure, Error> {
    if packet.len() < MIN_PACKET_LEN {
        return Err(Error::FailurePacketTooShort { length: packet.len() });
    }
    let mut packet = packet.to_vec();
    let dummy = SharedSecret([0u8; 32]);
    let mut found: Option<(usize, Vec<u8>)> = None;
    let rounds = secrets.len().max(FAILURE_DECRYPTION_ROUNDS);
    for round in 0..rounds {
        let (secret, real) = match secrets.get(round) {
            Some(secret) if found.is_none() => (secret, true),
            _ => (&dummy, false),
        };
        obfuscate_failure(secret, &mut packet);
        let (hmac, body) = packet.split_at(HMAC_LEN);
        let expected = hmac_sha256(&secret.key(KeyType::Um), &[body]);
        let hmac: [u8; HMAC_LEN] = hmac.try_into().map_err(|_| Error::FailureNotAttributable)?;
        // BOLT 4 requires constant time comparisons of HMACs elsewhere; here too it keeps the
        // rounds alike.
        if macs_equal(&expected, &hmac) && real {
            found = Some((round, body.to_vec()));
        }
    }
    let (hop, body) = found.ok_or(Error::FailureNotAttributable)?;
    let failure_message = Reader::new(&body)
        .read_u16_prefixed()
        .map_err(|_| Error::MalformedFailurePacket { hop })?
        .to_vec();
    let code = Reader::new(&failure_message).read_u16().ok().map(FailureCode);
    let message = FailureMessage::decode(&failure_message);
    Ok(DecodedFailure { hop, failure_message, code, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet from `secret` with an authentic HMAC over an arbitrary `body`.
    fn authentic(secret: &SharedSecret, body: &[u8]) -> Vec<u8> {
        let mut packet = hmac_sha256(&secret.key(KeyType::Um), &[body]).to_vec();
        packet.extend_from_slice(body);
        obfuscate_failure(secret, &mut packet);
        packet
    }

    #[test]
    fn pads_to_256_and_reports_lengths() {
        let secret = SharedSecret([1; 32]);
        let packet = create_failure_packet(&secret, &FailureMessage::MppTimeout).unwrap();
        assert_eq!(packet.len(), HMAC_LEN + 2 + 2 + 2 + 254);
        // A longer message is not truncated; it just gets no padding.
        let long = vec![0x20; 300];
        let packet = create_failure_packet_padded(&secret, &long, 0).unwrap();
        assert_eq!(packet.len(), HMAC_LEN + 2 + 300 + 2);
        assert_eq!(decode_failure(&[secret], &packet).unwrap().failure_message, long);
        let huge = vec![0; 70_000];
        assert_eq!(
            create_failure_packet_padded(&secret, &huge, 0),
            Err(Error::FailureMessageTooLong { length: 70_000 })
        );
    }

    #[test]
    fn unattributable_and_malformed_packets() {
        let secrets = [SharedSecret([1; 32]), SharedSecret([2; 32])];
        assert_eq!(
            decode_failure(&secrets, &[0; 35]),
            Err(Error::FailurePacketTooShort { length: 35 })
        );
        let packet = create_failure_packet(&secrets[1], &FailureMessage::ExpiryTooFar).unwrap();
        assert_eq!(decode_failure(&[], &packet), Err(Error::FailureNotAttributable));
        // Missing the first hop's layer: no hop matches.
        assert_eq!(decode_failure(&secrets, &packet), Err(Error::FailureNotAttributable));
        // An authentic packet whose `failure_len` runs past its end.
        let packet = authentic(&secrets[0], &[0xff, 0xff, 0, 0]);
        assert_eq!(
            decode_failure(&secrets, &packet),
            Err(Error::MalformedFailurePacket { hop: 0 })
        );
        // An authentic packet with an empty or malformed `failuremsg`: the hop is still known.
        let packet = authentic(&secrets[0], &[0, 0, 0, 0]);
        let decoded = decode_failure(&secrets, &packet).unwrap();
        assert_eq!((decoded.hop, decoded.code), (0, None));
        assert_eq!(decoded.message, Err(Error::FailureMessageEmpty));
        let packet = authentic(&secrets[0], &[0, 3, 0x40, 0x0f, 1, 0, 0]);
        let decoded = decode_failure(&secrets, &packet).unwrap();
        assert_eq!(decoded.code, Some(FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS));
        assert_eq!(decoded.message, Err(Error::MalformedFailureData { code: 0x400f }));
    }
}
