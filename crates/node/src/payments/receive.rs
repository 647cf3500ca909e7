//! Receiving: what the final node does with an HTLC whose onion is for it (BOLT 4 "Payload
//! for the Last Node", "Requirements" of the final node, and BOLT 11's payee rules).

use shandian_channel::Htlc;
use shandian_onion::{FailureMessage, FinalPayload};
use shandian_types::{
    BlockHeight, ChannelId, CltvExpiryDelta, Msat, PaymentPreimage, PaymentSecret,
};

use crate::store::InvoiceStatus;

/// One of our invoices, as the receive path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownInvoice {
    /// The preimage that settles it.
    pub preimage: PaymentPreimage,
    /// The invoice's payment secret.
    pub payment_secret: PaymentSecret,
    /// The amount asked for, if any.
    pub amount: Option<Msat>,
    /// Unix seconds.
    pub created_at: u64,
    /// Seconds after `created_at` until it expires.
    pub expiry_secs: u64,
    /// Where it stands.
    pub status: InvoiceStatus,
    /// What was received, once paid.
    pub received: Option<Msat>,
    /// The HTLC that paid it (stored with the payment; only invoices paid before schema v5
    /// lack it, and for them the amount identifies a replay).
    pub paid_by: Option<(ChannelId, u64)>,
}

impl From<&crate::store::Invoice> for KnownInvoice {
    fn from(stored: &crate::store::Invoice) -> KnownInvoice {
        KnownInvoice {
            preimage: stored.invoice.preimage,
            payment_secret: stored.invoice.payment_secret,
            amount: stored.invoice.amount,
            created_at: stored.invoice.created_at,
            expiry_secs: stored.invoice.expiry_secs,
            status: stored.status,
            received: stored.received,
            paid_by: stored.paid_by,
        }
    }
}

impl KnownInvoice {
    /// BOLT 11: a payee SHOULD NOT accept a payment after timestamp plus expiry.
    pub fn is_expired(&self, now: u64) -> bool {
        self.status == InvoiceStatus::Expired
            || now > self.created_at.saturating_add(self.expiry_secs)
    }

    /// Whether `(channel_id, htlc)` is the HTLC that already paid this invoice (a replay).
    fn paid_by_this(&self, channel_id: &ChannelId, htlc: &Htlc) -> bool {
        if self.status != InvoiceStatus::Paid {
            return false;
        }
        match self.paid_by {
            Some(paid_by) => paid_by == (*channel_id, htlc.id),
            None => self.received == Some(htlc.amount_msat),
        }
    }
}

/// What to do with an HTLC paying one of our invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Mark the invoice paid and fulfil.
    Accept(PaymentPreimage),
    /// The HTLC that already paid the invoice, seen again after a restart: fulfil again.
    Replay(PaymentPreimage),
    /// Fail it with this message.
    Reject(FailureMessage),
}

/// Checks an HTLC for which we are the final node. `invoice` is ours for its payment hash;
/// `min_final_cltv_expiry_delta` is what our invoices ask for.
pub fn check(
    channel_id: &ChannelId,
    htlc: &Htlc,
    payload: &FinalPayload,
    invoice: Option<&KnownInvoice>,
    height: BlockHeight,
    now: u64,
    min_final_cltv_expiry_delta: CltvExpiryDelta,
) -> Receipt {
    // A replay of the HTLC that paid is fulfilled whatever the height now says: the preimage
    // is out, and failing it now would only lose the money.
    if let Some(invoice) = invoice.filter(|i| i.paid_by_this(channel_id, htlc)) {
        return Receipt::Replay(invoice.preimage);
    }
    let unknown =
        FailureMessage::IncorrectOrUnknownPaymentDetails { htlc_msat: htlc.amount_msat, height };
    // BOLT 4: expiry too near (incorrect_or_unknown_payment_details), then
    // final_incorrect_cltv_expiry, then final_incorrect_htlc_amount.
    if let Err(failure) =
        payload.check_htlc(htlc.amount_msat, htlc.cltv_expiry, height, min_final_cltv_expiry_delta)
    {
        return Receipt::Reject(failure);
    }
    // BOLT 4: if the payment hash is unknown, MUST fail with incorrect_or_unknown_payment_details.
    let Some(invoice) = invoice else { return Receipt::Reject(unknown) };
    // BOLT 4: if the payment_secret does not match the invoice's, MUST fail the HTLC.
    let secret_matches =
        payload.payment_data.is_some_and(|data| data.payment_secret == invoice.payment_secret);
    if !secret_matches {
        return Receipt::Reject(unknown);
    }
    // BOLT 4: without basic_mpp support, MUST fail if total_msat is not exactly
    // amt_to_forward. Our invoices do not offer basic_mpp.
    if payload.total_msat() != payload.amt_to_forward {
        return Receipt::Reject(unknown);
    }
    // BOLT 4: MUST fail if the amount paid is less than the amount expected; SHOULD fail if
    // it is more than twice the amount expected.
    if let Some(expected) = invoice.amount {
        let too_much = expected.checked_mul(2).is_some_and(|max| htlc.amount_msat > max);
        if htlc.amount_msat < expected || too_much {
            return Receipt::Reject(unknown);
        }
    }
    // BOLT 11: SHOULD NOT accept a payment after expiry; an invoice already paid by another
    // HTLC is not paid twice.
    if invoice.is_expired(now) || invoice.status != InvoiceStatus::Unpaid {
        return Receipt::Reject(unknown);
    }
    Receipt::Accept(invoice.preimage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shandian_onion::{FailureCode, PaymentData};
    use shandian_types::CltvExpiry;
    use shandian_wire::{OnionPacket, UpdateAddHtlc};

    const NOW: u64 = 1_700_000_000;
    const HEIGHT: BlockHeight = BlockHeight(1000);
    const DELTA: CltvExpiryDelta = CltvExpiryDelta(40);

    fn invoice() -> KnownInvoice {
        KnownInvoice {
            preimage: PaymentPreimage([9; 32]),
            payment_secret: PaymentSecret([5; 32]),
            amount: Some(Msat(100_000)),
            created_at: NOW - 10,
            expiry_secs: 3600,
            status: InvoiceStatus::Unpaid,
            received: None,
            paid_by: None,
        }
    }

    fn htlc(amount: u64, expiry: u32) -> Htlc {
        UpdateAddHtlc {
            channel_id: ChannelId([1; 32]),
            id: 4,
            amount_msat: Msat(amount),
            payment_hash: PaymentPreimage([9; 32]).hash(),
            cltv_expiry: CltvExpiry(expiry),
            onion_routing_packet: OnionPacket::new([0; 1366]),
            blinding_point: None,
        }
    }

    fn payload(amount: u64, expiry: u32, secret: [u8; 32]) -> FinalPayload {
        let mut payload = FinalPayload::new(Msat(amount), CltvExpiry(expiry));
        payload.payment_data =
            Some(PaymentData { payment_secret: PaymentSecret(secret), total_msat: Msat(amount) });
        payload
    }

    fn run(htlc: &Htlc, payload: &FinalPayload, invoice: Option<&KnownInvoice>) -> Receipt {
        check(&ChannelId([1; 32]), htlc, payload, invoice, HEIGHT, NOW, DELTA)
    }

    fn code(receipt: Receipt) -> FailureCode {
        match receipt {
            Receipt::Reject(message) => message.code(),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_correct_payment_is_accepted() {
        let invoice = invoice();
        let receipt = run(&htlc(100_000, 1043), &payload(100_000, 1043, [5; 32]), Some(&invoice));
        assert_eq!(receipt, Receipt::Accept(PaymentPreimage([9; 32])));
        // Overpaying up to twice the amount is fine.
        let receipt = run(&htlc(200_000, 1043), &payload(200_000, 1043, [5; 32]), Some(&invoice));
        assert_eq!(receipt, Receipt::Accept(PaymentPreimage([9; 32])));
    }

    #[test]
    fn each_final_node_failure_has_its_code() {
        let inv = invoice();
        let unknown = FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS;
        // Expiry too close to the tip.
        assert_eq!(
            code(run(&htlc(100_000, 1039), &payload(100_000, 1039, [5; 32]), Some(&inv))),
            unknown
        );
        // The HTLC expires before the onion says it should.
        assert_eq!(
            code(run(&htlc(100_000, 1043), &payload(100_000, 1050, [5; 32]), Some(&inv))),
            FailureCode::FINAL_INCORRECT_CLTV_EXPIRY
        );
        // The HTLC carries less than the onion says.
        assert_eq!(
            code(run(&htlc(99_000, 1043), &payload(100_000, 1043, [5; 32]), Some(&inv))),
            FailureCode::FINAL_INCORRECT_HTLC_AMOUNT
        );
        // Unknown payment hash.
        assert_eq!(
            code(run(&htlc(100_000, 1043), &payload(100_000, 1043, [5; 32]), None)),
            unknown
        );
        // Wrong or missing payment secret.
        assert_eq!(
            code(run(&htlc(100_000, 1043), &payload(100_000, 1043, [6; 32]), Some(&inv))),
            unknown
        );
        let bare = FinalPayload::new(Msat(100_000), CltvExpiry(1043));
        assert_eq!(code(run(&htlc(100_000, 1043), &bare, Some(&inv))), unknown);
        // Underpaid, and more than twice overpaid.
        assert_eq!(
            code(run(&htlc(99_999, 1043), &payload(99_999, 1043, [5; 32]), Some(&inv))),
            unknown
        );
        assert_eq!(
            code(run(&htlc(200_001, 1043), &payload(200_001, 1043, [5; 32]), Some(&inv))),
            unknown
        );
        // A multi-part total (we do not offer basic_mpp).
        let mut part = payload(50_000, 1043, [5; 32]);
        part.payment_data =
            Some(PaymentData { payment_secret: PaymentSecret([5; 32]), total_msat: Msat(100_000) });
        assert_eq!(code(run(&htlc(50_000, 1043), &part, Some(&inv))), unknown);
    }

    #[test]
    fn expired_and_already_paid_invoices_are_refused_but_a_replay_is_fulfilled() {
        let good = payload(100_000, 1043, [5; 32]);
        let mut expired = invoice();
        expired.created_at = NOW - 4000;
        let unknown = FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS;
        assert_eq!(code(run(&htlc(100_000, 1043), &good, Some(&expired))), unknown);
        let mut paid = invoice();
        paid.status = InvoiceStatus::Paid;
        paid.received = Some(Msat(100_000));
        paid.paid_by = Some((ChannelId([1; 32]), 4));
        let replay = run(&htlc(100_000, 1043), &good, Some(&paid));
        assert_eq!(replay, Receipt::Replay(PaymentPreimage([9; 32])));
        // Another HTLC paying the same invoice again is refused.
        let mut other = htlc(100_000, 1043);
        other.id = 5;
        assert_eq!(code(run(&other, &good, Some(&paid))), unknown);
        // Paid before the store kept the paying HTLC (schema < 5): the amount identifies the
        // replay, even if the chain moved past its expiry margin.
        paid.paid_by = None;
        let late = check(
            &ChannelId([1; 32]),
            &htlc(100_000, 1043),
            &good,
            Some(&paid),
            BlockHeight(1040),
            NOW,
            DELTA,
        );
        assert_eq!(late, Receipt::Replay(PaymentPreimage([9; 32])));
        assert_eq!(
            code(run(&htlc(150_000, 1043), &payload(150_000, 1043, [5; 32]), Some(&paid))),
            unknown
        );
    }
}
