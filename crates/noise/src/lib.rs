//! BOLT 8: the Noise_XK handshake and the encrypted, length-prefixed Lightning transport,
//! sans-IO over byte slices.
