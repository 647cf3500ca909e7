//! Payments: our invoices, our own payments, and forwarding other people's, on top of the
//! channel manager's batches (see [`crate::switch`]).
//!
//! - **Invoices** ([`PaymentsHandle::create_invoice`]): a fresh preimage and payment secret
//!   from the OS, BOLT 11 signed with the node key, route hints for our channels (none is
//!   announced yet) with the policy each peer advertised for its side.
//! - **Paying** ([`PaymentsHandle::pay`]): the direct channel to the payee, else each route hint
//!   whose first node is our peer; amounts and expiries computed backwards from the payee; the
//!   onion built with a fresh session key; on failure the returned packet is decoded with the
//!   attempt's shared secrets, the failing hop or channel is excluded, and the next route is
//!   tried in the same batch — until success, no route left, or the caller's timeout (a
//!   payment with an HTLC in flight stays pending until it resolves).
//! - **Receiving** and **forwarding**: the [`HtlcHandler`] peels each committed incoming HTLC
//!   and either settles it against our invoice (BOLT 4 final-node rules) or forwards it
//!   (fee, CLTV delta and expiry margin checked; upstream fulfilled as soon as the preimage
//!   arrives, failures passed back obfuscated, ours attributable).
//!
//! Every record (payment, attempt, invoice, forward) is written in the batch that carries the
//! HTLC change, so after a crash the store and the channels agree; API callers are answered
//! after the batch commits.
//!
//! Wiring (the daemon): `Payments::new(config, data_dir, node_secret)` gives the handler to
//! pass to the channel manager; once the manager runs, [`Payments::start`] with the manager's
//! handle (a [`BatchRunner`]) gives the [`PaymentsHandle`] for the API.

mod attempt;
#[cfg(test)]
mod flow_tests;
pub mod forward;
mod handler;
mod invoice;
mod manager_runner;
mod outgoing;
pub mod receive;
mod route;
mod state;

pub use attempt::{RouteBlobError, SentRoute};
pub use invoice::{route_hints, IssuedInvoice, MAX_ROUTE_HINTS};
pub use route::{
    candidates as route_candidates, compute as compute_route, Candidate, Exclusions, HintHop,
    Route, RouteError, RouteHop, FINAL_CLTV_BUFFER, MAX_TOTAL_CLTV,
};

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bitcoin::secp256k1::SecretKey;
use bitcoin::Network;
use shandian_channel::FULFILLMENT_SAFETY_MARGIN;
use shandian_invoice::{strip_lightning_uri, Invoice};
use shandian_onion::FailureCode;
use shandian_types::{CltvExpiryDelta, Msat, NodeId, PaymentHash, PaymentPreimage};
use tokio::sync::oneshot;

use crate::store::{Forward, Payment, Store, StoreError};
use crate::switch::{ChannelOps, HtlcHandler};
use state::{Outgoing, PayRequest, PaymentsState};

/// How the payment logic behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsConfig {
    /// The chain our invoices are for and the invoices we pay must be for.
    pub network: Network,
    /// What our invoices ask for as `min_final_cltv_expiry_delta`, and the least we accept
    /// on a final HTLC.
    pub min_final_cltv_expiry_delta: CltvExpiryDelta,
    /// Blocks an incoming HTLC must have left before expiry for us to forward it.
    pub forward_expiry_margin: u32,
    /// Invoice expiry when none is given.
    pub default_invoice_expiry_secs: u64,
}

impl PaymentsConfig {
    /// Defaults for `network`: a 40-block final delta, twice the fulfilment safety margin
    /// (2 × 18 blocks) as the forwarding margin, one-hour invoices.
    pub fn new(network: Network) -> PaymentsConfig {
        PaymentsConfig {
            network,
            min_final_cltv_expiry_delta: CltvExpiryDelta(40),
            forward_expiry_margin: 2 * FULFILLMENT_SAFETY_MARGIN,
            default_invoice_expiry_secs: 3600,
        }
    }
}

/// A payment that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaySuccess {
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// The proof of payment.
    pub preimage: PaymentPreimage,
    /// What the payee received.
    pub amount: Msat,
    /// The routing fees paid.
    pub fee: Msat,
    /// How many HTLCs were sent.
    pub attempts: u32,
    /// The nodes the successful HTLC went through, the payee last.
    pub route: Vec<NodeId>,
}

/// Why an invoice or a payment failed. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// The invoice does not decode or verify.
    #[error("invalid invoice: {0}")]
    InvalidInvoice(shandian_invoice::Error),
    /// The invoice is for another chain.
    #[error("wrong network: the invoice is for {invoice}, this node runs on {node}")]
    WrongNetwork {
        /// The invoice's network.
        invoice: &'static str,
        /// Ours.
        node: Network,
    },
    /// The invoice expired.
    #[error("invoice expired at {0} (unix time)")]
    Expired(u64),
    /// A payment to this hash succeeded already.
    #[error("invoice already paid")]
    AlreadyPaid,
    /// A payment to this hash is in flight.
    #[error("a payment to this invoice is already in flight")]
    InProgress,
    /// The invoice names no amount and none was given.
    #[error("amount required: the invoice has no amount, give amount_msat")]
    AmountRequired,
    /// The amount given differs from the invoice's.
    #[error("amount mismatch: the invoice asks for {invoice} msat, {given} msat given")]
    AmountMismatch {
        /// The invoice's.
        invoice: u64,
        /// Given.
        given: u64,
    },
    /// Zero is not a payment.
    #[error("amount must be positive")]
    ZeroAmount,
    /// The invoice is our own.
    #[error("cannot pay our own invoice")]
    OwnInvoice,
    /// No route (left) to the payee.
    #[error("{0}")]
    NoRoute(String),
    /// The payment failed for good.
    #[error("{0}")]
    Failed(String),
    /// The caller's timeout passed with an HTLC still out; the payment stays pending until it
    /// resolves (see listpayments).
    #[error(
        "timed out, still in flight (the payment resolves when its HTLC does; see listpayments)"
    )]
    TimedOut,
    /// Our network has no BOLT 11 currency.
    #[error("this node's network has no invoice currency")]
    UnsupportedNetwork,
    /// The invoice could not be built (description too long, ...).
    #[error("cannot build the invoice: {0}")]
    InvoiceBuild(shandian_invoice::Error),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The channel manager is not running.
    #[error("the channel manager is not running")]
    ManagerStopped,
}

/// One batch of work for the channel manager. An error fails the whole batch (nothing of it
/// commits) and stops the manager: the payment records could not land with the HTLCs.
pub type Batch = Box<dyn FnOnce(&mut dyn ChannelOps) -> Result<(), StoreError> + Send>;

/// Runs work inside the channel manager's batches: what [`PaymentsHandle`] needs from it.
pub trait BatchRunner: Send + Sync + 'static {
    /// Runs `batch` inside the next batch; completes once that batch has committed, or fails
    /// if the manager is gone (or `batch` failed, which stops it).
    fn run(&self, batch: Batch) -> Pin<Box<dyn Future<Output = Result<(), PayError>> + Send + '_>>;
}

/// The payment logic before the manager runs: gives the manager its handler.
pub struct Payments {
    state: Arc<Mutex<PaymentsState>>,
    reader: Arc<Mutex<Store>>,
    /// Pending payments with no HTLC in flight at start: they can only fail.
    stale: Vec<PaymentHash>,
}

impl Payments {
    /// Loads invoices, payments in flight and forwards from the store in `data_dir`, and
    /// returns the handler to give the channel manager.
    pub fn new(
        config: PaymentsConfig,
        data_dir: &Path,
        node_secret: SecretKey,
    ) -> Result<(Payments, Box<dyn HtlcHandler>), PayError> {
        let store = Store::open(data_dir)?;
        let state = PaymentsState::load(&store, node_secret, config)?;
        let stale = store
            .pending_payments()?
            .into_iter()
            .filter(|(p, _)| !state.in_flight(&p.payment_hash))
            .map(|(p, _)| p.payment_hash)
            .collect();
        let state = Arc::new(Mutex::new(state));
        let handler = Box::new(handler::Handler { state: state.clone() });
        let payments = Payments { state, reader: Arc::new(Mutex::new(store)), stale };
        Ok((payments, handler))
    }

    /// Once the manager runs: fails the payments a crash left with nothing in flight, and
    /// returns the handle for the API.
    pub async fn start(self, runner: impl BatchRunner) -> Result<PaymentsHandle, PayError> {
        let (node_id, network) = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            (state.node_id, state.config.network)
        };
        let handle = PaymentsHandle {
            state: self.state,
            runner: Arc::new(runner),
            reader: self.reader,
            node_id,
            network,
        };
        let stale = self.stale;
        if !stale.is_empty() {
            handle
                .execute_durable(move |state, ops| {
                    for hash in stale.iter().filter(|h| !state.in_flight(h)) {
                        ops.store().fail_payment(
                            hash,
                            "interrupted before an HTLC was sent",
                            ops.now(),
                        )?;
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(handle)
    }
}

/// What API callers use: invoices, payments and the lists.
#[derive(Clone)]
pub struct PaymentsHandle {
    state: Arc<Mutex<PaymentsState>>,
    runner: Arc<dyn BatchRunner>,
    reader: Arc<Mutex<Store>>,
    node_id: NodeId,
    network: Network,
}

impl PaymentsHandle {
    /// Runs `f` with our state inside a batch; returns its result once the batch committed.
    async fn execute<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PaymentsState, &mut dyn ChannelOps) -> R + Send + 'static,
    ) -> Result<R, PayError> {
        self.execute_durable(move |state, ops| Ok(f(state, ops))).await
    }

    /// Like [`PaymentsHandle::execute`], but a store error from `f` fails the batch (see
    /// [`Batch`]): for work whose records must land with the channel changes it made.
    async fn execute_durable<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PaymentsState, &mut dyn ChannelOps) -> Result<R, StoreError>
            + Send
            + 'static,
    ) -> Result<R, PayError> {
        let (tx, rx) = oneshot::channel();
        let state = self.state.clone();
        let batch: Batch = Box::new(move |ops| {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = tx.send(f(&mut state, ops)?);
            Ok(())
        });
        self.runner.run(batch).await?;
        rx.await.map_err(|_| PayError::ManagerStopped)
    }

    /// Our node id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Creates and stores an invoice (default expiry when `expiry_secs` is `None`).
    pub async fn create_invoice(
        &self,
        amount: Option<Msat>,
        description: String,
        expiry_secs: Option<u64>,
    ) -> Result<IssuedInvoice, PayError> {
        if amount == Some(Msat::ZERO) {
            return Err(PayError::ZeroAmount);
        }
        self.execute(move |state, ops| {
            let expiry = expiry_secs.unwrap_or(state.config.default_invoice_expiry_secs);
            invoice::create(state, ops, amount, description, expiry)
        })
        .await?
    }

    /// Pays `bolt11` (`amount` for invoices without one), waiting at most `timeout`.
    pub async fn pay(
        &self,
        bolt11: &str,
        amount: Option<Msat>,
        timeout: Duration,
    ) -> Result<PaySuccess, PayError> {
        let text = strip_lightning_uri(bolt11.trim()).to_owned();
        let secp = bitcoin::secp256k1::Secp256k1::verification_only();
        let invoice = Invoice::decode(&secp, &text).map_err(PayError::InvalidInvoice)?;
        let request = self.request(&invoice, amount)?;
        let hash = invoice.payment_hash();
        let expires_at = invoice.expiry_time();
        let timeout_secs = timeout.as_secs().max(1);
        let (tx, rx) = oneshot::channel();
        // A store error once an HTLC may be offered fails the batch: an HTLC never leaves
        // without its attempt recorded.
        self.execute_durable(move |state, ops| {
            let now = ops.now();
            // BOLT 11: a payer SHOULD NOT pay an expired invoice.
            if invoice.is_expired(now) {
                return Ok(Err(PayError::Expired(expires_at)));
            }
            let outgoing = Outgoing {
                request,
                exclusions: Exclusions::default(),
                attempts: 0,
                deadline: now.saturating_add(timeout_secs),
                last_failure: None,
                waiter: Some(tx),
            };
            outgoing::start(state, ops, hash, text, outgoing)
        })
        .await??;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(PayError::ManagerStopped),
            Err(_) => Err(PayError::TimedOut),
        }
    }

    /// Checks an invoice before paying it: network, amount, payee.
    fn request(&self, invoice: &Invoice, amount: Option<Msat>) -> Result<PayRequest, PayError> {
        let (network, our_id) = (self.network, self.node_id);
        if invoice.currency().network() != network {
            let invoice = invoice.currency().network_name();
            return Err(PayError::WrongNetwork { invoice, node: network });
        }
        let amount = match (invoice.amount_msat(), amount) {
            (None, None) => return Err(PayError::AmountRequired),
            (Some(asked), Some(given)) if asked != given => {
                return Err(PayError::AmountMismatch { invoice: asked.0, given: given.0 })
            }
            (Some(asked), _) => asked,
            (None, Some(given)) => given,
        };
        if amount == Msat::ZERO {
            return Err(PayError::ZeroAmount);
        }
        if invoice.payee() == our_id {
            return Err(PayError::OwnInvoice);
        }
        Ok(PayRequest {
            payee: invoice.payee(),
            amount,
            payment_secret: invoice.payment_secret(),
            metadata: invoice.payment_metadata().map(<[u8]>::to_vec),
            min_final_cltv_expiry_delta: invoice.min_final_cltv_expiry_delta(),
            hints: invoice.route_hints().map(|h| h.iter().map(HintHop::from).collect()).collect(),
        })
    }

    /// Reads the store on a blocking thread.
    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, PayError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let store = reader.lock().unwrap_or_else(PoisonError::into_inner);
            f(&store).map_err(PayError::Store)
        })
        .await
        .map_err(|_| PayError::ManagerStopped)?
    }

    /// Every payment, oldest first.
    pub async fn list_payments(&self) -> Result<Vec<Payment>, PayError> {
        self.read(Store::payments).await
    }

    /// Every invoice, oldest first.
    pub async fn list_invoices(&self) -> Result<Vec<crate::store::Invoice>, PayError> {
        self.read(Store::invoices).await
    }

    /// Every forward, oldest first.
    pub async fn list_forwards(&self) -> Result<Vec<Forward>, PayError> {
        self.read(|store| store.forwards(None)).await
    }
}

/// The BOLT 4 name of a failure code.
pub fn failure_name(code: FailureCode) -> &'static str {
    match code {
        FailureCode::TEMPORARY_NODE_FAILURE => "temporary_node_failure",
        FailureCode::PERMANENT_NODE_FAILURE => "permanent_node_failure",
        FailureCode::REQUIRED_NODE_FEATURE_MISSING => "required_node_feature_missing",
        FailureCode::INVALID_ONION_VERSION => "invalid_onion_version",
        FailureCode::INVALID_ONION_HMAC => "invalid_onion_hmac",
        FailureCode::INVALID_ONION_KEY => "invalid_onion_key",
        FailureCode::TEMPORARY_CHANNEL_FAILURE => "temporary_channel_failure",
        FailureCode::PERMANENT_CHANNEL_FAILURE => "permanent_channel_failure",
        FailureCode::REQUIRED_CHANNEL_FEATURE_MISSING => "required_channel_feature_missing",
        FailureCode::UNKNOWN_NEXT_PEER => "unknown_next_peer",
        FailureCode::AMOUNT_BELOW_MINIMUM => "amount_below_minimum",
        FailureCode::FEE_INSUFFICIENT => "fee_insufficient",
        FailureCode::INCORRECT_CLTV_EXPIRY => "incorrect_cltv_expiry",
        FailureCode::EXPIRY_TOO_SOON => "expiry_too_soon",
        FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS => "incorrect_or_unknown_payment_details",
        FailureCode::FINAL_INCORRECT_CLTV_EXPIRY => "final_incorrect_cltv_expiry",
        FailureCode::FINAL_INCORRECT_HTLC_AMOUNT => "final_incorrect_htlc_amount",
        FailureCode::CHANNEL_DISABLED => "channel_disabled",
        FailureCode::EXPIRY_TOO_FAR => "expiry_too_far",
        FailureCode::INVALID_ONION_PAYLOAD => "invalid_onion_payload",
        FailureCode::MPP_TIMEOUT => "mpp_timeout",
        FailureCode::INVALID_ONION_BLINDING => "invalid_onion_blinding",
        _ => "unknown",
    }
}
