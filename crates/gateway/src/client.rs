//! The client's network address as logged and decided: the connection's peer, unless
//! that peer is one of the configured `trusted_proxies`; then the rightmost
//! `X-Forwarded-For` hop that is not itself a trusted proxy. A client can write anything
//! into `X-Forwarded-For`, but only the hops trusted proxies appended are read.
use crate::config::Cidr;
use hyper::HeaderMap;
use std::net::{IpAddr, SocketAddr};

pub fn address(trusted: &[Cidr], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut hops: Vec<Option<IpAddr>> = Vec::new();
    for line in headers.get_all("x-forwarded-for") {
        match line.to_str() {
            Ok(text) => hops.extend(text.split(',').map(hop)),
            Err(_) => hops.push(None),
        }
    }
    // Walk back from the nearest hop. A hop that cannot be read stops the walk at the
    // last address a trusted proxy vouched for.
    let mut client = peer;
    for h in hops.into_iter().rev() {
        let Some(ip) = h else {
            return client;
        };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, or an address with a port.
fn hop(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    t.parse::<IpAddr>()
        .ok()
        .or_else(|| t.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(trusted: &[&str], peer: &str, xff: &[&str]) -> String {
        let trusted: Vec<Cidr> = trusted.iter().map(|t| Cidr::parse(t).unwrap()).collect();
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        address(&trusted, peer.parse().unwrap(), &h).to_string()
    }

    #[test]
    fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
        assert_eq!(client(&[], "203.0.113.9", &["10.0.0.1"]), "203.0.113.9");
        assert_eq!(
            client(&["10.0.0.0/8"], "203.0.113.9", &["10.0.0.1"]),
            "203.0.113.9"
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client_and_spoofed_hops_left_of_it_are_not() {
        let t = ["127.0.0.1/32", "10.0.0.0/8"];
        // The client wrote "1.1.1.1"; the first proxy appended the client's real address.
        assert_eq!(
            client(&t, "127.0.0.1", &["1.1.1.1, 198.51.100.7, 10.0.0.5"]),
            "198.51.100.7"
        );
        assert_eq!(
            client(&t, "127.0.0.1", &["1.1.1.1", "198.51.100.7:4431"]),
            "198.51.100.7"
        );
        assert_eq!(client(&t, "127.0.0.1", &[]), "127.0.0.1");
        assert_eq!(client(&t, "127.0.0.1", &["10.0.0.9, 10.0.0.5"]), "10.0.0.9");
        assert_eq!(client(&t, "127.0.0.1", &["garbage, 10.0.0.5"]), "10.0.0.5");
    }
}
