//! The network guard of webhook URLs: which addresses a delivery may never reach. A webhook
//! is a request the server makes on a client's behalf; without the guard a client could aim
//! it at the server's own loopback, the private network behind it, or a cloud's metadata
//! address (link-local), and read the answers through the delivery log.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is loopback, private (RFC 1918, `fc00::/7`), link-local or unspecified: an
/// address a webhook may not point to unless the operator allows private networks.
/// IPv4 addresses written as IPv6 (`::ffff:127.0.0.1`) are judged as the IPv4 address.
#[must_use]
pub fn is_private_network(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| private_v6(v6), private_v4),
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
}

fn private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        // fc00::/7, unique local addresses.
        || (first & 0xfe00) == 0xfc00
        // fe80::/10, link-local.
        || (first & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn refuses_loopback_private_link_local_and_unspecified() {
        for bad in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
        ] {
            assert!(is_private_network(ip(bad)), "{bad}");
        }
    }

    #[test]
    fn accepts_public_addresses() {
        for good in [
            "93.184.216.34",
            "172.32.0.1",
            "172.15.255.255",
            "192.169.0.1",
            "8.8.8.8",
            "2606:2800:220:1::1",
            "fec0::1",
            "::ffff:93.184.216.34",
        ] {
            assert!(!is_private_network(ip(good)), "{good}");
        }
    }
}
