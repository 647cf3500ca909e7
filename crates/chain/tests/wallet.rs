//! The wallet against the embedded regtest chain (Bitcoin Core's consensus engine), through
//! the in-process adapter.

mod common;

use bitcoin::{Amount, Network, ScriptBuf};
use common::{burn, runtime, Regtest};
use shandian_chain::follower::{sync, ChainEvent};
use shandian_chain::{Broadcaster, ChainSource, Error, Wallet};
use shandian_types::{BlockHeight, FeeratePerKw};

const COIN: u64 = 100_000_000;

fn feerate() -> FeeratePerKw {
    FeeratePerKw(1000)
}

/// A wallet holding two mature 50 BTC coinbases (blocks 1 and 2: BDK, like Core's mempool,
/// lets a coinbase be spent once it has 100 confirmations) and 99 immature ones.
fn funded(rt: &tokio::runtime::Runtime, net: &Regtest, wallet: &mut Wallet) {
    let address = wallet.new_address().unwrap();
    net.mine_to(101, &address.script_pubkey());
    rt.block_on(wallet.sync(&net.source)).unwrap();
}

#[test]
fn mine_spend_a_coinbase_and_see_it_confirm() {
    let rt = runtime();
    let net = Regtest::new();
    let mut wallet = net.wallet("w.sqlite", 1);
    funded(&rt, &net, &mut wallet);
    let balance = wallet.balance();
    assert_eq!(balance.confirmed, Amount::from_sat(100 * COIN));
    assert_eq!(balance.immature, Amount::from_sat(99 * 50 * COIN));
    assert_eq!(wallet.tip().height, BlockHeight(101));

    // Pay 1 BTC out of a mature coinbase.
    let mut other = net.wallet("other.sqlite", 2);
    let to = other.new_address().unwrap();
    let txid = rt
        .block_on(wallet.send_to_address(&to, Amount::from_sat(COIN), feerate(), &net.source))
        .unwrap();
    assert!(net.chain.mempool_txids().contains(&txid));
    let pending = wallet.balance();
    let paid = balance.total() - pending.total();
    assert!(paid > Amount::from_sat(COIN) && paid < Amount::from_sat(COIN + 100_000), "{paid}");
    assert!(pending.unconfirmed > Amount::from_sat(48 * COIN));
    assert_eq!(wallet.confirmation_height(txid), None);

    net.mine(1);
    rt.block_on(wallet.sync(&net.source)).unwrap();
    rt.block_on(other.sync(&net.source)).unwrap();
    assert_eq!(wallet.confirmation_height(txid), Some(BlockHeight(102)));
    assert_eq!(other.balance().confirmed, Amount::from_sat(COIN));
    // Change confirmed, and the coinbase of block 3 matured at height 102.
    let after = wallet.balance();
    assert_eq!(after.unconfirmed, Amount::ZERO);
    assert_eq!(after.total(), pending.total());
    assert_eq!(
        after.confirmed,
        pending.confirmed + pending.unconfirmed + Amount::from_sat(50 * COIN)
    );
}

#[test]
fn funding_transactions_never_share_inputs_and_double_spends_are_typed() {
    let rt = runtime();
    let net = Regtest::new();
    let mut wallet = net.wallet("w.sqlite", 3);
    let address = wallet.new_address().unwrap();
    net.mine_to(103, &address.script_pubkey()); // four mature coinbases
    rt.block_on(wallet.sync(&net.source)).unwrap();
    assert_eq!(wallet.balance().confirmed, Amount::from_sat(200 * COIN));

    let script = burn();
    let amount = Amount::from_sat(60 * COIN); // needs two coinbases
    let first = wallet.fund_script(script.clone(), amount, feerate()).unwrap();
    let out = &first.tx.output[usize::from(first.output_index)];
    assert_eq!((out.script_pubkey.clone(), out.value), (script.clone(), amount));
    assert!(first.fee > Amount::ZERO);
    // Not broadcast yet: the wallet must still not reuse its inputs.
    let second = wallet.fund_script(script.clone(), Amount::from_sat(40 * COIN), feerate());
    let second = match second {
        Ok(tx) => tx,
        Err(e) => panic!("second funding failed: {e}"),
    };
    for input in &second.tx.input {
        assert!(first.tx.input.iter().all(|i| i.previous_output != input.previous_output));
    }
    rt.block_on(net.source.broadcast(&first.tx)).unwrap();
    rt.block_on(net.source.broadcast(&second.tx)).unwrap();
    net.mine(1);
    rt.block_on(wallet.sync(&net.source)).unwrap();
    assert_eq!(wallet.confirmation_height(first.txid()), Some(BlockHeight(104)));
    assert_eq!(wallet.confirmation_height(second.txid()), Some(BlockHeight(104)));

    // Rebroadcasting a confirmed transaction: "already known", the goal is met.
    let again = rt.block_on(net.source.broadcast(&first.tx)).unwrap_err();
    assert!(again.is_already_known() || again.is_double_spend(), "{again:?}");

    // A different transaction spending the same inputs: a typed double spend.
    let mut conflict = first.tx.clone();
    conflict.output[usize::from(first.output_index)].value = amount - Amount::from_sat(1000);
    let err = rt.block_on(net.source.broadcast(&conflict)).unwrap_err();
    assert!(err.is_double_spend(), "{err:?}");
}

#[test]
fn an_abandoned_funding_frees_its_inputs() {
    let rt = runtime();
    let net = Regtest::new();
    let mut wallet = net.wallet("w.sqlite", 4);
    funded(&rt, &net, &mut wallet);
    let funding = wallet.fund_script(burn(), Amount::from_sat(60 * COIN), feerate()).unwrap();
    // Both mature coins are taken; only the ~40 BTC change is left.
    let err = wallet.fund_script(burn(), Amount::from_sat(45 * COIN), feerate()).unwrap_err();
    assert!(matches!(err, Error::InsufficientFunds { .. }), "{err:?}");
    wallet.abandon_tx(funding.txid()).unwrap();
    assert_eq!(wallet.balance().confirmed, Amount::from_sat(100 * COIN));
    assert_eq!(wallet.balance().unconfirmed, Amount::ZERO);
    wallet.fund_script(burn(), Amount::from_sat(45 * COIN), feerate()).unwrap();
}

#[test]
fn immature_coinbase_cannot_be_spent() {
    let rt = runtime();
    let net = Regtest::new();
    let mut wallet = net.wallet("w.sqlite", 5);
    let address = wallet.new_address().unwrap();
    net.mine_to(99, &address.script_pubkey()); // the first coinbase has 99 confirmations
    rt.block_on(wallet.sync(&net.source)).unwrap();
    assert_eq!(wallet.balance().confirmed, Amount::ZERO);
    assert_eq!(wallet.balance().immature, Amount::from_sat(99 * 50 * COIN));
    let err = wallet.fund_script(burn(), Amount::from_sat(COIN), feerate()).unwrap_err();
    assert!(matches!(err, Error::InsufficientFunds { .. }), "{err:?}");
}

#[test]
fn a_reorg_is_disconnects_then_connects_and_the_balance_follows() {
    let rt = runtime();
    let net = Regtest::new();
    let mut payer = net.wallet("payer.sqlite", 6);
    funded(&rt, &net, &mut payer);
    let mut payee = net.wallet("payee.sqlite", 7);
    rt.block_on(payee.sync(&net.source)).unwrap();
    let mut follower = payee.follower();

    let to = payee.new_address().unwrap();
    let txid = rt
        .block_on(payer.send_to_address(&to, Amount::from_sat(2 * COIN), feerate(), &net.source))
        .unwrap();
    net.mine(1); // block 102 confirms the payment
    let confirming = net.chain.tip();
    rt.block_on(payee.sync(&net.source)).unwrap();
    assert_eq!(payee.balance().confirmed, Amount::from_sat(2 * COIN));
    let mut events = Vec::new();
    rt.block_on(sync(&mut follower, &net.source, usize::MAX, &mut events)).unwrap();
    follower.watch_tx(
        txid,
        Some(shandian_chain::BlockRef {
            height: BlockHeight(confirming.height),
            hash: confirming.hash,
        }),
    );
    assert_eq!(follower.confirmations(&txid), Some(1));

    // Invalidate the confirming block: the payment goes back to the mempool.
    net.chain.invalidate(&confirming.hash).unwrap();
    assert!(net.chain.mempool_txids().contains(&txid));
    rt.block_on(payee.sync(&net.source)).unwrap();
    let b = payee.balance();
    assert_eq!((b.confirmed, b.unconfirmed), (Amount::ZERO, Amount::from_sat(2 * COIN)));
    assert_eq!(payee.tip().height, BlockHeight(101));

    // A longer branch of two empty blocks, then one that confirms the payment again.
    net.chain.generate_block(&burn(), Vec::new()).unwrap();
    net.chain.generate_block(&burn(), Vec::new()).unwrap();
    net.mine(1);
    let mut events = Vec::new();
    rt.block_on(sync(&mut follower, &net.source, usize::MAX, &mut events)).unwrap();
    let shape: Vec<String> = events
        .iter()
        .map(|e| match e {
            ChainEvent::BlockDisconnected(b) => format!("-{}", b.height.0),
            ChainEvent::BlockConnected { height, .. } => format!("+{}", height.0),
            ChainEvent::TxUnconfirmed { .. } => "unconf".into(),
            ChainEvent::TxConfirmed { block, .. } => format!("conf@{}", block.height.0),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(shape, ["-102", "unconf", "+102", "+103", "+104", "conf@104"]);
    assert_eq!(follower.confirmations(&txid), Some(1));

    // The wallet fed the same events confirms it at 104.
    payee.apply_events(&events).unwrap();
    assert_eq!(payee.confirmation_height(txid), Some(BlockHeight(104)));
    assert_eq!(payee.balance().confirmed, Amount::from_sat(2 * COIN));
    assert_eq!(payee.tip(), follower.best());
}

#[test]
fn restart_keeps_balance_addresses_and_tip() {
    let rt = runtime();
    let net = Regtest::new();
    let path = net.dir.path().join("w.sqlite");
    let seed = [8u8; 32];
    let (balance, addresses, tip) = {
        let mut wallet = Wallet::open(&path, &seed, Network::Regtest, None).unwrap();
        funded(&rt, &net, &mut wallet);
        wallet.new_address().unwrap();
        let spend = wallet.fund_script(burn(), Amount::from_sat(COIN), feerate()).unwrap();
        rt.block_on(net.source.broadcast(&spend.tx)).unwrap();
        (wallet.balance(), wallet.revealed_addresses(), wallet.tip())
    };
    let mut wallet = Wallet::open(&path, &seed, Network::Regtest, None).unwrap();
    assert_eq!(wallet.balance(), balance);
    assert_eq!(wallet.revealed_addresses(), addresses);
    assert_eq!(wallet.tip(), tip);
    // The next address is new, not a repeat.
    let next = wallet.new_address().unwrap();
    assert!(!addresses.contains(&next));
    // Another seed cannot open this wallet.
    assert!(Wallet::open(&path, &[9u8; 32], Network::Regtest, None).is_err());
    // Keeps following the chain after the restart.
    net.mine(1);
    rt.block_on(wallet.sync(&net.source)).unwrap();
    assert_eq!(wallet.tip().height, BlockHeight(102));
    assert_eq!(wallet.balance().unconfirmed, Amount::ZERO);
}

#[test]
fn birthday_skips_earlier_blocks_and_wrong_network_addresses_are_refused() {
    let rt = runtime();
    let net = Regtest::new();
    net.mine(5);
    let tip = rt.block_on(net.source.tip()).unwrap();
    let path = net.dir.path().join("late.sqlite");
    let mut wallet = Wallet::open(&path, &[10u8; 32], Network::Regtest, Some(tip)).unwrap();
    assert_eq!(wallet.tip(), tip);
    let address = wallet.new_address().unwrap();
    net.mine_to(101, &address.script_pubkey()); // blocks 6..=106; 6 and 7 are mature
    rt.block_on(wallet.sync(&net.source)).unwrap();
    assert_eq!(wallet.balance().confirmed, Amount::from_sat(100 * COIN));

    let mainnet = bitcoin::Address::p2wsh(&ScriptBuf::new(), Network::Bitcoin);
    let err = wallet.build_payment(&mainnet, Amount::from_sat(COIN), feerate()).unwrap_err();
    assert!(matches!(err, Error::WrongNetwork));
}
