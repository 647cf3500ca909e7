//! The limits each side imposes on the other, as negotiated in `open_channel` and
//! `accept_channel`, and the checks BOLT 2 attaches to them for every update.

use crate::error::Error;
use crate::fees::{figures, spike_buffer_feerate, CommitmentFigures, FeeModel};
use crate::spec::{CommitmentSpec, Htlc, SpecHtlc};
use bitcoin::Amount;
use shandian_types::{FeeratePerKw, Msat};

/// BOLT 2: `max_accepted_htlcs` may not exceed 483 (the commitment must stay standard).
pub const MAX_ACCEPTED_HTLCS_LIMIT: u16 = 483;
/// BOLT 2: `cltv_expiry` must be below this (it is a block height, not a timestamp).
pub const CLTV_EXPIRY_LIMIT: u32 = 500_000_000;
/// BOLT 4: the BADONION bit every `update_fail_malformed_htlc` failure code carries.
pub const BADONION: u16 = 0x8000;

/// What one side declared in its `open_channel` / `accept_channel`: the constraints it imposes
/// on the *other* side (except `dust_limit`, which governs its own commitment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraints {
    /// `dust_limit_satoshis`: outputs below it are left off the declarer's commitment.
    pub dust_limit: Amount,
    /// `max_htlc_value_in_flight_msat`: the most the other side may have offered at once.
    pub max_htlc_value_in_flight: Msat,
    /// `channel_reserve_satoshis`: what the other side must keep on its side.
    pub channel_reserve: Amount,
    /// `htlc_minimum_msat`: the smallest HTLC the declarer accepts.
    pub htlc_minimum: Msat,
    /// `to_self_delay`: the CSV delay on the other side's `to_local` outputs.
    pub to_self_delay: u16,
    /// `max_accepted_htlcs`: how many HTLCs the declarer accepts at once.
    pub max_accepted_htlcs: u16,
}

/// Everything the update checks need to know about a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelLimits {
    /// What we declared: limits on the counterparty's offers, and our commitment's dust limit.
    pub holder: Constraints,
    /// What the counterparty declared: limits on our offers, and its commitment's dust limit.
    pub counterparty: Constraints,
    /// Whether we opened the channel and pay the commitment fee.
    pub holder_is_funder: bool,
    /// The fee formulas of the channel type.
    pub fee_model: FeeModel,
    /// Our policy: the most trimmed-HTLC value we risk per commitment.
    pub max_dust_exposure: Msat,
    /// Our policy: feerates the counterparty may set with `update_fee`.
    pub feerate_range: (FeeratePerKw, FeeratePerKw),
}

/// Which side of the channel an HTLC offer or a balance belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Us.
    Holder,
    /// The peer.
    Counterparty,
}

fn msat(amount: Amount) -> Msat {
    Msat(amount.to_sat().saturating_mul(1000))
}

impl ChannelLimits {
    /// The figures of both commitments that could carry `spec`: ours (our dust limit) and the
    /// counterparty's (its dust limit), at `feerate`.
    fn both_figures<H: SpecHtlc>(
        &self,
        spec: &CommitmentSpec<H>,
        feerate: FeeratePerKw,
    ) -> [CommitmentFigures; 2] {
        [
            figures(self.fee_model, spec, true, self.holder.dust_limit, feerate),
            figures(self.fee_model, spec, false, self.counterparty.dust_limit, feerate),
        ]
    }

    /// The funder's worst-case cost over both commitments at `feerate`, with `extra` more
    /// untrimmed HTLCs (the fee spike buffer adds one).
    fn funder_cost<H: SpecHtlc>(
        &self,
        spec: &CommitmentSpec<H>,
        feerate: FeeratePerKw,
        extra: usize,
    ) -> Msat {
        let worst = self
            .both_figures(spec, feerate)
            .iter()
            .map(|f| self.fee_model.funder_cost(feerate, f.untrimmed_htlcs.saturating_add(extra)))
            .max()
            .unwrap_or(Amount::ZERO);
        msat(worst)
    }

    /// The balance `side` must keep: the reserve the other side imposed, plus, for the funder,
    /// the fees.
    fn required_balance<H: SpecHtlc>(
        &self,
        side: Side,
        spec: &CommitmentSpec<H>,
        feerate: FeeratePerKw,
        extra: usize,
    ) -> Msat {
        let (reserve, funder) = match side {
            Side::Holder => (self.counterparty.channel_reserve, self.holder_is_funder),
            Side::Counterparty => (self.holder.channel_reserve, !self.holder_is_funder),
        };
        let fees = if funder { self.funder_cost(spec, feerate, extra) } else { Msat::ZERO };
        Msat(msat(reserve).0.saturating_add(fees.0))
    }

    fn balance<H>(side: Side, spec: &CommitmentSpec<H>) -> Msat {
        match side {
            Side::Holder => spec.to_holder,
            Side::Counterparty => spec.to_counterparty,
        }
    }

    /// BOLT 2 `update_add_htlc` checks on `htlc`, offered by `offerer`, given the `spec` that
    /// results from adding it. Returns whether the HTLC is within the dust exposure limit;
    /// callers refuse our own over-limit HTLCs and fail received ones once committed.
    pub fn check_add<H: SpecHtlc>(
        &self,
        offerer: Side,
        htlc: &Htlc,
        spec: &CommitmentSpec<H>,
    ) -> Result<bool, Error> {
        let receiver = match offerer {
            Side::Holder => &self.counterparty,
            Side::Counterparty => &self.holder,
        };
        // BOLT 2: MUST offer amount_msat greater than 0 and not below htlc_minimum_msat.
        if htlc.amount_msat == Msat::ZERO || htlc.amount_msat < receiver.htlc_minimum {
            return Err(Error::HtlcBelowMinimum(htlc.amount_msat));
        }
        // BOLT 2: MUST set cltv_expiry less than 500000000.
        if htlc.cltv_expiry.0 >= CLTV_EXPIRY_LIMIT {
            return Err(Error::CltvExpiryNotHeight);
        }
        let (count, in_flight) = match offerer {
            Side::Holder => (spec.offered.len(), spec.offered_total()),
            Side::Counterparty => (spec.received.len(), spec.received_total()),
        };
        // BOLT 2: receiving more than max_accepted_htlcs / max_htlc_value_in_flight: fail.
        if count > usize::from(receiver.max_accepted_htlcs) {
            return Err(Error::TooManyHtlcs(receiver.max_accepted_htlcs));
        }
        if in_flight > receiver.max_htlc_value_in_flight {
            return Err(Error::InFlightExceeded(receiver.max_htlc_value_in_flight));
        }
        // BOLT 2: the sender must afford the HTLC while keeping its reserve (and, if funder,
        // the fees and anchors).
        if Self::balance(offerer, spec) < self.required_balance(offerer, spec, spec.feerate, 0) {
            return Err(Error::ReserveBreached);
        }
        if offerer == Side::Holder {
            self.check_own_offer_headroom(spec)?;
        }
        Ok(self.within_dust_exposure(spec, spec.feerate))
    }

    /// Extra care for our own offers: the fee spike buffer when we pay the fee, and not
    /// leaving the funder unable to pay when it is the peer.
    fn check_own_offer_headroom<H: SpecHtlc>(&self, spec: &CommitmentSpec<H>) -> Result<(), Error> {
        if self.holder_is_funder {
            // BOLT 2: SHOULD keep a "fee spike buffer" of twice the feerate plus one HTLC.
            let spiked = spike_buffer_feerate(spec.feerate);
            if spec.to_holder < self.required_balance(Side::Holder, spec, spiked, 1) {
                return Err(Error::FeeSpikeBuffer);
            }
        } else if spec.to_counterparty
            < self.required_balance(Side::Counterparty, spec, spec.feerate, 0)
        {
            // BOLT 2: SHOULD NOT offer if the funder then cannot pay the fee.
            return Err(Error::ReserveBreached);
        }
        Ok(())
    }

    /// Whether both commitments' trimmed HTLCs stay within `max_dust_htlc_exposure_msat`.
    pub fn within_dust_exposure<H: SpecHtlc>(
        &self,
        spec: &CommitmentSpec<H>,
        feerate: FeeratePerKw,
    ) -> bool {
        self.both_figures(spec, feerate).iter().all(|f| f.dust_exposure <= self.max_dust_exposure)
    }

    /// The dust exposure of the worse of the two commitments.
    pub fn dust_exposure<H: SpecHtlc>(&self, spec: &CommitmentSpec<H>) -> Msat {
        let [a, b] = self.both_figures(spec, spec.feerate);
        a.dust_exposure.max(b.dust_exposure)
    }

    /// BOLT 2 `update_fee` checks: the funder sent it, the rate is sane (for received ones)
    /// and the funder can afford it while keeping its reserve.
    pub fn check_fee<H: SpecHtlc>(
        &self,
        sender: Side,
        spec: &CommitmentSpec<H>,
    ) -> Result<(), Error> {
        let funder = if self.holder_is_funder { Side::Holder } else { Side::Counterparty };
        // BOLT 2: the node not responsible for paying the fee MUST NOT send update_fee.
        if sender != funder {
            return Err(Error::UpdateFeeFromNonFunder);
        }
        let (min, max) = self.feerate_range;
        if sender == Side::Counterparty && (spec.feerate < min || spec.feerate > max) {
            return Err(Error::FeerateOutOfRange(spec.feerate));
        }
        if Self::balance(funder, spec) < self.required_balance(funder, spec, spec.feerate, 0) {
            return Err(Error::ReserveBreached);
        }
        // BOLT 2: without anchors a higher feerate trims more HTLCs; cap the dust exposure.
        if !self.fee_model.anchors && !self.within_dust_exposure(spec, spec.feerate) {
            return Err(Error::DustExposureExceeded(self.dust_exposure(spec)));
        }
        Ok(())
    }
}
