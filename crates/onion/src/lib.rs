//! BOLT 4 onion routing, sans-IO: Sphinx packets (build at the origin, peel at each hop), the
//! TLV hop payloads inside them, and failure messages with their attribution.
//!
//! The origin calls [`build_payment_onion`] with each hop's node id and [`HopPayload`], a fresh
//! session key and the payment hash ([`build_onion`] takes raw payloads), and keeps the
//! returned shared secrets. Each hop calls [`peel`] with its node secret: the result is either [`Peeled::Forward`] (decode the payload
//! with [`ForwardPayload::decode`], send `next_packet` on) or [`Peeled::Final`] (decode with
//! [`FinalPayload::decode`]). A failing hop answers with [`create_failure_packet`]; every hop on
//! the way back applies [`obfuscate_failure`]; the origin reads it with [`decode_failure`],
//! which names the failing hop. With `option_attribution_data`, [`AttributionData`] adds each
//! hop's hold time and HMACs ([`create_attributed_failure_packet`],
//! [`forward_attributed_failure`], [`AttributionData::add_hop`] for fulfills) and the origin
//! checks them with [`verify_attribution`].
//!
//! Entropy (the session key) is passed in; nothing here does IO or reads a clock.

mod attribution;
mod build;
mod error;
mod failure;
mod failure_packet;
mod packet;
mod payload;
mod peel;
mod sphinx;

pub use attribution::{
    verify_attribution, AttributionData, AttributionReport, ATTRIBUTION_DATA_LEN,
    MAX_ATTRIBUTED_HOPS,
};
pub use build::{build_onion, build_payment_onion, shift_size, BuiltOnion, MIN_PAYLOAD_LEN};
pub use error::{Error, PayloadProblem};
pub use failure::{FailureCode, FailureMessage};
pub use failure_packet::{
    create_attributed_failure_packet, create_failure_packet, create_failure_packet_padded,
    decode_failure, forward_attributed_failure, obfuscate_failure, DecodedFailure,
    FAILURE_DECRYPTION_ROUNDS, FAILURE_PADDED_LEN,
};
pub use packet::{
    OnionPacket, HMAC_LEN, HOP_PAYLOADS_LEN, ONION_VERSION, PACKET_LEN, PUBLIC_KEY_LEN,
};
pub use payload::{
    FinalPayload, ForwardPayload, ForwardingPolicy, HopPayload, PaymentData, AMT_TO_FORWARD,
    KEYSEND_PREIMAGE, OUTGOING_CLTV_VALUE, PAYMENT_DATA, PAYMENT_METADATA, SHORT_CHANNEL_ID,
};
pub use peel::{peel, Peeled, PeeledOnion, ReplayTag};
pub use sphinx::{derive_key, KeyType, SharedSecret};
