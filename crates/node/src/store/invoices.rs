//! Incoming invoices: what we asked to be paid, the preimage that settles it, and whether it
//! was paid (once) or expired.

use super::{
    collect, column, column_array, column_opt_array, column_opt_u64, column_u64, to_sql, Store,
    StoreError, Writer,
};
use core::fmt;
use rusqlite::{params, OptionalExtension, Row};
use shandian_types::{ChannelId, Msat, PaymentHash, PaymentPreimage, PaymentSecret};

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Waiting for payment.
    Unpaid,
    /// Paid: final.
    Paid,
    /// Expired unpaid: final.
    Expired,
}

/// An invoice to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    /// The preimage whose hash the invoice carries.
    pub preimage: PaymentPreimage,
    /// The invoice's payment secret (BOLT 11 `s`).
    pub payment_secret: PaymentSecret,
    /// The encoded BOLT 11 invoice.
    pub bolt11: String,
    /// The amount asked for, if any.
    pub amount: Option<Msat>,
    /// The description.
    pub description: String,
    /// Seconds after `created_at` when it expires.
    pub expiry_secs: u64,
    /// Unix seconds.
    pub created_at: u64,
}

/// A stored invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// The payment hash (of `invoice.preimage`).
    pub payment_hash: PaymentHash,
    /// What was stored.
    pub invoice: NewInvoice,
    /// Where it stands.
    pub status: InvoiceStatus,
    /// When it was paid (unix seconds).
    pub paid_at: Option<u64>,
    /// What was received (may exceed the amount asked).
    pub received: Option<Msat>,
    /// The HTLC that paid it (channel and id), once paid and recorded (not for invoices paid
    /// before schema v5).
    pub paid_by: Option<(ChannelId, u64)>,
}

/// How [`Writer::mark_invoice_paid`] went when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoicePaid {
    /// This call marked it paid.
    Recorded,
    /// It was already paid (a replay after restart).
    AlreadyPaid,
}

const INVOICES: &str = "invoices";

impl Writer<'_> {
    /// Stores a new invoice; returns its payment hash.
    pub fn add_invoice(&self, invoice: &NewInvoice) -> Result<PaymentHash, StoreError> {
        let hash = invoice.preimage.hash();
        let inserted = self.tx.execute(
            "INSERT INTO invoices (payment_hash, preimage, payment_secret, bolt11, amount_msat,
             description, expiry_secs, created_at, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'unpaid') ON CONFLICT DO NOTHING",
            params![
                &hash.0[..],
                &invoice.preimage.0[..],
                &invoice.payment_secret.0[..],
                invoice.bolt11,
                invoice.amount.map(|a| to_sql(a.0, "amount")).transpose()?,
                invoice.description,
                to_sql(invoice.expiry_secs, "expiry")?,
                to_sql(invoice.created_at, "timestamp")?,
            ],
        )?;
        match inserted {
            0 => Err(StoreError::InvoiceExists(hash)),
            _ => Ok(hash),
        }
    }

    /// Marks the invoice paid with `received` at `at`, once. An expired invoice is refused
    /// ([`StoreError::InvoiceNotPayable`]); the caller checks amount, secret and expiry first.
    pub fn mark_invoice_paid(
        &self,
        hash: &PaymentHash,
        received: Msat,
        at: u64,
    ) -> Result<InvoicePaid, StoreError> {
        self.mark_invoice_paid_by(hash, received, at, None)
    }

    /// [`Writer::mark_invoice_paid`], remembering the HTLC `(channel, id)` that paid, so that
    /// after a restart exactly that HTLC, handed over again, is recognised as the payment.
    pub fn mark_invoice_paid_by(
        &self,
        hash: &PaymentHash,
        received: Msat,
        at: u64,
        htlc: Option<(ChannelId, u64)>,
    ) -> Result<InvoicePaid, StoreError> {
        let status: Option<String> = self
            .tx
            .query_row("SELECT status FROM invoices WHERE payment_hash = ?1", [&hash.0[..]], |r| {
                r.get(0)
            })
            .optional()?;
        let status = status.ok_or(StoreError::UnknownInvoice(*hash))?;
        match InvoiceStatus::parse(&status)? {
            InvoiceStatus::Paid => Ok(InvoicePaid::AlreadyPaid),
            InvoiceStatus::Expired => {
                Err(StoreError::InvoiceNotPayable { hash: *hash, status: InvoiceStatus::Expired })
            }
            InvoiceStatus::Unpaid => {
                let htlc_id = htlc.map(|(_, id)| to_sql(id, "htlc_id")).transpose()?;
                self.tx.execute(
                    "UPDATE invoices SET status = 'paid', paid_at = ?2, received_msat = ?3,
                     paid_channel_id = ?4, paid_htlc_id = ?5 WHERE payment_hash = ?1",
                    params![
                        &hash.0[..],
                        to_sql(at, "timestamp")?,
                        to_sql(received.0, "amount")?,
                        htlc.map(|(channel, _)| channel.0.to_vec()),
                        htlc_id,
                    ],
                )?;
                Ok(InvoicePaid::Recorded)
            }
        }
    }

    /// See [`Store::invoice`]; inside the batch, so it sees the batch's own writes.
    pub fn invoice(&self, hash: &PaymentHash) -> Result<Option<Invoice>, StoreError> {
        select_invoice(&self.tx, hash)
    }

    /// Marks every unpaid invoice whose expiry has passed at `now` as expired; returns how many.
    pub fn expire_invoices(&self, now: u64) -> Result<usize, StoreError> {
        Ok(self.tx.execute(
            "UPDATE invoices SET status = 'expired'
             WHERE status = 'unpaid' AND created_at + expiry_secs <= ?1",
            [to_sql(now, "timestamp")?],
        )?)
    }
}

impl Store {
    /// See [`Writer::add_invoice`].
    pub fn add_invoice(&mut self, invoice: &NewInvoice) -> Result<PaymentHash, StoreError> {
        self.write(|w| w.add_invoice(invoice))
    }

    /// See [`Writer::mark_invoice_paid`].
    pub fn mark_invoice_paid(
        &mut self,
        hash: &PaymentHash,
        received: Msat,
        at: u64,
    ) -> Result<InvoicePaid, StoreError> {
        self.write(|w| w.mark_invoice_paid(hash, received, at))
    }

    /// See [`Writer::expire_invoices`].
    pub fn expire_invoices(&mut self, now: u64) -> Result<usize, StoreError> {
        self.write(|w| w.expire_invoices(now))
    }

    /// The invoice for `hash`: what the node looks up when an HTLC arrives for it.
    pub fn invoice(&self, hash: &PaymentHash) -> Result<Option<Invoice>, StoreError> {
        select_invoice(&self.conn, hash)
    }

    /// Every invoice still waiting for payment, oldest first.
    pub fn unpaid_invoices(&self) -> Result<Vec<Invoice>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_INVOICE} WHERE status = 'unpaid' ORDER BY created_at, payment_hash"
        ))?;
        collect(&mut stmt, [], decode_invoice)
    }

    /// Every invoice, oldest first.
    pub fn invoices(&self) -> Result<Vec<Invoice>, StoreError> {
        let mut stmt =
            self.conn.prepare(&format!("{SELECT_INVOICE} ORDER BY created_at, payment_hash"))?;
        collect(&mut stmt, [], decode_invoice)
    }
}

fn select_invoice(
    conn: &rusqlite::Connection,
    hash: &PaymentHash,
) -> Result<Option<Invoice>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_INVOICE} WHERE payment_hash = ?1"))?;
    Ok(collect(&mut stmt, [&hash.0[..]], decode_invoice)?.pop())
}

const SELECT_INVOICE: &str = "SELECT payment_hash, preimage, payment_secret, bolt11, amount_msat, \
     description, expiry_secs, created_at, status, paid_at, received_msat, paid_channel_id, \
     paid_htlc_id FROM invoices";

fn decode_invoice(row: &Row<'_>) -> Result<Invoice, StoreError> {
    let payment_hash = PaymentHash(column_array(row, 0, INVOICES, "payment_hash")?);
    let preimage = PaymentPreimage(column_array(row, 1, INVOICES, "preimage")?);
    if preimage.hash() != payment_hash {
        return Err(StoreError::Corrupt { table: INVOICES, column: "preimage" });
    }
    let status: String = column(row, 8, INVOICES, "status")?;
    Ok(Invoice {
        payment_hash,
        invoice: NewInvoice {
            preimage,
            payment_secret: PaymentSecret(column_array(row, 2, INVOICES, "payment_secret")?),
            bolt11: column(row, 3, INVOICES, "bolt11")?,
            amount: column_opt_u64(row, 4, INVOICES, "amount_msat")?.map(Msat),
            description: column(row, 5, INVOICES, "description")?,
            expiry_secs: column_u64(row, 6, INVOICES, "expiry_secs")?,
            created_at: column_u64(row, 7, INVOICES, "created_at")?,
        },
        status: InvoiceStatus::parse(&status)?,
        paid_at: column_opt_u64(row, 9, INVOICES, "paid_at")?,
        received: column_opt_u64(row, 10, INVOICES, "received_msat")?.map(Msat),
        paid_by: column_opt_array(row, 11, INVOICES, "paid_channel_id")?
            .map(ChannelId)
            .zip(column_opt_u64(row, 12, INVOICES, "paid_htlc_id")?),
    })
}

impl InvoiceStatus {
    /// The name stored and shown (`unpaid`, `paid`, `expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Unpaid => "unpaid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Result<InvoiceStatus, StoreError> {
        match s {
            "unpaid" => Ok(InvoiceStatus::Unpaid),
            "paid" => Ok(InvoiceStatus::Paid),
            "expired" => Ok(InvoiceStatus::Expired),
            _ => Err(StoreError::Corrupt { table: INVOICES, column: "status" }),
        }
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
