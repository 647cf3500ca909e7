//! A small HTLC handler: fulfils incoming HTLCs whose preimage it knows, fails the rest,
//! and records everything it is told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shandian_channel::{Htlc, Removal, Update};
use shandian_node::store::StoreError;
use shandian_node::switch::{ChannelOps, HtlcHandler};
use shandian_types::{BlockHeight, ChannelId, Msat, PaymentHash, PaymentPreimage};

/// What the test handler saw.
#[derive(Default)]
pub struct Seen {
    /// Preimages this node knows (it fulfils incoming HTLCs paying them).
    pub preimages: HashMap<PaymentHash, PaymentPreimage>,
    /// Incoming HTLCs handed over, in order (replays included).
    pub incoming: Vec<(ChannelId, u64, Msat)>,
    /// Our HTLCs the peer fulfilled.
    pub fulfilled: Vec<(ChannelId, u64, PaymentPreimage)>,
    /// Our HTLCs the peer failed.
    pub failed: Vec<(ChannelId, u64)>,
    /// Our HTLCs dropped before being signed.
    pub dropped: Vec<(ChannelId, u64)>,
    /// Blocks seen.
    pub blocks: Vec<BlockHeight>,
    /// Fail the batch (as a store error would) when an incoming HTLC arrives.
    pub fail_store: bool,
}

/// Fulfils what it can, fails the rest.
#[derive(Clone, Default)]
pub struct TestHandler(pub Arc<Mutex<Seen>>);

impl HtlcHandler for TestHandler {
    fn htlc_incoming(
        &mut self,
        ops: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc: &Htlc,
        must_fail: bool,
    ) -> Result<(), StoreError> {
        let preimage = {
            let mut seen = self.0.lock().unwrap();
            if seen.fail_store {
                return Err(StoreError::OutOfRange("test: the store failed"));
            }
            seen.incoming.push((*channel_id, htlc.id, htlc.amount_msat));
            seen.preimages.get(&htlc.payment_hash).copied()
        };
        let removal = match preimage {
            Some(p) if !must_fail => Removal::Fulfill(p),
            _ => Removal::Fail(vec![0; 32]),
        };
        // Refused while the peer is away; re-driven after channel_reestablish.
        let _ = ops.settle_htlc(channel_id, htlc.id, removal);
        Ok(())
    }

    fn htlc_fulfilled(
        &mut self,
        _: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        preimage: PaymentPreimage,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().fulfilled.push((*channel_id, htlc_id, preimage));
        Ok(())
    }

    fn htlc_failed(
        &mut self,
        _: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
        _: &Update,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().failed.push((*channel_id, htlc_id));
        Ok(())
    }

    fn htlc_dropped(
        &mut self,
        _: &mut dyn ChannelOps,
        channel_id: &ChannelId,
        htlc_id: u64,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().dropped.push((*channel_id, htlc_id));
        Ok(())
    }

    fn block_connected(
        &mut self,
        _: &mut dyn ChannelOps,
        height: BlockHeight,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().blocks.push(height);
        Ok(())
    }
}

pub fn preimage(n: u8) -> PaymentPreimage {
    PaymentPreimage([n; 32])
}
