//! Reorganisations on demand.
//!
//! libbitcoinkernel 0.3 has no `invalidateblock`. Blocks of our chain are only ever built on
//! our tip, so invalidating block B at height h means: the active chain becomes blocks
//! 0..h-1. We read the blocks h..tip back, replay 1..h-1 into a fresh chainstate (Core
//! re-validates them; see [`crate::kernel::Kernel::rebuild`]), disconnect h..tip from our view
//! and return their transactions to the mempool. Mining then extends the shorter chain; the
//! invalidated blocks are forgotten (Core would keep them as known-invalid, so `getblock` on
//! them answers "Block not found" here). The cost is linear in the chain length.

use bitcoin::BlockHash;

use crate::chain::State;
use crate::error::Error;

pub(crate) fn invalidate(state: &mut State, hash: &BlockHash) -> Result<(), Error> {
    let height = state.view.height_of(hash).ok_or(Error::BlockNotFound(*hash))?;
    if height == 0 {
        return Err(Error::InvalidateGenesis);
    }
    let tip = state.view.height();
    // Read everything first: if the rebuild fails, nothing has changed.
    let mut disconnected = Vec::new();
    for h in (height..=tip).rev() {
        disconnected.push(state.kernel.block_at(h)?);
    }
    state.kernel.rebuild(height.saturating_sub(1))?;
    for block in &disconnected {
        state.view.disconnect_tip(block)?;
    }
    state.readd_to_mempool(disconnected);
    Ok(())
}
