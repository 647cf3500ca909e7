use super::*;
use bitcoin::Network;
use shandian_wire::{Pong, WireMessage};

fn config() -> SessionConfig {
    SessionConfig {
        features: crate::init::default_features(),
        chain: ChainHash::using_genesis_block(Network::Regtest),
        init_timeout: Duration::from_secs(10),
        ping_interval: Duration::from_secs(30),
        pong_timeout: Duration::from_secs(20),
    }
}

/// A session that has exchanged `init`, at time `t0`.
fn active() -> (Session, Instant) {
    let t0 = Instant::now();
    let (mut s, actions) = Session::new(config(), None, t0);
    assert!(matches!(actions.as_slice(), [Action::Send(Message::Init(_))]));
    let their_init = local_init(&crate::init::default_features(), config().chain);
    let actions = s.handle_message(&their_init.encode_message(), t0);
    assert!(matches!(actions.as_slice(), [Action::Ready(_)]));
    (s, t0)
}

fn sends_warning_then_disconnects(actions: &[Action]) -> &DisconnectReason {
    match actions {
        [Action::Send(Message::Warning(_)), Action::Disconnect(reason)] => reason,
        other => panic!("expected warning + disconnect, got {other:?}"),
    }
}

#[test]
fn our_init_names_our_chain() {
    let (_, actions) = Session::new(config(), None, Instant::now());
    let [Action::Send(Message::Init(init))] = actions.as_slice() else {
        panic!("first action must send init");
    };
    assert_eq!(init.networks, Some(vec![config().chain]));
}

#[test]
fn ping_is_answered_with_requested_length() {
    let (mut s, t0) = active();
    for (asked, expect) in
        [(0u16, Some(0usize)), (7, Some(7)), (65531, Some(65531)), (65532, None), (65535, None)]
    {
        let ping = Ping { num_pong_bytes: asked, ignored: vec![0; 3] };
        let actions = s.handle_message(&ping.encode_message(), t0);
        match (expect, actions.as_slice()) {
            (Some(n), [Action::Send(Message::Pong(p))]) => assert_eq!(p.ignored.len(), n),
            (None, []) => {}
            (_, other) => panic!("ping {asked}: unexpected {other:?}"),
        }
    }
}

#[test]
fn message_before_init_is_a_violation() {
    let (mut s, _) = Session::new(config(), None, Instant::now());
    let ping = Ping { num_pong_bytes: 1, ignored: vec![] };
    let actions = s.handle_message(&ping.encode_message(), Instant::now());
    assert_eq!(sends_warning_then_disconnects(&actions), &DisconnectReason::MessageBeforeInit(18));
    assert!(s.is_closed());
    assert!(s.handle_message(&ping.encode_message(), Instant::now()).is_empty());
}

#[test]
fn unknown_even_closes_unknown_odd_is_ignored() {
    let (mut s, t0) = active();
    assert!(s.handle_message(&[0x80, 0x01, 1, 2, 3], t0).is_empty());
    assert!(!s.is_closed());
    let actions = s.handle_message(&[0x80, 0x00], t0);
    assert_eq!(
        sends_warning_then_disconnects(&actions),
        &DisconnectReason::UnknownEvenMessage(0x8000)
    );
}

#[test]
fn malformed_known_message_closes() {
    let (mut s, t0) = active();
    // A ping cut short inside num_pong_bytes.
    let actions = s.handle_message(&[0, 18, 0], t0);
    assert!(matches!(sends_warning_then_disconnects(&actions), DisconnectReason::Malformed(_)));
}

#[test]
fn application_messages_are_delivered() {
    let (mut s, t0) = active();
    let warning = Warning { channel_id: ChannelId([1; 32]), data: b"hi".to_vec() };
    let actions = s.handle_message(&warning.encode_message(), t0);
    assert_eq!(actions, vec![Action::Deliver(Message::Warning(warning))]);
}

#[test]
fn init_must_arrive_in_time() {
    let t0 = Instant::now();
    let (mut s, _) = Session::new(config(), None, t0);
    assert!(s.tick(t0 + Duration::from_secs(9)).is_empty());
    assert_eq!(s.next_deadline(), Some(t0 + Duration::from_secs(10)));
    assert_eq!(
        s.tick(t0 + Duration::from_secs(10)),
        vec![Action::Disconnect(DisconnectReason::InitTimeout(Duration::from_secs(10)))]
    );
}

#[test]
fn periodic_ping_and_pong_timeout() {
    let (mut s, t0) = active();
    assert!(s.tick(t0 + Duration::from_secs(29)).is_empty());
    let t1 = t0 + Duration::from_secs(30);
    let actions = s.tick(t1);
    let [Action::Send(Message::Ping(ping))] = actions.as_slice() else {
        panic!("expected a ping, got {actions:?}");
    };
    // The matching pong clears it; the next ping comes one interval later.
    let pong = Pong { ignored: vec![0; usize::from(ping.num_pong_bytes)] };
    assert!(s.handle_message(&pong.encode_message(), t1).is_empty());
    assert!(s.tick(t1 + Duration::from_secs(25)).is_empty());
    let t2 = t1 + Duration::from_secs(30);
    assert_eq!(s.tick(t2).len(), 1);
    // A pong of the wrong length does not count; no pong in time drops the peer.
    assert!(s.handle_message(&Pong { ignored: vec![] }.encode_message(), t2).is_empty());
    assert_eq!(
        s.tick(t2 + Duration::from_secs(20)),
        vec![Action::Disconnect(DisconnectReason::PongTimeout(Duration::from_secs(20)))]
    );
}

#[test]
fn bad_init_and_duplicate_init() {
    let t0 = Instant::now();
    let (mut s, _) = Session::new(config(), None, t0);
    let init = local_init(&Features::from_bits([2]), config().chain);
    let actions = s.handle_message(&init.encode_message(), t0);
    assert!(matches!(sends_warning_then_disconnects(&actions), DisconnectReason::Init(_)));

    let (mut s, t0) = active();
    let init = local_init(&crate::init::default_features(), config().chain);
    let actions = s.handle_message(&init.encode_message(), t0);
    assert_eq!(sends_warning_then_disconnects(&actions), &DisconnectReason::DuplicateInit);
}

proptest::proptest! {
    /// Arbitrary peer bytes never panic; whatever happens, a closed session stays closed.
    #[test]
    fn arbitrary_messages_never_panic(msgs in proptest::collection::vec(
        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 0..8)) {
        for start_active in [false, true] {
            let (mut s, t0) = if start_active {
                active()
            } else {
                (Session::new(config(), None, Instant::now()).0, Instant::now())
            };
            for msg in &msgs {
                let was_closed = s.is_closed();
                let actions = s.handle_message(msg, t0);
                if was_closed {
                    proptest::prop_assert!(actions.is_empty());
                }
                if actions.iter().any(|a| matches!(a, Action::Disconnect(_))) {
                    proptest::prop_assert!(s.is_closed());
                }
            }
        }
    }
}

#[test]
fn init_carries_the_remote_address_we_were_given() {
    let addr = crate::init::remote_addr_for("8.8.4.4:9735".parse().unwrap());
    assert!(addr.is_some());
    let (_, actions) = Session::new(config(), addr.clone(), Instant::now());
    let [Action::Send(Message::Init(init))] = actions.as_slice() else {
        panic!("first action must send init");
    };
    assert_eq!(init.remote_addr, addr);
}
