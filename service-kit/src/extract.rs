//! What handlers take from a request: its id, the deterministic seed, the client's
//! address, and the names of the headers the suite reads and writes.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};

use crate::limits::MAX_REQUEST_ID_LEN;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
pub const POD_NAME_HEADER: &str = "x-pod-name";
pub const NODE_NAME_HEADER: &str = "x-node-name";
pub const SEED_HEADER: &str = "x-kiada-seed";

/// The id of the current request: the caller's `X-Request-Id` when it is sane, else a
/// fresh UUID. Handlers extract it to pass it on to other services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The caller's id when it is short printable ASCII, else a fresh one.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                !id.is_empty()
                    && id.len() <= MAX_REQUEST_ID_LEN
                    && id.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|id| Self(id.to_owned()))
            .unwrap_or_else(Self::fresh)
    }

    /// A random (version 4) UUID from the thread's userspace generator: `Uuid::new_v4`
    /// asks the kernel (getrandom) every time, a system call on every request.
    fn fresh() -> Self {
        Self(
            uuid::Builder::from_random_bytes(rand::random())
                .into_uuid()
                .to_string(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Present whenever the request middleware wraps the app; a fresh id otherwise.
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(Self::fresh);
        std::future::ready(Ok(id))
    }
}

/// Deterministic mode for tests and demos: a request with `X-Kiada-Seed: <number>` gets
/// the tip and question that number picks, the same on every pod. Extracting it fails
/// with 400 when the header is not an unsigned integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed(pub Option<u64>);

impl FromRequest for Seed {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let seed = match req.headers().get(SEED_HEADER) {
            None => Ok(Seed(None)),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .map(|seed| Seed(Some(seed)))
                .ok_or_else(|| {
                    actix_web::error::ErrorBadRequest(
                        "X-Kiada-Seed must be an unsigned integer (0 to 18446744073709551615)\n",
                    )
                }),
        };
        std::future::ready(seed)
    }
}

/// Picks an index below `len` from `seed`, the same way in every service and process.
pub fn index_for_seed(seed: u64, len: usize) -> usize {
    use rand::{Rng, SeedableRng};
    rand::rngs::SmallRng::seed_from_u64(seed).random_range(0..len.max(1))
}

/// The address of the peer that opened the connection, with IPv4-mapped IPv6 addresses
/// (what a dual-stack socket reports for IPv4 clients) shown as plain IPv4.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|addr| addr.ip().to_canonical())
}

/// `ip` as text, the same as `ip.to_string()`. An IPv4 address (nearly every client's) is
/// written digit by digit: `Ipv4Addr`'s `Display` goes through the formatting machinery
/// four times, 1,300 instructions an address under callgrind, and kiada writes the client's
/// twice per page (the page and the access log).
pub fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (index, octet) in v4.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_text_is_what_display_writes() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.0.100.9",
            "192.168.10.255",
            "255.255.255.255",
            "::1",
            "::ffff:1.2.3.4",
            "fe80::1:2",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for octet in 0..=255u8 {
            let ip = IpAddr::from([octet, 255 - octet, octet / 2, 7]);
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }
}
