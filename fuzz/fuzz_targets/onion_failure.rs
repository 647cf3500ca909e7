//! Arbitrary bytes as a returned failure packet at the origin, as `attribution_data`, and as a
//! `failuremsg`. Nothing may panic; a packet hop 2 creates from the bytes must be attributed
//! to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shandian_onion::{
    create_failure_packet_padded, decode_failure, obfuscate_failure, verify_attribution,
    AttributionData, FailureMessage, SharedSecret, ATTRIBUTION_DATA_LEN,
};

fuzz_target!(|data: &[u8]| {
    let secrets: Vec<SharedSecret> = (1..=5u8).map(|i| SharedSecret([i; 32])).collect();
    let _ = decode_failure(&secrets, data);

    // The first 920 bytes as `attribution_data`, the rest as the failure packet it covers.
    if let Some(attribution) =
        data.get(..ATTRIBUTION_DATA_LEN).and_then(AttributionData::from_slice)
    {
        let packet = data.get(ATTRIBUTION_DATA_LEN..).unwrap_or_default();
        let report = verify_attribution(&secrets, packet, &attribution);
        assert!(report.hold_times.len() <= secrets.len());
    }

    if let Ok(message) = FailureMessage::decode(data) {
        let encoded = message.encode().unwrap();
        assert!(data.starts_with(&encoded));
    }

    // The bytes as a `failuremsg` from hop 2, obfuscated back through hops 1 and 0.
    let Ok(mut packet) = create_failure_packet_padded(&secrets[2], data, 256) else { return };
    obfuscate_failure(&secrets[1], &mut packet);
    obfuscate_failure(&secrets[0], &mut packet);
    let decoded = decode_failure(&secrets, &packet).unwrap();
    assert_eq!(decoded.hop, 2);
    assert_eq!(decoded.failure_message, data);
});
