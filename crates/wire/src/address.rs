//! Address descriptors (BOLT 7 `node_announcement`, also BOLT 1 `init`'s `remote_addr`).

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::writer::WriteExt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One network address a node can be reached at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetAddress {
    /// Type 1: IPv4 address and port.
    Ipv4 {
        /// The address.
        addr: Ipv4Addr,
        /// The TCP port.
        port: u16,
    },
    /// Type 2: IPv6 address and port.
    Ipv6 {
        /// The address.
        addr: Ipv6Addr,
        /// The TCP port.
        port: u16,
    },
    /// Type 3: a deprecated Tor v2 onion service (BOLT 7: SHOULD ignore), kept so signed
    /// announcements re-encode exactly.
    TorV2 {
        /// The 10-byte onion address.
        onion: [u8; 10],
        /// The port.
        port: u16,
    },
    /// Type 4: a Tor v3 onion service: ed25519 key, checksum and version.
    TorV3 {
        /// The 35-byte onion address.
        onion: [u8; 35],
        /// The port.
        port: u16,
    },
    /// Type 5: a DNS hostname (BOLT 7: ASCII only, Punycode for the rest).
    Dns {
        /// The hostname, at most 255 ASCII bytes.
        hostname: String,
        /// The port.
        port: u16,
    },
    /// A descriptor of a type this node does not know. Its length is unknown, so `data` holds
    /// every byte after the type byte to the end of the address list (BOLT 7: "SHOULD ignore
    /// the first address descriptor that does NOT match the types defined above").
    Unknown {
        /// The type byte.
        addr_type: u8,
        /// The rest of the address bytes.
        data: Vec<u8>,
    },
}

impl NetAddress {
    /// The descriptor's type byte.
    pub fn addr_type(&self) -> u8 {
        match self {
            NetAddress::Ipv4 { .. } => 1,
            NetAddress::Ipv6 { .. } => 2,
            NetAddress::TorV2 { .. } => 3,
            NetAddress::TorV3 { .. } => 4,
            NetAddress::Dns { .. } => 5,
            NetAddress::Unknown { addr_type, .. } => *addr_type,
        }
    }

    /// Reads one descriptor. An unknown type consumes the rest of `reader`.
    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<NetAddress, DecodeError> {
        let addr_type = reader.read_u8()?;
        Ok(match addr_type {
            1 => NetAddress::Ipv4 {
                addr: Ipv4Addr::from(reader.read_array::<4>()?),
                port: reader.read_u16()?,
            },
            2 => NetAddress::Ipv6 {
                addr: Ipv6Addr::from(reader.read_array::<16>()?),
                port: reader.read_u16()?,
            },
            3 => NetAddress::TorV2 { onion: reader.read_array()?, port: reader.read_u16()? },
            4 => NetAddress::TorV3 { onion: reader.read_array()?, port: reader.read_u16()? },
            5 => {
                let len = reader.read_u8()?;
                let bytes = reader.read_bytes(usize::from(len))?;
                // BOLT 7: `hostname` bytes MUST be ASCII characters.
                if !bytes.is_ascii() {
                    return Err(DecodeError::InvalidField("hostname"));
                }
                let hostname = String::from_utf8(bytes.to_vec())
                    .map_err(|_| DecodeError::InvalidField("hostname"))?;
                NetAddress::Dns { hostname, port: reader.read_u16()? }
            }
            _ => NetAddress::Unknown { addr_type, data: reader.read_rest().to_vec() },
        })
    }

    /// Decodes a whole `addresses` field: known descriptors until the first unknown one.
    pub fn read_list(bytes: &[u8]) -> Result<Vec<NetAddress>, DecodeError> {
        let mut reader = Reader::new(bytes);
        let mut addresses = Vec::new();
        while !reader.is_empty() {
            // BOLT 7: if `addrlen` is insufficient to hold the known descriptors, the
            // announcement is malformed (SHOULD warn, MAY close).
            addresses.push(NetAddress::read(&mut reader)?);
        }
        Ok(addresses)
    }

    /// Appends the descriptor.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(self.addr_type());
        match self {
            NetAddress::Ipv4 { addr, port } => {
                out.extend_from_slice(&addr.octets());
                out.put_u16(*port);
            }
            NetAddress::Ipv6 { addr, port } => {
                out.extend_from_slice(&addr.octets());
                out.put_u16(*port);
            }
            NetAddress::TorV2 { onion, port } => {
                out.extend_from_slice(onion);
                out.put_u16(*port);
            }
            NetAddress::TorV3 { onion, port } => {
                out.extend_from_slice(onion);
                out.put_u16(*port);
            }
            NetAddress::Dns { hostname, port } => {
                let bytes = hostname.as_bytes();
                let bytes = bytes.get(..usize::from(u8::MAX)).unwrap_or(bytes);
                out.push(bytes.len() as u8);
                out.extend_from_slice(bytes);
                out.put_u16(*port);
            }
            NetAddress::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_then_unknown() {
        let bytes = [1, 127, 0, 0, 1, 0x26, 0x07, 9, 0xaa, 0xbb];
        let list = NetAddress::read_list(&bytes).unwrap();
        assert_eq!(
            list,
            vec![
                NetAddress::Ipv4 { addr: Ipv4Addr::LOCALHOST, port: 9735 },
                NetAddress::Unknown { addr_type: 9, data: vec![0xaa, 0xbb] },
            ]
        );
        let mut out = Vec::new();
        list.iter().for_each(|a| a.write(&mut out));
        assert_eq!(out, bytes);
    }

    #[test]
    fn truncated_and_non_ascii_fail() {
        assert!(NetAddress::read_list(&[1, 127, 0, 0]).is_err());
        assert_eq!(
            NetAddress::read_list(&[5, 1, 0xff, 0, 1]),
            Err(DecodeError::InvalidField("hostname"))
        );
        assert_eq!(
            NetAddress::read_list(&[5, 3, b'a', b'.', b'b', 0x26, 0x07]),
            Ok(vec![NetAddress::Dns { hostname: "a.b".into(), port: 9735 }])
        );
    }
}
