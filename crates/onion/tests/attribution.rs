//! BOLT 4 `attribution_data`: the spec's "Returning Errors" and "Returning success" traces,
//! every hop byte-exact, and the origin's verification of them.

use bitcoin::hex::FromHex;
use shandian_onion::{
    create_attributed_failure_packet, decode_failure, forward_attributed_failure,
    verify_attribution, AttributionData, AttributionReport, SharedSecret,
};

const SPEC: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bolts/04-onion-routing.md");

struct Trace {
    encoded_failure: Vec<u8>,
    /// Hop secrets in route order (node 0 first).
    secrets: Vec<SharedSecret>,
    /// `error packet for node N`, N = 4 down to 0.
    error_packets: Vec<Vec<u8>>,
    /// `attribution data for node N` on failure, N = 4 down to 0.
    failure_attribution: Vec<Vec<u8>>,
    /// `attribution data for node N` on success, N = 4 down to 0.
    success_attribution: Vec<Vec<u8>>,
}

fn trace() -> Trace {
    let text = std::fs::read_to_string(SPEC).unwrap();
    let start = text.find("## Returning Errors\n\nThe test vectors use").unwrap();
    let success = text[start..].find("## Returning success").unwrap() + start;
    let end = text[success..].find("# References").unwrap() + success;
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for line in text[start..success].lines() {
        let line = line.trim();
        if let Some((key, value)) = line.split_once(" = ").or_else(|| line.split_once(": ")) {
            if let Ok(bytes) = Vec::from_hex(value.trim()) {
                pairs.push((key.trim().to_string(), bytes));
            }
        }
    }
    let all = |prefix: &str| -> Vec<Vec<u8>> {
        pairs.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v.clone()).collect()
    };
    let mut secrets: Vec<SharedSecret> = all("shared_secret")
        .into_iter()
        .skip(1) // the creating node's, stated twice
        .map(|s| SharedSecret(s.try_into().unwrap()))
        .collect();
    secrets.reverse();
    // Success: a heading line, then the hex on the next line.
    let lines: Vec<&str> = text[success..end].lines().map(str::trim).collect();
    let success_attribution = lines
        .windows(2)
        .filter(|w| w[0].starts_with("attribution data for node"))
        .map(|w| Vec::from_hex(w[1]).unwrap())
        .collect();
    Trace {
        encoded_failure: all("encoded_failure_message").remove(0),
        secrets,
        error_packets: all("error packet for node"),
        failure_attribution: all("attribution data for node"),
        success_attribution,
    }
}

#[test]
fn failure_attribution_data_matches_the_spec_at_every_hop() {
    let trace = trace();
    assert_eq!((trace.secrets.len(), trace.failure_attribution.len()), (5, 5));
    let failuremsg_len = 320;
    // The spec's hold times count from the failing node: 1 there, 5 at the first hop.
    let (mut packet, mut data) = create_attributed_failure_packet(
        &trace.secrets[4],
        &trace.encoded_failure[..failuremsg_len],
        1024,
        1,
    )
    .unwrap();
    for (step, node) in (0..5usize).rev().enumerate() {
        if step > 0 {
            let secret = &trace.secrets[node];
            data = forward_attributed_failure(secret, &mut packet, Some(data), step as u32 + 1);
        }
        assert_eq!(packet, trace.error_packets[step], "error packet for node {node}");
        assert_eq!(data.0.to_vec(), trace.failure_attribution[step], "attribution for node {node}");
    }

    let decoded = decode_failure(&trace.secrets, &packet).unwrap();
    assert_eq!(decoded.hop, 4);
    let report = verify_attribution(&trace.secrets[..=decoded.hop], &packet, &data);
    assert_eq!(
        report,
        AttributionReport { hold_times: vec![5, 4, 3, 2, 1], first_invalid_hop: None }
    );
}

#[test]
fn success_attribution_data_matches_the_spec_at_every_hop() {
    let trace = trace();
    assert_eq!(trace.success_attribution.len(), 5);
    let mut data = AttributionData::default();
    for (step, node) in (0..5usize).rev().enumerate() {
        data.add_hop(&trace.secrets[node], &[], step as u32 + 1);
        assert_eq!(data.0.to_vec(), trace.success_attribution[step], "attribution for node {node}");
    }
    let report = verify_attribution(&trace.secrets, &[], &data);
    assert_eq!(
        report,
        AttributionReport { hold_times: vec![5, 4, 3, 2, 1], first_invalid_hop: None }
    );
}

#[test]
fn tampering_is_blamed_on_the_hop_pair_where_it_happened() {
    let trace = trace();
    let mut data = AttributionData::default();
    for node in (0..5usize).rev() {
        data.add_hop(&trace.secrets[node], &[], 7);
        if node == 2 {
            // Node 1 receives data whose first hold time node 2 (or the link) corrupted.
            data.0[1] ^= 1;
        }
    }
    let report = verify_attribution(&trace.secrets, &[], &data);
    assert_eq!(report.hold_times, vec![7, 7]);
    assert_eq!(report.first_invalid_hop, Some(2));
    // Random data verifies for no hop.
    let garbage = AttributionData([0x5a; shandian_onion::ATTRIBUTION_DATA_LEN]);
    let report = verify_attribution(&trace.secrets, &[], &garbage);
    assert_eq!(report, AttributionReport { hold_times: vec![], first_invalid_hop: Some(0) });
}
