//! BOLT 4 `attribution_data` (`option_attribution_data`): hold times and truncated HMACs that
//! every hop on the way back adds to `update_fail_htlc` and `update_fulfill_htlc`, so the
//! origin can tell which pair of hops tampered with a failure and how long each hop held the
//! HTLC.
//!
//! Layout: 20 big-endian `u32` hold times (units of 100 ms), then 210 HMACs truncated to 4
//! bytes. The HMACs are grouped by the hop `x` that added them (counted from the hop now
//! handling the data): hop `x` keeps `20 - x` of them, one per position `y` it could have in
//! the path (its distance from the node that started the data), largest `y` first.

use crate::sphinx::{hmac_sha256, KeyType, SharedSecret, Stream};

/// The longest route attribution data covers.
pub const MAX_ATTRIBUTED_HOPS: usize = 20;
/// Length of a truncated HMAC.
const HMAC_LEN: usize = 4;
/// Length of a hold time.
const HOLD_TIME_LEN: usize = 4;
/// Length of the hold times.
const HOLD_TIMES_LEN: usize = MAX_ATTRIBUTED_HOPS * HOLD_TIME_LEN;
/// Number of truncated HMACs: 20 + 19 + ... + 1.
const HMAC_COUNT: usize = MAX_ATTRIBUTED_HOPS * (MAX_ATTRIBUTED_HOPS + 1) / 2;
/// Length of `attribution_data`.
pub const ATTRIBUTION_DATA_LEN: usize = HOLD_TIMES_LEN + HMAC_COUNT * HMAC_LEN;

/// The `attribution_data` TLV of `update_fail_htlc` and `update_fulfill_htlc`.
#[derive(Clone, PartialEq, Eq)]
pub struct AttributionData(pub [u8; ATTRIBUTION_DATA_LEN]);

impl core::fmt::Debug for AttributionData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AttributionData(..)")
    }
}

impl Default for AttributionData {
    /// All zero: what a hop starts from when nothing came from downstream.
    fn default() -> AttributionData {
        AttributionData([0; ATTRIBUTION_DATA_LEN])
    }
}

/// Index of `hmac_x_y` among the 210 HMACs. `x < 20`, `y < 20 - x`.
fn hmac_index(x: usize, y: usize) -> usize {
    // Hops before `x` hold 20, 19, ... HMACs; within its block hop `x` stores largest `y` first.
    let block_start = x * MAX_ATTRIBUTED_HOPS - x * x.saturating_sub(1) / 2;
    block_start + (MAX_ATTRIBUTED_HOPS - 1 - x - y)
}

impl AttributionData {
    /// Parses the TLV value; it must be exactly [`ATTRIBUTION_DATA_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<AttributionData> {
        bytes.try_into().ok().map(AttributionData)
    }

    /// The hold time in the first slot (the hop that last added to this data, after the
    /// origin removed the outer layers).
    fn first_hold_time(&self) -> u32 {
        let mut bytes = [0u8; HOLD_TIME_LEN];
        bytes.copy_from_slice(&self.0[..HOLD_TIME_LEN]);
        u32::from_be_bytes(bytes)
    }

    fn hmac(&self, x: usize, y: usize) -> &[u8] {
        let start = HOLD_TIMES_LEN + hmac_index(x, y) * HMAC_LEN;
        &self.0[start..start + HMAC_LEN]
    }

    fn set_hmac(&mut self, x: usize, y: usize, hmac: &[u8]) {
        let start = HOLD_TIMES_LEN + hmac_index(x, y) * HMAC_LEN;
        self.0[start..start + HMAC_LEN].copy_from_slice(hmac);
    }

    /// What a hop does to the attribution data on the way back, the failing (or paid) node
    /// first on an all-zero [`AttributionData::default`]: shift the downstream hold times and
    /// HMACs one hop further, put its own hold time first, add its 20 HMACs, and obfuscate with
    /// its `ammagext` key.
    ///
    /// `packet` is the failure packet as this hop received it, before it applies its own
    /// `ammag` stream (for the failing node: the packet before obfuscation; for
    /// `update_fulfill_htlc`: empty). `hold_time` is in units of 100 ms.
    pub fn add_hop(&mut self, secret: &SharedSecret, packet: &[u8], hold_time: u32) {
        self.shift();
        self.0[..HOLD_TIME_LEN].copy_from_slice(&hold_time.to_be_bytes());
        let um = secret.key(KeyType::Um);
        for y in 0..MAX_ATTRIBUTED_HOPS {
            let hmac = self.position_hmac(&um, packet, y);
            self.set_hmac(0, y, &hmac);
        }
        Stream::new(&secret.key(KeyType::AmmagExt)).apply(&mut self.0);
    }

    /// `hmac_0_y`: over the packet, the first `y + 1` hold times and the `y` downstream HMACs
    /// for the positions downstream of position `y`.
    fn position_hmac(&self, um: &[u8; 32], packet: &[u8], y: usize) -> [u8; HMAC_LEN] {
        let mut downstream = Vec::with_capacity(y * HMAC_LEN);
        for j in 1..=y {
            downstream.extend_from_slice(self.hmac(j, y - j));
        }
        let hold_times = &self.0[..(y + 1) * HOLD_TIME_LEN];
        let full = hmac_sha256(um, &[packet, hold_times, &downstream]);
        let mut truncated = [0u8; HMAC_LEN];
        truncated.copy_from_slice(&full[..HMAC_LEN]);
        truncated
    }

    /// Moves every hold time and HMAC one hop further from the front, dropping those that fall
    /// off (hop 20's hold time, and each hop's HMAC for position `20 - x`).
    fn shift(&mut self) {
        self.0.copy_within(..HOLD_TIMES_LEN - HOLD_TIME_LEN, HOLD_TIME_LEN);
        let old = self.clone();
        for x in 1..MAX_ATTRIBUTED_HOPS {
            for y in 0..MAX_ATTRIBUTED_HOPS - x {
                self.set_hmac(x, y, old.hmac(x - 1, y));
            }
        }
    }

    /// The origin's inverse of [`AttributionData::shift`]: bring the next hop's data to the
    /// front. Slots whose content was dropped become zero; no verification reads them.
    fn unshift(&mut self) {
        self.0.copy_within(HOLD_TIME_LEN..HOLD_TIMES_LEN, 0);
        self.0[HOLD_TIMES_LEN - HOLD_TIME_LEN..HOLD_TIMES_LEN].fill(0);
        let old = self.clone();
        for x in 0..MAX_ATTRIBUTED_HOPS - 1 {
            for y in 0..MAX_ATTRIBUTED_HOPS - x - 1 {
                self.set_hmac(x, y, old.hmac(x + 1, y));
            }
            self.set_hmac(x, MAX_ATTRIBUTED_HOPS - x - 1, &[0; HMAC_LEN]);
        }
        self.set_hmac(MAX_ATTRIBUTED_HOPS - 1, 0, &[0; HMAC_LEN]);
    }
}

/// What the origin learns from attribution data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributionReport {
    /// The hold time each hop reported, in route order, for every hop whose HMAC verified
    /// (units of 100 ms).
    pub hold_times: Vec<u32>,
    /// The first hop whose HMAC did not verify: it or its predecessor tampered with the data
    /// (`None` when every hop verified).
    pub first_invalid_hop: Option<usize>,
}

/// Verifies attribution data at the origin.
///
/// `secrets` are the route's shared secrets up to the node that started the data: the failing
/// hop when [`crate::decode_failure`] identified it, otherwise the whole route (for a fulfill,
/// the whole route). `packet` is the failure packet as received (empty for a fulfill). Routes
/// longer than 20 hops are verified for their first 20 hops.
pub fn verify_attribution(
    secrets: &[SharedSecret],
    packet: &[u8],
    data: &AttributionData,
) -> AttributionReport {
    let secrets = secrets.get(..MAX_ATTRIBUTED_HOPS).unwrap_or(secrets);
    let mut data = data.clone();
    let mut packet = packet.to_vec();
    let mut hold_times = Vec::with_capacity(secrets.len());
    for (hop, secret) in secrets.iter().enumerate() {
        Stream::new(&secret.key(KeyType::AmmagExt)).apply(&mut data.0);
        // Each hop's HMACs cover the packet as it received it, before its own `ammag` layer.
        Stream::new(&secret.key(KeyType::Ammag)).apply(&mut packet);
        let position = secrets.len() - 1 - hop;
        let expected = data.position_hmac(&secret.key(KeyType::Um), &packet, position);
        if data.hmac(0, position) != expected {
            return AttributionReport { hold_times, first_invalid_hop: Some(hop) };
        }
        hold_times.push(data.first_hold_time());
        data.unshift();
    }
    AttributionReport { hold_times, first_invalid_hop: None }
}
