//! The channel manager's handle as the [`BatchRunner`] payments run their batches on.

use std::future::Future;
use std::pin::Pin;

use super::{Batch, BatchRunner, PayError};
use crate::channels::ChannelsHandle;

impl BatchRunner for ChannelsHandle {
    fn run(&self, batch: Batch) -> Pin<Box<dyn Future<Output = Result<(), PayError>> + Send + '_>> {
        Box::pin(async move {
            self.execute_durable(move |ops| batch(ops)).await.map_err(|_| PayError::ManagerStopped)
        })
    }
}
