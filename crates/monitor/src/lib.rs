//! On-chain enforcement for Shandian channels (BOLT 5), sans-IO.
//!
//! When a channel's funding output is spent, [`ChannelMonitor::resolve`] looks at the
//! spending transaction and the channel's last funded state (its `ChannelRecord` decoded
//! with the re-derived signer) and says what happened ([`Close`]) and which transactions take
//! our money back ([`Claim`]s, signed, each with the first block height that can include it):
//!
//! | spend | claims |
//! |---|---|
//! | a cooperative close | none: the closing transaction already paid us |
//! | our latest commitment | `to_local` after `to_self_delay` (CSV); our offered HTLCs by the signed HTLC-timeout transactions after their expiry, HTLCs we know the preimage of by HTLC-success ([`ChannelMonitor::claim_second_stage`] then sweeps their outputs after the delay) |
//! | the counterparty's current or next commitment | our `to_remote` (`option_static_remotekey` P2WPKH, or the anchors CSV-1 script); our offered HTLCs spent directly after their expiry, HTLCs it offered us that we know the preimage of spent with it |
//! | a revoked counterparty commitment | justice: `to_local` and every HTLC output we can recognise, with the revocation key, and our `to_remote`; if the counterparty gets an HTLC transaction in first, its output ([`ChannelMonitor::claim_revoked_second_stage`]) |
//! | a commitment of a state we do not know (we lost data) | our `to_remote`, found by its script |
//!
//! One claim spends one output, so a claim the counterparty races (an HTLC it takes by
//! preimage) never blocks the others. Fees come from the caller's feerate and the expected
//! weights of `shandian-tx`; outputs worth less than their own sweep are left (reported in
//! [`Resolution::unclaimed`]).
//!
//! When the close leaves HTLCs we offered in flight, [`ChannelMonitor::offered_on_chain`]
//! says which failed with it (no output on the confirmed commitment) and
//! [`ChannelMonitor::preimages_in`] takes the preimages the counterparty reveals when it
//! claims the others, so the node can settle the payments and forwards behind them;
//! [`ChannelMonitor::offered_outputs_on_holder`] and
//! [`ChannelMonitor::offered_outputs_on_counterparty`] say which HTLC a confirmed timeout
//! claim took back (it failed).
//!
//! A preimage learned after the close (the node settles a received HTLC only once it knows
//! it: a forward fulfilled downstream late) goes to [`ChannelMonitor::add_preimage`]; the
//! next [`ChannelMonitor::resolve`] claims that HTLC with it.
//! [`ChannelMonitor::received_awaiting_preimage`] says which received HTLCs are still worth
//! a late preimage (on chain, not expired).
//!
//! Nothing here does IO: heights and transactions in, transactions out. The node's monitor
//! runner watches the chain, stores what it learns and broadcasts each claim when its height
//! comes.

mod claims;
mod classify;
mod counterparty_htlcs;
mod error;
mod htlcs;
mod preimages;

pub use claims::{ChannelMonitor, Claim, ClaimKind, Resolution, SweepPolicy};
pub use classify::Close;
pub use error::Error;
pub use htlcs::OfferedOnChain;
