//! Decodes arbitrary bytes as a whole peer message (2-byte type + payload). Decoding must never
//! panic, and whatever decodes must re-encode to bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shandian_wire::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        let encoded = message.encode();
        assert_eq!(Message::decode(&encoded).as_ref(), Ok(&message));
        assert_eq!(message.encode(), encoded);
    }
});
