//! What the payment logic keeps in memory between batches, shared by the [`HtlcHandler`]
//! the channel manager calls and the [`PaymentsHandle`] API callers use.
//!
//! The store is the truth; this is an index of it (inside a batch only the batch's writer is
//! at hand, and it writes). It is loaded from the store at start and updated in the same
//! batches that write the store, so the two never disagree once the batch commits (and if a
//! batch does not commit, the node stops).
//!
//! [`HtlcHandler`]: crate::switch::HtlcHandler
//! [`PaymentsHandle`]: super::PaymentsHandle

use std::collections::HashMap;

use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use shandian_onion::SharedSecret;
use shandian_types::{ChannelId, Msat, NodeId, PaymentHash, PaymentSecret};
use tokio::sync::oneshot;

use super::attempt::SentRoute;
use super::receive::KnownInvoice;
use super::route::{Exclusions, HintHop};
use super::{PayError, PaySuccess, PaymentsConfig};
use crate::store::{ForwardStatus, Store, StoreError};

/// An HTLC identified by its channel and id there.
pub(crate) type HtlcKey = (ChannelId, u64);

/// An HTLC we sent for one of our payments, still unresolved.
#[derive(Debug, Clone)]
pub(crate) struct SentHtlc {
    /// The attempt's id in the store.
    pub attempt_id: i64,
    /// The payment.
    pub payment_hash: PaymentHash,
    /// Its route and secrets.
    pub route: SentRoute,
}

/// What a payment needs to try another route.
#[derive(Debug, Clone)]
pub(crate) struct PayRequest {
    /// The payee.
    pub payee: NodeId,
    /// What the payee gets.
    pub amount: Msat,
    /// The invoice's payment secret.
    pub payment_secret: PaymentSecret,
    /// The invoice's payment metadata.
    pub metadata: Option<Vec<u8>>,
    /// The invoice's `min_final_cltv_expiry_delta`.
    pub min_final_cltv_expiry_delta: shandian_types::CltvExpiryDelta,
    /// The invoice's route hints.
    pub hints: Vec<Vec<HintHop>>,
}

/// A payment this process is making (and may retry).
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// What to pay.
    pub request: PayRequest,
    /// What failed so far.
    pub exclusions: Exclusions,
    /// HTLCs sent so far.
    pub attempts: u32,
    /// Unix seconds after which no new attempt starts.
    pub deadline: u64,
    /// The last failure, for the final error.
    pub last_failure: Option<String>,
    /// The API caller waiting for the outcome (gone after a timeout).
    pub waiter: Option<oneshot::Sender<Result<PaySuccess, PayError>>>,
}

/// A forward we made: the outgoing HTLC and how far it got.
#[derive(Debug, Clone)]
pub(crate) struct ForwardEntry {
    /// Where it stands.
    pub status: ForwardStatus,
    /// The preimage, once fulfilled.
    pub preimage: Option<shandian_types::PaymentPreimage>,
    /// The stored failure ([`super::forward::UpstreamFailure`] bytes), once failed.
    pub failure: Option<Vec<u8>>,
    /// The incoming onion's shared secret, once peeled in this process.
    pub secret: Option<SharedSecret>,
}

/// The in-memory index.
pub(crate) struct PaymentsState {
    pub secp: Secp256k1<All>,
    pub node_secret: SecretKey,
    pub node_id: NodeId,
    pub config: PaymentsConfig,
    /// Our unpaid invoices, by payment hash. Paid and expired ones leave memory (an HTLC
    /// naming one, e.g. a replay after a restart, reads it from the store), so memory and the
    /// per-block expiry scan stay as large as what is still payable, not as every invoice ever.
    pub invoices: HashMap<PaymentHash, KnownInvoice>,
    /// Our HTLCs in flight, by outgoing channel and id.
    pub sent: HashMap<HtlcKey, SentHtlc>,
    /// Payments this process is making.
    pub outgoing: HashMap<PaymentHash, Outgoing>,
    /// Forwards, by incoming HTLC.
    pub forwards: HashMap<HtlcKey, ForwardEntry>,
    /// Incoming HTLC of each forward, by outgoing HTLC.
    pub forwards_out: HashMap<HtlcKey, HtlcKey>,
}

impl PaymentsState {
    /// Loads the index from `store`.
    pub fn load(
        store: &Store,
        node_secret: SecretKey,
        config: PaymentsConfig,
    ) -> Result<PaymentsState, StoreError> {
        let secp = Secp256k1::new();
        let node_id = NodeId::from(PublicKey::from_secret_key(&secp, &node_secret));
        let mut state = PaymentsState {
            secp,
            node_secret,
            node_id,
            config,
            invoices: HashMap::new(),
            sent: HashMap::new(),
            outgoing: HashMap::new(),
            forwards: HashMap::new(),
            forwards_out: HashMap::new(),
        };
        for invoice in store.unpaid_invoices()? {
            state.invoices.insert(invoice.payment_hash, KnownInvoice::from(&invoice));
        }
        for (_, attempts) in store.pending_payments()? {
            for attempt in attempts {
                if attempt.status != crate::store::AttemptStatus::InFlight {
                    continue;
                }
                // An unreadable route still lets the HTLC resolve the payment; only the
                // failure's attribution is lost.
                let route = SentRoute::decode(&attempt.attempt.route).unwrap_or_else(|e| {
                    tracing::warn!("payment attempt {}: {e}", attempt.attempt_id);
                    SentRoute { hops: Vec::new(), shared_secrets: Vec::new() }
                });
                let key = (attempt.attempt.channel_id, attempt.attempt.htlc_id);
                state.sent.insert(
                    key,
                    SentHtlc {
                        attempt_id: attempt.attempt_id,
                        payment_hash: attempt.attempt.payment_hash,
                        route,
                    },
                );
            }
        }
        for forward in store.forwards(None)? {
            let incoming = (forward.forward.in_channel_id, forward.forward.in_htlc_id);
            let outgoing = (forward.forward.out_channel_id, forward.forward.out_htlc_id);
            // An out id whose first HTLC was forgotten unsigned (its forward failed) names
            // the id's next forward.
            if forward.status != ForwardStatus::Failed
                || !state.forwards_out.contains_key(&outgoing)
            {
                state.forwards_out.insert(outgoing, incoming);
            }
            state.forwards.insert(
                incoming,
                ForwardEntry {
                    status: forward.status,
                    preimage: forward.preimage,
                    failure: forward.failure,
                    secret: None,
                },
            );
        }
        Ok(state)
    }

    /// Whether any HTLC of `hash` is still in flight.
    pub fn in_flight(&self, hash: &PaymentHash) -> bool {
        self.sent.values().any(|s| s.payment_hash == *hash)
    }
}
