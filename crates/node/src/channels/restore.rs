//! Start-up: every open channel back from the store with its signer re-derived from the node
//! seed, its peer redialled, and its funding position looked up again.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, Txid};
use shandian_channel::spec::Update;
use shandian_channel::{Channel, ChannelRecord};
use shandian_types::{BlockHeight, ChannelId};
use tokio::sync::mpsc;

use super::actor::Env;
use super::chain::{ChannelChain, SpendLookup};
use super::inbox::Input;
use super::keys::KeyIndexes;
use super::state::Entry;
use super::ChannelsError;
use crate::store::Store;

pub(crate) struct Loaded {
    pub(crate) entries: Vec<Entry>,
    pub(crate) keys: KeyIndexes,
    /// Peers with open channels and their last known address.
    pub(crate) peers: Vec<(PublicKey, SocketAddr)>,
    /// Our HTLC offers the stored channels held unsigned: restoring forgets them (BOLT 2,
    /// as on any disconnection) and their ids will be reused, so whoever offered them (a
    /// payment, a forward) must learn they were dropped before anything else happens.
    pub(crate) forgotten: Vec<(ChannelId, Vec<u64>)>,
}

pub(crate) fn load(
    store: &Store,
    seed: &[u8; 32],
    data_dir: &Path,
) -> Result<Loaded, ChannelsError> {
    let stored = store.load_channels()?;
    let archived = store.archived_channels()?;
    let relay_fees: std::collections::HashMap<_, _> = store.relay_fees()?.into_iter().collect();
    let indexes = stored
        .iter()
        .chain(archived.iter().map(|a| &a.channel))
        .filter_map(|s| ChannelRecord::header(&s.record).ok()?.key_index);
    let keys = KeyIndexes::open(data_dir, indexes)?;
    let mut entries = Vec::new();
    let mut forgotten = Vec::new();
    for s in stored {
        let record = ChannelRecord::decode_with_seed(&s.record, seed)
            .map_err(|source| ChannelsError::CorruptRecord { channel_id: s.channel_id, source })?;
        let unsigned = unsigned_offers(&record.channel);
        if !unsigned.is_empty() {
            forgotten.push((s.channel_id, unsigned));
        }
        let channel = record.restore();
        let Some(funded) = channel.funded() else {
            tracing::warn!(channel = %s.channel_id, "stored channel is not funded; skipped");
            continue;
        };
        let outpoint = funded.setup().funding.outpoint;
        let key_index = funded.setup().signer.key_index();
        let mut entry = Entry::new(channel, s.peer.public_key(), s.announced, key_index);
        entry.funding_txid = Some(outpoint.txid);
        entry.funding_output = u16::try_from(outpoint.vout).unwrap_or(u16::MAX);
        entry.update_seq = s.update_seq;
        entry.funded_record = Some(s.record);
        entry.relay_fees = relay_fees.get(&s.channel_id).copied();
        entries.push(entry);
    }
    let with_channels: Vec<PublicKey> = entries.iter().map(|e| e.peer).collect();
    let peers = store
        .peers()?
        .into_iter()
        .filter(|p| with_channels.contains(&p.node_id.public_key()))
        .filter_map(|p| Some((p.node_id.public_key(), p.address?.parse().ok()?)))
        .collect();
    Ok(Loaded { entries, keys, peers, forgotten })
}

/// Our HTLC offers in `channel` not yet covered by a signature: what a disconnection (or a
/// restart) forgets.
pub(crate) fn unsigned_offers(channel: &Channel) -> Vec<u64> {
    let Some(funded) = channel.funded() else { return Vec::new() };
    funded
        .log()
        .holder_changes()
        .proposed
        .iter()
        .filter_map(|u| match u {
            Update::Add(h) => Some(h.id),
            _ => None,
        })
        .collect()
}

/// Looks up where each restored channel's funding transaction confirmed: its short channel
/// id before any peer message can name it. A channel still waiting for its depth gets the
/// position as an input instead, so the first batch checks the depth. A channel past that
/// whose funding the backend cannot place now (a backend still starting, a call that timed
/// out under load) is looked up again in the background: without its short channel id it
/// could neither send nor accept a `channel_update`, and no new block would tell it.
///
/// Each located funding output is then checked for a spend made while the node was down
/// (see [`check_spends`]). The manager must have subscribed to the chain before this runs.
pub(crate) async fn locate_funding(
    chain: &Arc<dyn ChannelChain>,
    entries: &mut [Entry],
    inputs: &mpsc::UnboundedSender<Input>,
) {
    let mut missing = Vec::new();
    let mut located = Vec::new();
    for entry in entries.iter_mut() {
        let Some(txid) = entry.funding_txid else { continue };
        let Some((tx, height, tx_index)) = chain.transaction_position(txid).await else {
            let confirmed = !matches!(entry.channel(), Some(Channel::AwaitingConfirmation(_)));
            if let Some(channel_id) = super::summary::id_of(entry).filter(|_| confirmed) {
                tracing::warn!(channel = %channel_id, %txid, "funding not located yet; retrying");
                missing.push((channel_id, txid, entry.funding_output));
            }
            continue;
        };
        let waiting = matches!(entry.channel(), Some(Channel::AwaitingConfirmation(_)));
        if let Some(channel_id) = super::summary::id_of(entry) {
            let outpoint = OutPoint { txid, vout: u32::from(entry.funding_output) };
            located.push(Located { channel_id, outpoint, height });
        }
        match (waiting, super::summary::id_of(entry)) {
            (true, Some(channel_id)) => {
                let tx = Box::new(tx);
                let height = height.0;
                let _ = inputs.send(Input::FundingPosition { channel_id, tx, height, tx_index });
            }
            _ => {
                entry.confirmation =
                    Some(super::state::Confirmation { tx, height: height.0, tx_index })
            }
        }
    }
    if !missing.is_empty() {
        tokio::spawn(locate_later(chain.clone(), missing, inputs.clone()));
    }
    if !located.is_empty() {
        tokio::spawn(check_spends(chain.clone(), located, inputs.clone()));
    }
}

/// Retries [`locate_funding`] for `missing` with a growing delay until each is found (or
/// the manager is gone), handing each position to the manager as an input.
async fn locate_later(
    chain: Arc<dyn ChannelChain>,
    mut missing: Vec<(ChannelId, Txid, u16)>,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let mut delay = Duration::from_millis(250);
    while !missing.is_empty() {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
        let mut still = Vec::new();
        for (channel_id, txid, vout) in missing {
            let Some((tx, height, tx_index)) = chain.transaction_position(txid).await else {
                still.push((channel_id, txid, vout));
                continue;
            };
            tracing::info!(channel = %channel_id, %txid, "funding located");
            let tx = Box::new(tx);
            let input = Input::FundingPosition { channel_id, tx, height: height.0, tx_index };
            if inputs.send(input).is_err() {
                return;
            }
            let outpoint = OutPoint { txid, vout: u32::from(vout) };
            let located = Located { channel_id, outpoint, height };
            if !check_spend(chain.as_ref(), &located, &inputs).await {
                return;
            }
        }
        missing = still;
    }
}

/// A restored channel's funding output and the height of the block that confirmed it.
struct Located {
    channel_id: ChannelId,
    outpoint: OutPoint,
    height: BlockHeight,
}

/// BOLT 5: a spent funding output closes the channel. Asks the chain whether each located
/// funding output was spent while the node was down, and hands each spent one to the
/// manager ([`Input::FundingSpent`]): closed, recorded for the monitor and handed to it as a
/// spend seen live (the monitor finds the spending transaction itself). Runs after the
/// manager subscribed: a spend delivered before that is found here, one delivered after
/// also reaches the manager in its block, and the manager closes the channel only once.
async fn check_spends(
    chain: Arc<dyn ChannelChain>,
    located: Vec<Located>,
    inputs: mpsc::UnboundedSender<Input>,
) {
    for channel in &located {
        if !check_spend(chain.as_ref(), channel, &inputs).await {
            return;
        }
    }
}

/// Checks one funding output (retrying while the chain cannot answer); `false` once the
/// manager is gone.
async fn check_spend(
    chain: &dyn ChannelChain,
    located: &Located,
    inputs: &mpsc::UnboundedSender<Input>,
) -> bool {
    let Located { channel_id, outpoint, height } = located;
    let mut delay = Duration::from_millis(250);
    let lookup = loop {
        match chain.find_spend(*outpoint, *height).await {
            Ok(lookup) => break lookup,
            Err(e) => {
                tracing::warn!(channel = %channel_id, %outpoint, "cannot check the funding for a spend: {e}; retrying");
                if inputs.is_closed() {
                    return false;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    };
    match lookup {
        SpendLookup::Unspent => return true,
        SpendLookup::Spent { txid, block } => tracing::warn!(
            channel = %channel_id, spender = %txid, height = block.height.0,
            "the funding output was spent while the node was down"
        ),
        SpendLookup::SpentUnfound { scanned_from } if scanned_from > *height => tracing::error!(
            channel = %channel_id, %outpoint, funding_height = height.0,
            scanned_from = scanned_from.0,
            "the funding output was spent below the rescan window (the node was down too \
             long): the channel is closed, but the monitor cannot find the spending \
             transaction to claim our outputs; they must be recovered by hand"
        ),
        SpendLookup::SpentUnfound { .. } => tracing::info!(
            channel = %channel_id, %outpoint,
            "the funding output was spent in a block not delivered yet"
        ),
    }
    inputs.send(Input::FundingSpent(*channel_id)).is_ok()
}

/// Redials the peers of restored channels.
pub(crate) fn redial(env: &Env, peers: &[(PublicKey, SocketAddr)]) {
    for (peer, addr) in peers {
        env.node.connect(*peer, *addr);
    }
}
