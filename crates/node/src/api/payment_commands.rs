//! The payment commands: `invoice`, `pay`, `listpayments`, `listinvoices`, `listforwards`.
//! Handlers take the node's [`PaymentsHandle`] as an `Extension` (the daemon layers it on
//! [`routes`]).

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use bitcoin::hex::DisplayHex;
use serde::Deserialize;
use serde_json::{json, Value};
use shandian_types::Msat;

use super::commands::{NoParams, Params};
use super::error::CommandError;
use super::ApiState;
use crate::payments::{PayError, PaymentsHandle};
use crate::store::{Forward, Invoice, Payment};

/// How long `pay` waits for the outcome when the caller names no timeout.
pub const DEFAULT_PAY_TIMEOUT_SECS: u64 = 60;

type Reply = Result<Json<Value>, CommandError>;

/// The payment commands' routes; layer `Extension(PaymentsHandle)` on them.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/invoice", post(invoice))
        .route("/v1/pay", post(pay))
        .route("/v1/listpayments", post(listpayments))
        .route("/v1/listinvoices", post(listinvoices))
        .route("/v1/listforwards", post(listforwards))
}

/// The HTTP status of a payment error.
pub(super) fn status(error: &PayError) -> StatusCode {
    match error {
        PayError::InvalidInvoice(_)
        | PayError::WrongNetwork { .. }
        | PayError::AmountRequired
        | PayError::AmountMismatch { .. }
        | PayError::ZeroAmount
        | PayError::OwnInvoice
        | PayError::InvoiceBuild(_) => StatusCode::BAD_REQUEST,
        PayError::Expired(_) | PayError::AlreadyPaid | PayError::InProgress => StatusCode::CONFLICT,
        PayError::NoRoute(_) | PayError::Failed(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PayError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        PayError::UnsupportedNetwork | PayError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        PayError::ManagerStopped => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The stable `error.code` of a payment error.
pub(super) fn code(error: &PayError) -> &'static str {
    match error {
        PayError::InvalidInvoice(_) => "invalid_invoice",
        PayError::WrongNetwork { .. } => "wrong_network",
        PayError::Expired(_) => "invoice_expired",
        PayError::AlreadyPaid => "already_paid",
        PayError::InProgress => "payment_in_progress",
        PayError::AmountRequired => "amount_required",
        PayError::AmountMismatch { .. } => "amount_mismatch",
        PayError::ZeroAmount => "invalid_amount",
        PayError::OwnInvoice => "own_invoice",
        PayError::NoRoute(_) => "no_route",
        PayError::Failed(_) => "payment_failed",
        PayError::TimedOut => "payment_timed_out",
        PayError::UnsupportedNetwork => "unsupported_network",
        PayError::InvoiceBuild(_) => "invalid_invoice_parameters",
        PayError::Store(_) => "store_error",
        PayError::ManagerStopped => "shutting_down",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceParams {
    amount_msat: u64,
    description: String,
    expiry_secs: Option<u64>,
}

/// `invoice`: a new BOLT 11 invoice with route hints.
async fn invoice(
    Extension(payments): Extension<PaymentsHandle>,
    Params(params): Params<InvoiceParams>,
) -> Reply {
    let issued = payments
        .create_invoice(Some(Msat(params.amount_msat)), params.description, params.expiry_secs)
        .await?;
    Ok(Json(json!({
        "bolt11": issued.bolt11,
        "payment_hash": issued.payment_hash.to_string(),
        "expires_at": issued.expires_at,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayParams {
    invoice: String,
    amount_msat: Option<u64>,
    timeout_secs: Option<u64>,
}

/// `pay`: pays an invoice and waits for the outcome.
async fn pay(
    Extension(payments): Extension<PaymentsHandle>,
    Params(params): Params<PayParams>,
) -> Reply {
    let timeout = Duration::from_secs(params.timeout_secs.unwrap_or(DEFAULT_PAY_TIMEOUT_SECS));
    let paid = payments.pay(&params.invoice, params.amount_msat.map(Msat), timeout).await?;
    Ok(Json(json!({
        "payment_hash": paid.payment_hash.to_string(),
        "preimage": paid.preimage.0.to_lower_hex_string(),
        "amount_msat": paid.amount.0,
        "fee_msat": paid.fee.0,
        "attempts": paid.attempts,
        "route": paid.route.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })))
}

fn payment_json(payment: &Payment) -> Value {
    json!({
        "payment_hash": payment.payment_hash.to_string(),
        "status": payment.status.as_str(),
        "amount_msat": payment.amount.0,
        "fee_msat": payment.fee.map(|f| f.0),
        "preimage": payment.preimage.map(|p| p.0.to_lower_hex_string()),
        "failure": payment.failure,
        "invoice": payment.invoice,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    })
}

/// `listpayments`: our payments, oldest first.
async fn listpayments(
    Extension(payments): Extension<PaymentsHandle>,
    _: Params<NoParams>,
) -> Reply {
    let list = payments.list_payments().await?;
    Ok(Json(json!({ "payments": list.iter().map(payment_json).collect::<Vec<_>>() })))
}

fn invoice_json(invoice: &Invoice) -> Value {
    json!({
        "payment_hash": invoice.payment_hash.to_string(),
        "status": invoice.status.as_str(),
        "amount_msat": invoice.invoice.amount.map(|a| a.0),
        "received_msat": invoice.received.map(|a| a.0),
        "description": invoice.invoice.description,
        "bolt11": invoice.invoice.bolt11,
        "preimage": invoice.invoice.preimage.0.to_lower_hex_string(),
        "created_at": invoice.invoice.created_at,
        "expires_at": invoice.invoice.created_at.saturating_add(invoice.invoice.expiry_secs),
        "paid_at": invoice.paid_at,
    })
}

/// `listinvoices`: our invoices, oldest first.
async fn listinvoices(
    Extension(payments): Extension<PaymentsHandle>,
    _: Params<NoParams>,
) -> Reply {
    let list = payments.list_invoices().await?;
    Ok(Json(json!({ "invoices": list.iter().map(invoice_json).collect::<Vec<_>>() })))
}

fn forward_json(forward: &Forward) -> Value {
    let f = &forward.forward;
    json!({
        "payment_hash": f.payment_hash.to_string(),
        "in_channel_id": f.in_channel_id.to_string(),
        "in_htlc_id": f.in_htlc_id,
        "out_channel_id": f.out_channel_id.to_string(),
        "out_htlc_id": f.out_htlc_id,
        "in_msat": f.in_amount.0,
        "out_msat": f.out_amount.0,
        "fee_msat": forward.fee().0,
        "status": forward.status.as_str(),
        "created_at": forward.created_at,
        "updated_at": forward.updated_at,
    })
}

/// `listforwards`: HTLCs we relayed, with the fee each earned, oldest first.
async fn listforwards(
    Extension(payments): Extension<PaymentsHandle>,
    _: Params<NoParams>,
) -> Reply {
    let list = payments.list_forwards().await?;
    Ok(Json(json!({ "forwards": list.iter().map(forward_json).collect::<Vec<_>>() })))
}
