//! The running Shandian node on tokio: peer connections, and (as they land) channels,
//! payments, persistence and the HTTP/JSON API.
