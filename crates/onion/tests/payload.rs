//! BOLT 4 hop payload rules, one test per rule, and the failure each violation maps to.

use shandian_onion::{
    Error, FailureMessage, FinalPayload, ForwardPayload, ForwardingPolicy, HopPayload,
    PayloadProblem, PaymentData, AMT_TO_FORWARD, KEYSEND_PREIMAGE, OUTGOING_CLTV_VALUE,
    PAYMENT_DATA, PAYMENT_METADATA, SHORT_CHANNEL_ID,
};
use shandian_types::{
    BlockHeight, CltvExpiry, CltvExpiryDelta, Msat, PaymentPreimage, PaymentSecret, ShortChannelId,
};
use shandian_wire::TlvStream;

fn stream(records: &[(u64, &[u8])]) -> Vec<u8> {
    let mut records: Vec<(u64, Vec<u8>)> = records.iter().map(|(t, v)| (*t, v.to_vec())).collect();
    TlvStream::encode(&mut records).unwrap()
}

fn invalid(tlv_type: u64, offset: u16, problem: PayloadProblem) -> Error {
    Error::InvalidPayload { tlv_type, offset, problem }
}

const AMOUNT: (u64, &[u8]) = (AMT_TO_FORWARD, &[0x03, 0xe8]);
const CLTV: (u64, &[u8]) = (OUTGOING_CLTV_VALUE, &[0x90]);
const SCID: (u64, &[u8]) = (SHORT_CHANNEL_ID, &[0, 0, 1, 0, 0, 2, 0, 3]);

fn final_payload() -> FinalPayload {
    FinalPayload::new(Msat(1000), CltvExpiry(144))
}

#[test]
fn forward_payload_with_required_fields_decodes() {
    let payload = ForwardPayload::decode(&stream(&[AMOUNT, CLTV, SCID])).unwrap();
    assert_eq!(payload.amt_to_forward, Msat(1000));
    assert_eq!(payload.outgoing_cltv_value, CltvExpiry(144));
    assert_eq!(payload.short_channel_id, ShortChannelId::new(1, 2, 3).unwrap());
    assert_eq!(HopPayload::Forward(payload.clone()).encode(), stream(&[AMOUNT, CLTV, SCID]));
}

#[test]
fn missing_amt_to_forward_is_invalid_onion_payload() {
    // BOLT 4: MUST return an error if `amt_to_forward` or `outgoing_cltv_value` are not present.
    let error = ForwardPayload::decode(&stream(&[CLTV, SCID])).unwrap_err();
    assert_eq!(error, invalid(AMT_TO_FORWARD, 0, PayloadProblem::Missing));
    assert_eq!(
        error.failure_message(),
        Some(FailureMessage::InvalidOnionPayload { tlv_type: AMT_TO_FORWARD, offset: 0 })
    );
    let error = FinalPayload::decode(&stream(&[CLTV])).unwrap_err();
    assert_eq!(error, invalid(AMT_TO_FORWARD, 0, PayloadProblem::Missing));
}

#[test]
fn missing_outgoing_cltv_value_is_invalid_onion_payload() {
    let error = ForwardPayload::decode(&stream(&[AMOUNT, SCID])).unwrap_err();
    assert_eq!(error, invalid(OUTGOING_CLTV_VALUE, 0, PayloadProblem::Missing));
    let error = FinalPayload::decode(&stream(&[AMOUNT])).unwrap_err();
    assert_eq!(error, invalid(OUTGOING_CLTV_VALUE, 0, PayloadProblem::Missing));
}

#[test]
fn intermediate_hop_without_short_channel_id_is_invalid() {
    // BOLT 4: if it is not the final node, MUST return an error if `short_channel_id` is not
    // present.
    let error = ForwardPayload::decode(&stream(&[AMOUNT, CLTV])).unwrap_err();
    assert_eq!(error, invalid(SHORT_CHANNEL_ID, 0, PayloadProblem::Missing));
}

#[test]
fn intermediate_hop_with_payment_data_is_invalid() {
    // BOLT 4: for every non-final node the writer MUST NOT include `payment_data`.
    let data = [[7u8; 32].as_slice(), &[0x03, 0xe8]].concat();
    let bytes = stream(&[AMOUNT, CLTV, SCID, (PAYMENT_DATA, &data)]);
    // amount (4) + cltv (3) + scid (10) precede it.
    let error = ForwardPayload::decode(&bytes).unwrap_err();
    assert_eq!(error, invalid(PAYMENT_DATA, 17, PayloadProblem::NotAllowed));
    assert_eq!(
        error.failure_message(),
        Some(FailureMessage::InvalidOnionPayload { tlv_type: PAYMENT_DATA, offset: 17 })
    );
}

#[test]
fn final_node_with_short_channel_id_is_invalid() {
    // BOLT 4: for the final node the writer MUST NOT include `short_channel_id`.
    let error = FinalPayload::decode(&stream(&[AMOUNT, CLTV, SCID])).unwrap_err();
    assert_eq!(error, invalid(SHORT_CHANNEL_ID, 7, PayloadProblem::NotAllowed));
}

#[test]
fn unknown_even_type_is_rejected_with_its_offset() {
    // BOLT 1: unknown even types MUST fail the parse; BOLT 4 reports type and offset.
    let bytes = stream(&[AMOUNT, CLTV, (100, &[1, 2])]);
    assert_eq!(
        FinalPayload::decode(&bytes).unwrap_err(),
        invalid(100, 7, PayloadProblem::UnknownEvenType)
    );
    // Route blinding records are not supported yet, so they are unknown even types.
    let bytes = stream(&[AMOUNT, CLTV, SCID, (10, &[0; 4])]);
    assert_eq!(
        ForwardPayload::decode(&bytes).unwrap_err(),
        invalid(10, 17, PayloadProblem::UnknownEvenType)
    );
}

#[test]
fn unknown_odd_types_are_kept_in_the_final_payload_and_ignored_by_forwarders() {
    let bytes = stream(&[AMOUNT, CLTV, SCID, (65_537, &[9])]);
    assert!(ForwardPayload::decode(&bytes).is_ok());
    let bytes = stream(&[AMOUNT, CLTV, (65_537, &[9])]);
    let payload = FinalPayload::decode(&bytes).unwrap();
    assert_eq!(payload.custom_records, vec![(65_537, vec![9])]);
    assert_eq!(payload.encode(), bytes);
}

#[test]
fn malformed_tlv_streams_are_invalid_onion_payload() {
    // Types out of order.
    let bytes = [stream(&[CLTV]), stream(&[AMOUNT])].concat();
    assert_eq!(
        FinalPayload::decode(&bytes).unwrap_err(),
        invalid(AMT_TO_FORWARD, 0, PayloadProblem::MalformedStream)
    );
    // Duplicate type.
    let bytes = [stream(&[AMOUNT]), stream(&[AMOUNT])].concat();
    assert!(matches!(
        FinalPayload::decode(&bytes),
        Err(Error::InvalidPayload { problem: PayloadProblem::MalformedStream, .. })
    ));
    // Length past the end.
    assert_eq!(
        FinalPayload::decode(&[2, 5, 1]).unwrap_err(),
        invalid(2, 0, PayloadProblem::MalformedStream)
    );
    // Non-minimal BigSize type.
    assert!(matches!(
        FinalPayload::decode(&[0xfd, 0, 2, 0]),
        Err(Error::InvalidPayload { problem: PayloadProblem::MalformedStream, .. })
    ));
}

#[test]
fn non_minimal_truncated_integers_are_malformed_values() {
    // BOLT 1: tu64/tu32 MUST be minimally encoded.
    let bytes = stream(&[(AMT_TO_FORWARD, &[0, 1]), CLTV]);
    assert_eq!(
        FinalPayload::decode(&bytes).unwrap_err(),
        invalid(AMT_TO_FORWARD, 0, PayloadProblem::MalformedValue)
    );
    let bytes = stream(&[AMOUNT, (OUTGOING_CLTV_VALUE, &[1, 2, 3, 4, 5])]);
    assert_eq!(
        FinalPayload::decode(&bytes).unwrap_err(),
        invalid(OUTGOING_CLTV_VALUE, 4, PayloadProblem::MalformedValue)
    );
    let bytes = stream(&[AMOUNT, CLTV, (SHORT_CHANNEL_ID, &[1; 7])]);
    assert_eq!(
        ForwardPayload::decode(&bytes).unwrap_err(),
        invalid(SHORT_CHANNEL_ID, 7, PayloadProblem::MalformedValue)
    );
}

#[test]
fn payment_data_is_secret_then_truncated_total() {
    let mut payload = final_payload();
    payload.payment_data =
        Some(PaymentData { payment_secret: PaymentSecret([5; 32]), total_msat: Msat(3000) });
    let bytes = payload.encode();
    assert_eq!(FinalPayload::decode(&bytes).unwrap(), payload);
    assert_eq!(payload.total_msat(), Msat(3000));
    // Shorter than a payment secret.
    let bytes = stream(&[AMOUNT, CLTV, (PAYMENT_DATA, &[5; 31])]);
    assert_eq!(
        FinalPayload::decode(&bytes).unwrap_err(),
        invalid(PAYMENT_DATA, 7, PayloadProblem::MalformedValue)
    );
    // total_msat longer than a tu64.
    let bytes = stream(&[AMOUNT, CLTV, (PAYMENT_DATA, &[5; 41])]);
    assert!(FinalPayload::decode(&bytes).is_err());
}

#[test]
fn total_msat_defaults_to_amt_to_forward() {
    // BOLT 4: MUST treat `total_msat` as if it were equal to `amt_to_forward` if absent.
    assert_eq!(final_payload().total_msat(), Msat(1000));
}

#[test]
fn payment_metadata_and_keysend_preimage_round_trip() {
    let mut payload = final_payload();
    payload.payment_metadata = Some(vec![0xab; 100]);
    payload.keysend_preimage = Some(PaymentPreimage([9; 32]));
    let bytes = payload.encode();
    assert_eq!(FinalPayload::decode(&bytes).unwrap(), payload);
    // A keysend preimage must be 32 bytes.
    let bytes = stream(&[AMOUNT, CLTV, (KEYSEND_PREIMAGE, &[9; 31])]);
    assert!(matches!(
        FinalPayload::decode(&bytes),
        Err(Error::InvalidPayload { tlv_type: KEYSEND_PREIMAGE, .. })
    ));
    // Neither belongs in a forwarding hop's payload.
    let bytes = stream(&[AMOUNT, CLTV, SCID, (PAYMENT_METADATA, &[1])]);
    assert_eq!(
        ForwardPayload::decode(&bytes).unwrap_err(),
        invalid(PAYMENT_METADATA, 17, PayloadProblem::NotAllowed)
    );
}

#[test]
fn final_node_htlc_checks_map_to_bolt4_failures() {
    let payload = final_payload(); // 1000 msat, cltv 144
    let height = BlockHeight(100);
    let delta = CltvExpiryDelta(18);
    assert_eq!(payload.check_htlc(Msat(1000), CltvExpiry(144), height, delta), Ok(()));
    // Expiry too near the present: incorrect_or_unknown_payment_details with amount and height.
    assert_eq!(
        payload.check_htlc(Msat(1000), CltvExpiry(117), height, delta),
        Err(FailureMessage::IncorrectOrUnknownPaymentDetails { htlc_msat: Msat(1000), height })
    );
    // HTLC expiry below outgoing_cltv_value: final_incorrect_cltv_expiry.
    assert_eq!(
        payload.check_htlc(Msat(1000), CltvExpiry(143), height, delta),
        Err(FailureMessage::FinalIncorrectCltvExpiry { cltv_expiry: CltvExpiry(143) })
    );
    // HTLC amount below amt_to_forward: final_incorrect_htlc_amount.
    assert_eq!(
        payload.check_htlc(Msat(999), CltvExpiry(144), height, delta),
        Err(FailureMessage::FinalIncorrectHtlcAmount { incoming_htlc_amt: Msat(999) })
    );
    // Overpaying is the node's call (it knows the invoice), not a payload violation.
    assert_eq!(payload.check_htlc(Msat(5000), CltvExpiry(200), height, delta), Ok(()));
}

#[test]
fn forwarding_checks_map_to_bolt4_failures() {
    let payload = ForwardPayload {
        amt_to_forward: Msat(100_000),
        outgoing_cltv_value: CltvExpiry(500),
        short_channel_id: ShortChannelId(1),
    };
    let policy = ForwardingPolicy {
        fee_base_msat: 1000,
        fee_proportional_millionths: 100, // 10 msat on 100,000
        cltv_expiry_delta: CltvExpiryDelta(40),
        htlc_minimum_msat: Msat(1000),
    };
    let update = [0xcu8; 3];
    assert_eq!(policy.fee(Msat(100_000)), Msat(1010));
    assert_eq!(payload.check_htlc(Msat(101_010), CltvExpiry(540), &policy, &update), Ok(()));
    // One msat short of the fee: fee_insufficient with the incoming amount.
    assert_eq!(
        payload.check_htlc(Msat(101_009), CltvExpiry(540), &policy, &update),
        Err(FailureMessage::FeeInsufficient {
            htlc_msat: Msat(101_009),
            channel_update: update.to_vec()
        })
    );
    // One block short of the delta: incorrect_cltv_expiry with the incoming expiry.
    assert_eq!(
        payload.check_htlc(Msat(101_010), CltvExpiry(539), &policy, &[]),
        Err(FailureMessage::IncorrectCltvExpiry {
            cltv_expiry: CltvExpiry(539),
            channel_update: vec![]
        })
    );
    // An expiry below the delta itself underflows: still incorrect_cltv_expiry, no panic.
    assert!(matches!(
        payload.check_htlc(Msat(101_010), CltvExpiry(10), &policy, &[]),
        Err(FailureMessage::IncorrectCltvExpiry { .. })
    ));
    // Below the channel minimum: amount_below_minimum with the outgoing amount, first.
    let strict = ForwardingPolicy { htlc_minimum_msat: Msat(100_001), ..policy };
    assert_eq!(
        payload.check_htlc(Msat(0), CltvExpiry(0), &strict, &[]),
        Err(FailureMessage::AmountBelowMinimum {
            htlc_msat: Msat(100_000),
            channel_update: vec![]
        })
    );
    // Amounts near u64::MAX saturate instead of overflowing.
    let huge = ForwardPayload { amt_to_forward: Msat(u64::MAX), ..payload };
    assert!(matches!(
        huge.check_htlc(Msat(u64::MAX), CltvExpiry(540), &policy, &[]),
        Err(FailureMessage::FeeInsufficient { .. })
    ));
}
