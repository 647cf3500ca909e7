//! The block follower: delivers connected and disconnected blocks in order across reorgs, and
//! tracks the confirmation depth of watched transactions and the spends of watched outputs.
//!
//! [`Follower`] is the sans-IO core (fed blocks, returns [`ChainEvent`]s); [`sync`] feeds it
//! from any [`crate::ChainSource`]; [`spawn_follower`] runs [`sync`] on a timer in a tokio task.

mod core;
mod driver;

pub use self::core::{ChainEvent, Follower, Spend, DEFAULT_MEMORY};
pub use self::driver::{spawn_follower, sync, FollowerHandle};
