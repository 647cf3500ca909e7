//! Issuing our invoices: a fresh preimage and payment secret from the OS, a BOLT 11 invoice
//! signed with the node key, and route hints through the channels payers cannot find
//! otherwise (we announce none yet, so all of them, with the policy each peer advertised).

use bitcoin::secp256k1::rand::{rngs::OsRng, RngCore};
use shandian_invoice::{Currency, InvoiceBuilder, RouteHintHop};
use shandian_types::{Features, Msat, NodeId, PaymentPreimage, PaymentSecret};

use super::receive::KnownInvoice;
use super::state::PaymentsState;
use super::PayError;
use crate::store::{InvoiceStatus, NewInvoice};
use crate::switch::{ChannelOps, ChannelSummary};

/// How many route hints an invoice carries at most (each is 51 bytes of invoice).
pub const MAX_ROUTE_HINTS: usize = 3;

/// An invoice we issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvoice {
    /// The BOLT 11 string.
    pub bolt11: String,
    /// Its payment hash.
    pub payment_hash: shandian_types::PaymentHash,
    /// Unix seconds at which it expires.
    pub expires_at: u64,
}

/// The route hints for an invoice of `amount`: one single-hop hint per channel with a short
/// channel id and a known peer policy, those that can bring in the most first.
pub fn route_hints(channels: &[ChannelSummary], amount: Option<Msat>) -> Vec<RouteHintHop> {
    let mut usable: Vec<&ChannelSummary> = channels
        .iter()
        .filter(|c| c.short_channel_id.is_some() && c.remote_policy.is_some())
        .filter(|c| amount.is_none_or(|a| c.inbound >= a) || !c.usable)
        .collect();
    // Channels that are up and can receive the most first.
    usable.sort_by(|a, b| b.usable.cmp(&a.usable).then(b.inbound.cmp(&a.inbound)));
    usable
        .into_iter()
        .filter_map(|c| {
            let policy = c.remote_policy?;
            Some(RouteHintHop {
                src_node_id: NodeId::from(c.peer),
                short_channel_id: c.short_channel_id?,
                // A base fee above u32::MAX cannot be written into a hint.
                fee_base_msat: u32::try_from(policy.base_fee.0).ok()?,
                fee_proportional_millionths: policy.proportional_millionths,
                cltv_expiry_delta: policy.cltv_expiry_delta,
            })
        })
        .take(MAX_ROUTE_HINTS)
        .collect()
}

/// Creates, signs and stores an invoice inside a batch.
pub(crate) fn create(
    state: &mut PaymentsState,
    ops: &mut dyn ChannelOps,
    amount: Option<Msat>,
    description: String,
    expiry_secs: u64,
) -> Result<IssuedInvoice, PayError> {
    let currency =
        Currency::from_network(state.config.network).ok_or(PayError::UnsupportedNetwork)?;
    let mut preimage = [0u8; 32];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut preimage);
    OsRng.fill_bytes(&mut secret);
    let preimage = PaymentPreimage(preimage);
    let payment_secret = PaymentSecret(secret);
    let payment_hash = preimage.hash();
    let now = ops.now();
    let mut builder = InvoiceBuilder::new(currency)
        .timestamp(now)
        .payment_hash(payment_hash)
        .payment_secret(payment_secret)
        .description(description.clone())
        .expiry(expiry_secs)
        .min_final_cltv_expiry_delta(state.config.min_final_cltv_expiry_delta)
        // BOLT 9: var_onion_optin and payment_secret, required; no basic_mpp (we take a
        // payment in one HTLC).
        .features(Features::from_bits([8, 14]));
    if let Some(amount) = amount {
        builder = builder.amount_msat(amount);
    }
    for hop in route_hints(&ops.channels(), amount) {
        builder = builder.route_hint(vec![hop]);
    }
    let invoice =
        builder.sign_with(&state.secp, &state.node_secret).map_err(PayError::InvoiceBuild)?;
    let bolt11 = invoice.to_string();
    let record = NewInvoice {
        preimage,
        payment_secret,
        bolt11: bolt11.clone(),
        amount,
        description,
        expiry_secs,
        created_at: now,
    };
    ops.store().add_invoice(&record).map_err(PayError::Store)?;
    state.invoices.insert(
        payment_hash,
        KnownInvoice {
            preimage,
            payment_secret,
            amount,
            created_at: now,
            expiry_secs,
            status: InvoiceStatus::Unpaid,
            received: None,
            paid_by: None,
        },
    );
    Ok(IssuedInvoice { bolt11, payment_hash, expires_at: now.saturating_add(expiry_secs) })
}
