//! The polling driver: a spawned follower task delivers events in order and answers watches.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, Txid};
use common::memory_chain::{spend, MemoryChain};
use shandian_chain::{spawn_follower, ChainEvent, ChainSource, Follower};
use shandian_types::BlockHeight;

async fn next(rx: &mut tokio::sync::mpsc::Receiver<ChainEvent>) -> ChainEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap()
}

#[test]
fn spawned_follower_reports_blocks_reorgs_and_spends() {
    let rt = common::runtime();
    rt.block_on(async {
        let chain = Arc::new(MemoryChain::new());
        chain.mine(2);
        let start = chain.tip_ref();
        let source: Arc<dyn ChainSource> = chain.clone();
        let (handle, mut rx, task) =
            spawn_follower(source, Follower::new(start), Duration::from_millis(10));
        let watched = OutPoint { txid: Txid::from_byte_array([3; 32]), vout: 1 };
        handle.watch_output(watched).await;

        chain.mine(1);
        let spender = spend(watched, 1);
        chain.mine_with(vec![spender.clone()]);
        let mut connected = Vec::new();
        let mut spent = false;
        while connected.len() < 2 || !spent {
            match next(&mut rx).await {
                ChainEvent::BlockConnected { height, .. } => connected.push(height.0),
                ChainEvent::OutputSpent { outpoint, spender: s, block } => {
                    spent = true;
                    assert_eq!(
                        (outpoint, s, block.height),
                        (watched, spender.compute_txid(), BlockHeight(4))
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(connected, [3, 4]);
        assert_eq!(handle.spend_of(&watched).await.unwrap().spender, spender.compute_txid());

        // Reorg out the spend: disconnects, then the new branch.
        chain.disconnect(2);
        chain.mine(3);
        let mut shape = Vec::new();
        while shape.last().map(String::as_str) != Some("+5") {
            shape.push(match next(&mut rx).await {
                ChainEvent::BlockDisconnected(b) => format!("-{}", b.height.0),
                ChainEvent::BlockConnected { height, .. } => format!("+{}", height.0),
                ChainEvent::OutputUnspent { .. } => "unspent".to_owned(),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(shape, ["-4", "unspent", "-3", "+3", "+4", "+5"]);
        assert_eq!(handle.spend_of(&watched).await, None);
        assert_eq!(handle.best().await, chain.tip_ref());

        // Dropping the receiver ends the task cleanly.
        drop(rx);
        chain.mine(1);
        let ended = tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap();
        assert!(ended.is_ok());
    });
}
