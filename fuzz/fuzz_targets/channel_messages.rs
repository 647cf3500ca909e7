//! Feeds arbitrary peer messages (length-prefixed chunks, each decoded as a whole message) to
//! a channel in the Normal phase, interleaved with local commands chosen by the input. No
//! input may panic; whatever happens, the channel ends in a valid phase.
#![no_main]

use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use libfuzzer_sys::fuzz_target;
use shandian_channel::{
    Action, ChainEvent, Channel, ChannelConfig, ChannelSigner, ChannelType, Command, Event,
    NewHtlc, OpenRequest, Policy,
};
use shandian_types::{ChannelId, CltvExpiry, FeeratePerKw, Msat, PaymentPreimage};
use shandian_wire::{Message, OnionPacket, ONION_PACKET_LEN};

fn config(tag: u8) -> ChannelConfig {
    ChannelConfig {
        policy: Policy::new(ChainHash::REGTEST),
        dust_limit: Amount::from_sat(546),
        max_htlc_value_in_flight: Msat(u64::MAX),
        htlc_minimum: Msat(1),
        to_self_delay: 144,
        max_accepted_htlcs: 483,
        reserve_permille: 10,
        minimum_depth: 1,
        max_dust_exposure: Msat(5_000_000_000),
        shutdown_script: ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([tag; 20])),
    }
}

fn sends(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| if let Action::Send(m) = a { Some(m.clone()) } else { None })
        .collect()
}

/// Opens a channel between two machines and returns the fundee in `Normal`.
fn normal_channel() -> Option<Channel> {
    let request = OpenRequest {
        temporary_channel_id: ChannelId([1; 32]),
        funding: Amount::from_sat(1_000_000),
        push: Msat(400_000_000),
        feerate: FeeratePerKw(1000),
        channel_type: ChannelType { anchors: true, scid_alias: false },
        announce: false,
    };
    let (a, out) =
        Channel::open(config(1), ChannelSigner::from_node_seed(&[1; 32], 1).ok()?, &request)
            .ok()?;
    let Some(Message::OpenChannel(open)) = sends(&out).pop() else { return None };
    let (b, out) =
        Channel::accept(config(2), ChannelSigner::from_node_seed(&[2; 32], 2).ok()?, &open).ok()?;
    let (a, out) = a.handle_message(sends(&out).first()?);
    let script = out.iter().find_map(|x| match x {
        Action::Event(Event::FundingNeeded { script_pubkey, .. }) => Some(script_pubkey.clone()),
        _ => None,
    })?;
    let tx = Transaction {
        version: Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: Txid::from_byte_array([3; 32]), vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut { value: Amount::from_sat(1_000_000), script_pubkey: script }],
    };
    let (a, out) = a.handle_command(Command::FundingTransaction(tx.clone()));
    let (b, out) = b.handle_message(sends(&out.ok()?).first()?);
    let (a, _) = a.handle_message(sends(&out).first()?);
    let event = ChainEvent::FundingConfirmed { tx, block_height: 10, tx_index: 1, depth: 1 };
    let (_, out_a) = a.handle_chain_event(&event);
    let (b, _) = b.handle_chain_event(&event);
    let (b, _) = b.handle_message(sends(&out_a).first()?);
    matches!(b, Channel::Normal(_)).then_some(b)
}

fuzz_target!(|data: &[u8]| {
    let Some(mut channel) = normal_channel() else { return };
    let mut rest = data;
    while let [kind, tag, tail @ ..] = rest {
        let len = usize::from(*tag).min(tail.len());
        let (chunk, next) = tail.split_at(len);
        rest = next;
        channel = match kind % 4 {
            0 => match Message::decode(chunk) {
                Ok(m) => channel.handle_message(&m).0,
                Err(_) => channel,
            },
            1 => {
                let amount =
                    chunk.iter().fold(0u64, |a, b| a.wrapping_mul(256).wrapping_add(u64::from(*b)));
                let htlc = NewHtlc {
                    amount: Msat(amount),
                    payment_hash: PaymentPreimage([*tag; 32]).hash(),
                    cltv_expiry: CltvExpiry(u32::from(*tag) * 1000),
                    onion: OnionPacket::new([0; ONION_PACKET_LEN]),
                    blinding_point: None,
                };
                channel.handle_command(Command::AddHtlc(htlc)).0
            }
            2 => channel.handle_command(Command::Commit).0,
            _ => {
                let (c, _) = channel.disconnected();
                c.connected().0
            }
        };
    }
});
