//! [`ChainBackend`]: the node's one view of the chain and its on-chain wallet.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::{Address, Amount, Block, BlockHash, Network, OutPoint, ScriptBuf, Transaction, Txid};
use shandian_chain::follower::Follower;
use shandian_chain::{
    BlockRef, Broadcaster, ChainEvent, ChainSource, EmbeddedChain, FeeEstimator, FundingTx,
    RpcClient, Wallet, WalletBalance,
};
use shandian_regtest::RegtestChain;
use shandian_types::{BlockHeight, FeeratePerKw};
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use super::actor::{Actor, Command};
use super::{ChainConfig, OnchainError};

/// The wallet's database file in the data directory.
pub const WALLET_FILE: &str = "wallet.sqlite";

/// How often the backend polls for new blocks (the embedded chain also wakes it at once).
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// After a restart, blocks this far below the wallet's tip are delivered again, so a crash
/// between the wallet applying a block and the node acting on it loses nothing.
const REPLAY_DEPTH: u32 = 6;
/// The confirmation target of [`ChainBackend::feerate`].
const FEE_TARGET_BLOCKS: u16 = 6;
/// How far back [`ChainBackend::find_spend`] scans blocks at most.
pub const MAX_RESCAN_BLOCKS: u32 = 2016;
/// The feerate used when the backend cannot estimate: about 4 sat/vB.
pub const FALLBACK_FEERATE: FeeratePerKw = FeeratePerKw(1_000);

/// What the chain says of an output's spend (see [`ChainBackend::lookup_spend`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpendLookup {
    /// Not spent by any confirmed transaction (a mempool spend does not count).
    Unspent,
    /// Spent by `txid`, confirmed in `block`.
    Spent {
        /// The spending transaction.
        txid: Txid,
        /// The block that confirmed it.
        block: BlockRef,
    },
    /// The backend says the output is spent, but no block from `scanned_from` to the
    /// delivered tip holds the spend: it is deeper than the scan reaches (the node was down
    /// longer than [`MAX_RESCAN_BLOCKS`]), or in a block not delivered yet.
    SpentUnfound {
        /// The lowest block scanned.
        scanned_from: BlockHeight,
    },
}

/// The node's view of the chain: a block follower whose events every subscriber receives in
/// order, the on-chain wallet kept in step with it, broadcasting (with rebroadcast until
/// confirmed) and fee estimation. Cheap to clone.
#[derive(Clone)]
pub struct ChainBackend {
    inner: Arc<Inner>,
}

struct Inner {
    source: Arc<dyn ChainSource>,
    broadcaster: Arc<dyn Broadcaster>,
    fees: Arc<dyn FeeEstimator>,
    wallet: Arc<Mutex<Wallet>>,
    commands: mpsc::UnboundedSender<Command>,
    best: watch::Receiver<BlockRef>,
    network: Network,
    regtest: Option<Arc<RegtestChain>>,
}

impl std::fmt::Debug for ChainBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainBackend").field("best", &*self.inner.best.borrow()).finish()
    }
}

type Backends = (Arc<dyn ChainSource>, Arc<dyn Broadcaster>, Arc<dyn FeeEstimator>);

fn backends(config: ChainConfig) -> Result<(Backends, Option<Arc<RegtestChain>>), OnchainError> {
    match config {
        ChainConfig::Embedded(chain) => {
            let embedded = Arc::new(EmbeddedChain::new(Arc::clone(&chain)));
            Ok(((embedded.clone(), embedded.clone(), embedded), Some(chain)))
        }
        ChainConfig::BitcoindRpc { url, auth } => {
            let client = Arc::new(RpcClient::new(&url, auth)?);
            Ok(((client.clone(), client.clone(), client), None))
        }
    }
}

/// A follower a few blocks below the wallet's tip (see [`REPLAY_DEPTH`]).
fn replay_follower(wallet: &Wallet) -> Follower {
    let at_tip = wallet.follower();
    let recent: Vec<BlockRef> = at_tip.recent().collect();
    let target = at_tip.best().height.0.saturating_sub(REPLAY_DEPTH);
    match recent.iter().find(|b| b.height.0 == target) {
        Some(start) if target > 0 => Follower::from_recent(*start, recent.iter().copied()),
        _ => at_tip,
    }
}

impl ChainBackend {
    /// Opens (or creates) the wallet `<data_dir>/wallet.sqlite` for `seed`, catches it up with
    /// the chain, and starts the chain task, which runs until `shutdown` turns true or every
    /// clone of the backend is dropped. A new wallet's birthday is the current tip.
    pub async fn start(
        config: ChainConfig,
        data_dir: &Path,
        seed: &[u8; 32],
        network: Network,
        shutdown: watch::Receiver<bool>,
    ) -> Result<ChainBackend, OnchainError> {
        let ((source, broadcaster, fees), regtest) = backends(config)?;
        std::fs::create_dir_all(data_dir)
            .map_err(|source| OnchainError::DataDir { path: data_dir.to_owned(), source })?;
        let tip = source.tip().await?;
        let path = data_dir.join(WALLET_FILE);
        let seed = *seed;
        let mut wallet =
            tokio::task::spawn_blocking(move || Wallet::open(&path, &seed, network, Some(tip)))
                .await
                .map_err(|_| OnchainError::Stopped)??;
        // Scanning the whole mempool for incoming payments is cheap on regtest and far too
        // heavy against a public network's mempool: there, unconfirmed incoming payments show
        // once confirmed (our own transactions are always tracked).
        wallet.set_mempool_scan(network == Network::Regtest);
        let follower = replay_follower(&wallet);
        let wallet = Arc::new(Mutex::new(wallet));
        let (best_tx, best) = watch::channel(follower.best());
        let mut actor = Actor::new(
            Arc::clone(&source),
            Arc::clone(&broadcaster),
            wallet.clone(),
            follower,
            best_tx,
        );
        actor.catch_up().await;
        let (commands, receiver) = mpsc::unbounded_channel();
        // What was broadcast before a restart may have left the mempools since (a restarted
        // backend, eviction): rebroadcast every unconfirmed wallet transaction until it confirms.
        for tx in wallet.lock().await.unconfirmed_transactions() {
            let _ = commands.send(Command::Track(Box::new(tx)));
        }
        let wake = regtest.as_ref().map(|c| c.subscribe_tip());
        tokio::spawn(actor.run(receiver, shutdown, wake, POLL_INTERVAL));
        let inner = Inner { source, broadcaster, fees, wallet, commands, best, network, regtest };
        Ok(ChainBackend { inner: Arc::new(inner) })
    }

    /// A receiver of every chain event from now on, in chain order (every subscriber sees
    /// all). Confirmations and spends found for a watch registered after their block was
    /// delivered are sent as they are found.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<ChainEvent> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let _ = self.inner.commands.send(Command::Subscribe(sender));
        receiver
    }

    /// The best block delivered to subscribers (and applied to the wallet).
    pub async fn best_block(&self) -> BlockRef {
        *self.inner.best.borrow()
    }

    /// Waits until the backend has delivered a block at `height` or above.
    pub async fn wait_for_height(&self, height: BlockHeight) -> Result<BlockRef, OnchainError> {
        let mut best = self.inner.best.clone();
        let reached = best.wait_for(|b| b.height >= height).await;
        reached.map(|b| *b).map_err(|_| OnchainError::Stopped)
    }

    /// Catches up with the backend's tip now (delivering its blocks) and returns once done.
    pub async fn sync(&self) -> Result<BlockRef, OnchainError> {
        let (done, wait) = oneshot::channel();
        self.command(Command::Sync(done))?;
        wait.await.map_err(|_| OnchainError::Stopped)?;
        Ok(self.best_block().await)
    }

    /// Reports `txid`'s confirmation (`TxConfirmed`, and `TxUnconfirmed` on a reorg) to
    /// subscribers; if it confirmed already in a recent block, right away.
    pub async fn watch_tx(&self, txid: Txid) {
        let (done, wait) = oneshot::channel();
        if self.command(Command::WatchTx(txid, done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Reports a spend of `outpoint` (`OutputSpent`) to subscribers; if a recent block spent
    /// it already, right away.
    pub async fn watch_output(&self, outpoint: OutPoint) {
        let (done, wait) = oneshot::channel();
        if self.command(Command::WatchOutput(outpoint, done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Confirmations of `txid` (0: in the mempool); `None` if unknown.
    pub async fn confirmations(&self, txid: &Txid) -> Option<u32> {
        let (reply, wait) = oneshot::channel();
        self.command(Command::Confirmations(*txid, reply)).ok()?;
        wait.await.ok().flatten()
    }

    /// A confirmed transaction with its block height and index in the block (BOLT 7's short
    /// channel id parts); `None` while unconfirmed or unknown.
    pub async fn transaction_position(
        &self,
        txid: Txid,
    ) -> Option<(Transaction, BlockHeight, u32)> {
        let (reply, wait) = oneshot::channel();
        self.command(Command::Position(txid, reply)).ok()?;
        let (block, index) = wait.await.ok().flatten()?;
        let full = self.inner.source.block(block.hash).await.ok().flatten()?;
        let tx = full.txdata.get(usize::try_from(index).ok()?)?.clone();
        Some((tx, block.height, index))
    }

    /// The best-chain transaction that spent `outpoint`, and its block: from what the
    /// follower saw, else (if the backend says the output is gone) by scanning blocks back
    /// from the tip to `from` (at most [`MAX_RESCAN_BLOCKS`]). For a watch registered long
    /// after the fact, e.g. after the node was down for days. `None`: unspent, or not found.
    pub async fn find_spend(
        &self,
        outpoint: OutPoint,
        from: BlockHeight,
    ) -> Result<Option<(Txid, BlockRef)>, OnchainError> {
        Ok(match self.lookup_spend(outpoint, from).await? {
            SpendLookup::Spent { txid, block } => Some((txid, block)),
            SpendLookup::Unspent | SpendLookup::SpentUnfound { .. } => None,
        })
    }

    /// Like [`ChainBackend::find_spend`], but telling an unspent output from one the backend
    /// says is spent (in a confirmed block) while the scan did not find the spending block.
    pub async fn lookup_spend(
        &self,
        outpoint: OutPoint,
        from: BlockHeight,
    ) -> Result<SpendLookup, OnchainError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::KnownSpend(outpoint, reply))?;
        if let Some((txid, block)) = answer.await.map_err(|_| OnchainError::Stopped)? {
            return Ok(SpendLookup::Spent { txid, block });
        }
        let source = &self.inner.source;
        if source.unspent_output(outpoint, false).await?.is_some() {
            return Ok(SpendLookup::Unspent);
        }
        let best = self.best_block().await.height.0;
        let lowest = from.0.max(best.saturating_sub(MAX_RESCAN_BLOCKS));
        for height in (lowest..=best).rev() {
            let Some(hash) = source.block_hash(BlockHeight(height)).await? else { continue };
            let Some(block) = source.block(hash).await? else { continue };
            let spender = block
                .txdata
                .iter()
                .find(|tx| tx.input.iter().any(|i| i.previous_output == outpoint));
            if let Some(tx) = spender {
                let block = BlockRef { height: BlockHeight(height), hash };
                return Ok(SpendLookup::Spent { txid: tx.compute_txid(), block });
            }
        }
        Ok(SpendLookup::SpentUnfound { scanned_from: BlockHeight(lowest) })
    }

    /// A transaction the backend knows (mempool, or chain where indexed).
    pub async fn transaction(&self, txid: Txid) -> Result<Option<Transaction>, OnchainError> {
        Ok(self.inner.source.transaction(txid).await?.map(|l| l.tx))
    }

    /// A block by hash.
    pub async fn block(&self, hash: BlockHash) -> Result<Option<Block>, OnchainError> {
        Ok(self.inner.source.block(hash).await?)
    }

    /// A wallet-funded, signed transaction paying `amount` to `script`, at the current
    /// feerate. Not broadcast; its inputs are reserved until [`ChainBackend::abandon`].
    pub async fn fund(&self, script: ScriptBuf, amount: Amount) -> Result<FundingTx, OnchainError> {
        let feerate = self.feerate().await;
        self.with_wallet(move |w| w.fund_script(script, amount, feerate)).await
    }

    /// Gives up a transaction the wallet built and that will never be broadcast (or was
    /// double-spent): its inputs become spendable again.
    pub async fn abandon(&self, txid: Txid) {
        if let Err(e) = self.with_wallet(move |w| w.abandon_tx(txid)).await {
            tracing::warn!(%txid, error = %e, "cannot abandon transaction");
        }
    }

    /// Broadcasts `tx` and keeps rebroadcasting it on every block until it is confirmed.
    /// A transaction the backend already has is a success; a transient failure (backend
    /// unreachable) is logged and retried; a refusal is [`OnchainError::Rejected`].
    pub async fn broadcast(&self, tx: Transaction) -> Result<(), OnchainError> {
        let txid = tx.compute_txid();
        match self.inner.broadcaster.broadcast(&tx).await {
            Ok(_) => {}
            Err(e) if e.is_already_known() => {}
            Err(e) if e.is_transient() => {
                tracing::warn!(%txid, error = %e, "broadcast failed; will retry on the next block");
            }
            Err(source) => return Err(OnchainError::Rejected { txid, source }),
        }
        // If it touches the wallet (funding, sweeps to our scripts), count it now.
        let for_wallet = tx.clone();
        if let Err(e) = self.with_wallet(move |w| w.apply_unconfirmed(for_wallet)).await {
            tracing::warn!(%txid, error = %e, "wallet could not record broadcast transaction");
        }
        self.command(Command::Track(Box::new(tx)))
    }

    /// Pays `amount` to `address` from the wallet and broadcasts it.
    pub async fn send_to_address(
        &self,
        address: Address,
        amount: Amount,
    ) -> Result<Txid, OnchainError> {
        let feerate = self.feerate().await;
        let tx = self.with_wallet(move |w| w.build_payment(&address, amount, feerate)).await?;
        let txid = tx.compute_txid();
        if let Err(e) = self.broadcast(tx).await {
            self.abandon(txid).await;
            return Err(e);
        }
        Ok(txid)
    }

    /// The feerate to confirm within about six blocks; [`FALLBACK_FEERATE`] if the backend
    /// cannot say. Never below the relay floor.
    pub async fn feerate(&self) -> FeeratePerKw {
        match self.inner.fees.estimate_feerate(FEE_TARGET_BLOCKS).await {
            Ok(rate) => rate.max(FeeratePerKw::MIN_RELAY),
            Err(e) => {
                tracing::debug!(error = %e, "fee estimation failed; using the fallback");
                FALLBACK_FEERATE
            }
        }
    }

    /// A fresh wallet receive address.
    pub async fn new_address(&self) -> Result<Address, OnchainError> {
        self.with_wallet(|w| w.new_address()).await
    }

    /// A fresh wallet script (P2WPKH): closing outputs and sweeps pay here.
    pub async fn shutdown_script(&self) -> Result<ScriptBuf, OnchainError> {
        Ok(self.new_address().await?.script_pubkey())
    }

    /// The wallet's balance as of the last delivered block and mempool scan.
    pub async fn balance(&self) -> WalletBalance {
        self.inner.wallet.lock().await.balance()
    }

    /// The wallet's spendable outputs.
    pub async fn utxos(&self) -> Vec<(OutPoint, Amount)> {
        self.inner.wallet.lock().await.utxos()
    }

    /// The node's network.
    pub fn network(&self) -> Network {
        self.inner.network
    }

    /// The embedded regtest chain, when that is the backend (tests, the demo: to mine).
    pub fn regtest(&self) -> Option<&Arc<RegtestChain>> {
        self.inner.regtest.as_ref()
    }

    fn command(&self, command: Command) -> Result<(), OnchainError> {
        self.inner.commands.send(command).map_err(|_| OnchainError::Stopped)
    }

    /// Runs a blocking wallet call off the async threads.
    async fn with_wallet<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Wallet) -> Result<T, shandian_chain::Error> + Send + 'static,
    ) -> Result<T, OnchainError> {
        let mut wallet = Arc::clone(&self.inner.wallet).lock_owned().await;
        let result = tokio::task::spawn_blocking(move || f(&mut wallet))
            .await
            .map_err(|_| OnchainError::Stopped)?;
        result.map_err(OnchainError::from_wallet)
    }
}
