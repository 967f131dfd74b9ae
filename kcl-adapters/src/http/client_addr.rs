//! The client's address behind reverse proxies and load balancers.
//!
//! A request that reaches KCL through a load balancer comes from the balancer's
//! address; the client's is in `X-Forwarded-For`, which each proxy appends to. Anyone
//! can send that header, so it is believed only from the proxies the deployment names
//! ([`TrustedProxies`], `KCL_TRUSTED_PROXIES`):
//!
//! - when the TCP peer is not trusted, the header is ignored: the peer is the client;
//! - when it is, the entries of every `X-Forwarded-For` header (joined in order,
//!   comma-separated) are walked from the right, and the client is the first entry
//!   that is not itself a trusted proxy. An entry that is not an address stops the
//!   walk: the client is then the last hop read (the nearest one we could trust).
//!
//! Entries a client put on the left are never reached as long as a proxy it does not
//! control appended the address it saw. `X-Forwarded-Proto: https` from a trusted peer
//! means the client spoke HTTPS to the proxy (the session cookie gets `Secure`).
//!
//! The router computes this once per request ([`ClientAddr`] in the request's
//! extensions) for login throttling and the `client_ip` field of the request's log
//! span. Behind Lambda the address comes from the request context (API Gateway), or
//! from the ALB's `X-Forwarded-For` (the ALB is the peer, and trusted).
//!
//! ```
//! use std::net::IpAddr;
//! use axum::http::HeaderMap;
//! use kcl_adapters::http::TrustedProxies;
//!
//! let trusted: TrustedProxies = "10.0.0.0/8, 2001:db8::/32".parse().unwrap();
//! let mut headers = HeaderMap::new();
//! // The client forged the first entry; the balancer (10.0.1.5) appended what it saw.
//! headers.insert("x-forwarded-for", "1.2.3.4, 198.51.100.7".parse().unwrap());
//! let peer: IpAddr = "10.0.1.5".parse().unwrap();
//! let client = trusted.client(Some(peer), &headers);
//! assert_eq!(client.ip, Some("198.51.100.7".parse().unwrap()));
//!
//! // From an untrusted peer, the header is ignored.
//! let peer: IpAddr = "198.51.100.9".parse().unwrap();
//! assert_eq!(trusted.client(Some(peer), &headers).ip, Some(peer));
//! ```

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: the
/// deployment's load balancers and reverse proxies. Empty (the default) trusts none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

/// A [`TrustedProxies`] list with an entry that is neither a CIDR nor an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not a CIDR (such as 10.0.0.0/16 or 2001:db8::/32) or an IP address")]
pub struct BadProxyEntry {
    /// The entry.
    pub entry: String,
}

impl TrustedProxies {
    /// Trusts no proxy: every request's client is its TCP peer.
    pub fn none() -> Self {
        Self::default()
    }

    /// Trusts these networks.
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            nets: nets.into_iter().map(|n| n.trunc()).collect(),
        }
    }

    /// Parses a list of CIDRs separated by commas and/or whitespace; a bare address
    /// is a `/32` (IPv4) or `/128` (IPv6). An empty list trusts nothing.
    pub fn parse(list: &str) -> Result<Self, BadProxyEntry> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxyEntry {
                        entry: e.to_owned(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    /// The trusted networks.
    pub fn networks(&self) -> &[IpNet] {
        &self.nets
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is a trusted proxy (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` (the TCP peer; `None` when unknown) with
    /// these headers: see the [module docs](self).
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> ClientAddr {
        let Some(peer) = peer.map(|p| p.to_canonical()) else {
            return ClientAddr::default();
        };
        if !self.contains(peer) {
            return ClientAddr {
                ip: Some(peer),
                https: false,
            };
        }
        self.behind_trusted(peer, headers)
    }

    /// The client when `nearest` is a trusted hop (the peer, or a balancer known to
    /// be in front, such as an ALB in front of a Lambda).
    fn behind_trusted(&self, nearest: IpAddr, headers: &HeaderMap) -> ClientAddr {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut client = nearest;
        if !forwarded.is_empty() {
            for entry in forwarded.rsplit(',') {
                let Some(ip) = parse_entry(entry) else { break };
                client = ip;
                if !self.contains(ip) {
                    break;
                }
            }
        }
        let https = headers
            .get_all("x-forwarded-proto")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        ClientAddr {
            ip: Some(client),
            https,
        }
    }
}

impl FromStr for TrustedProxies {
    type Err = BadProxyEntry;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `2001:db8::1`, or with a port as some
/// proxies write it (`1.2.3.4:5678`, `[2001:db8::1]:443`, `[2001:db8::1]`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    let ip = e
        .parse::<IpAddr>()
        .ok()
        .or_else(|| e.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            e.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse::<std::net::Ipv6Addr>().ok())
                .map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

/// Who sent a request, as far as KCL can tell: put in every request's extensions by
/// the router (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address; `None` when unknown (no peer address, as in tests that
    /// call the router directly).
    pub ip: Option<IpAddr>,
    /// Whether the client spoke HTTPS to a trusted proxy (`X-Forwarded-Proto: https`),
    /// or came through API Gateway.
    pub https: bool,
}

impl ClientAddr {
    /// The client of `req`: its TCP peer (`ConnectInfo`, as [`super::serve`] passes
    /// it) and forwarding headers judged by `trusted`, or behind Lambda the request
    /// context.
    pub fn of<B>(trusted: &TrustedProxies, req: &axum::http::Request<B>) -> Self {
        #[cfg(feature = "lambda")]
        if let Some(ctx) = req
            .extensions()
            .get::<lambda_http::request::RequestContext>()
        {
            return lambda_client(trusted, ctx, req.headers());
        }
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        trusted.client(peer, req.headers())
    }
}

/// The client of a Lambda request: API Gateway gives the address it saw (a trusted
/// one, such as CloudFront's, leads on into `X-Forwarded-For`); an ALB gives none, but
/// is itself the peer: its `X-Forwarded-For` is walked as a trusted peer's.
#[cfg(feature = "lambda")]
fn lambda_client(
    trusted: &TrustedProxies,
    ctx: &lambda_http::request::RequestContext,
    headers: &HeaderMap,
) -> ClientAddr {
    use lambda_http::request::RequestContext;
    let source = match ctx {
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
        RequestContext::Alb(_) => {
            // The ALB is the peer; its address is not given, and it is trusted.
            let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
            let client = trusted.behind_trusted(unspecified, headers);
            return match client.ip {
                Some(ip) if ip == unspecified => ClientAddr::default(),
                _ => client,
            };
        }
        #[allow(unreachable_patterns)]
        _ => None,
    };
    let Some(peer) = source.and_then(parse_entry) else {
        return ClientAddr::default();
    };
    // API Gateway and function URLs answer HTTPS only.
    ClientAddr {
        https: true,
        ..trusted.client(Some(peer), headers)
    }
}

/// The middleware that computes a request's [`ClientAddr`] once, puts it in the
/// request's extensions and records `client_ip` in the request's log span.
pub(crate) async fn resolve(
    State(trusted): State<Arc<TrustedProxies>>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = ClientAddr::of(&trusted, &req);
    if let Some(ip) = client.ip {
        tracing::Span::current().record("client_ip", tracing::field::display(ip));
    }
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// The request's [`ClientAddr`] as [`resolve`] left it (unknown when the request did
/// not go through it).
pub(crate) fn of_request(req: &Request) -> ClientAddr {
    req.extensions()
        .get::<ClientAddr>()
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn xff(values: &[&str]) -> HeaderMap {
        headers(
            &values
                .iter()
                .map(|v| ("x-forwarded-for", *v))
                .collect::<Vec<_>>(),
        )
    }

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    /// The client address `t` finds behind the peer `peer` with these
    /// `X-Forwarded-For` headers.
    fn client_ip(t: &TrustedProxies, peer: &str, forwarded: &[&str]) -> Option<IpAddr> {
        t.client(Some(ip(peer)), &xff(forwarded)).ip
    }

    #[test]
    fn parses_lists_of_cidrs_and_addresses() {
        let t = trusted(" 10.0.0.0/8,192.168.1.7  2001:db8::/32\n::1 ,");
        assert_eq!(t.networks().len(), 4);
        assert!(t.contains(ip("10.200.3.4")));
        assert!(t.contains(ip("192.168.1.7")));
        assert!(!t.contains(ip("192.168.1.8")), "a bare address is a /32");
        assert!(t.contains(ip("2001:db8:ffff::1")));
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("::2")), "a bare IPv6 address is a /128");
        // An IPv4 peer on a dual-stack socket.
        assert!(t.contains(ip("::ffff:10.1.2.3")));
        // Host bits are allowed and ignored.
        assert!(trusted("10.1.2.3/16").contains(ip("10.1.200.1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse(" , ").unwrap().is_empty());
        for bad in [
            "10.0.0.0/33",
            "example.com",
            "10.0.0",
            "10.0.0.0/8;",
            "2001:db8::/129",
            "*",
        ] {
            let e = TrustedProxies::parse(&format!("127.0.0.1, {bad}")).unwrap_err();
            assert_eq!(e.entry, bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let t = trusted("10.0.0.0/8");
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.1"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = t.client(Some(ip("198.51.100.2")), &h);
        assert_eq!(c.ip, Some(ip("198.51.100.2")));
        assert!(!c.https);
        // Nothing trusted (the default): the same.
        let c = TrustedProxies::none().client(Some(ip("10.0.0.1")), &h);
        assert_eq!(c.ip, Some(ip("10.0.0.1")));
        assert!(!c.https);
        // No peer at all: unknown, headers or not.
        assert_eq!(t.client(None, &h), ClientAddr::default());
    }

    #[test]
    fn a_trusted_chain_is_walked_to_the_first_untrusted_hop() {
        let t = trusted("10.0.0.0/8, 172.16.0.0/12");
        // client -> CDN edge (172.16.0.9) -> balancer (10.0.0.5) -> KCL
        assert_eq!(
            client_ip(&t, "10.0.0.5", &["198.51.100.7, 172.16.0.9"]),
            Some(ip("198.51.100.7"))
        );
        // The trusted peer sent no header: it is the client itself (a health check).
        assert_eq!(client_ip(&t, "10.0.0.5", &[]), Some(ip("10.0.0.5")));
        // Every hop trusted: the leftmost is as far as the chain goes.
        assert_eq!(
            client_ip(&t, "10.0.0.5", &["10.9.9.9, 172.16.0.9"]),
            Some(ip("10.9.9.9"))
        );
    }

    #[test]
    fn spoofed_leftmost_entries_are_never_reached() {
        let t = trusted("10.0.0.0/8");
        // The client sent `X-Forwarded-For: 1.1.1.1, 10.0.0.1` itself (pretending to be
        // behind a trusted proxy); the balancer appended the address it saw.
        assert_eq!(
            client_ip(&t, "10.0.0.5", &["1.1.1.1, 10.0.0.1, 203.0.113.50"]),
            Some(ip("203.0.113.50"))
        );
    }

    #[test]
    fn a_malformed_entry_stops_the_walk_at_the_last_good_hop() {
        let t = trusted("10.0.0.0/8");
        // The balancer's own entry is trusted, then garbage: the nearest trusted hop.
        assert_eq!(
            client_ip(&t, "10.0.0.5", &["198.51.100.7, unknown, 10.1.1.1"]),
            Some(ip("10.1.1.1"))
        );
        // Garbage right at the end: the peer itself.
        for bad in [
            "198.51.100.7, not-an-ip",
            "198.51.100.7,",
            "198.51.100.7, _hidden",
        ] {
            assert_eq!(
                client_ip(&t, "10.0.0.5", &[bad]),
                Some(ip("10.0.0.5")),
                "{bad}"
            );
        }
        // A header value that is not text stops the walk as well.
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"198.51.100.7, \xff").unwrap(),
        );
        assert_eq!(t.client(Some(ip("10.0.0.5")), &h).ip, Some(ip("10.0.0.5")));
    }

    #[test]
    fn ipv6_peers_and_entries() {
        let t = trusted("2001:db8:1::/48");
        assert_eq!(
            client_ip(&t, "2001:db8:1::2", &["2001:db8:ffff::1, 2001:db8:1::9"]),
            Some(ip("2001:db8:ffff::1"))
        );
        // With ports and brackets, as some proxies write them.
        for (entry, want) in [
            ("[2001:db8:ffff::1]:443", "2001:db8:ffff::1"),
            ("[2001:db8:ffff::1]", "2001:db8:ffff::1"),
            ("203.0.113.4:5678", "203.0.113.4"),
            ("::ffff:203.0.113.4", "203.0.113.4"),
        ] {
            assert_eq!(
                client_ip(&t, "2001:db8:1::2", &[entry]),
                Some(ip(want)),
                "{entry}"
            );
        }
        // An IPv4-mapped IPv6 peer matches an IPv4 network.
        let t = trusted("127.0.0.1");
        assert_eq!(
            client_ip(&t, "::ffff:127.0.0.1", &["198.51.100.7"]),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn several_headers_are_joined_in_order() {
        let t = trusted("10.0.0.0/8");
        // Two proxies wrote a header each instead of appending to one.
        assert_eq!(
            client_ip(&t, "10.0.0.5", &["1.1.1.1, 198.51.100.7", "10.0.0.3"]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(&t, "10.0.0.5", &["198.51.100.7", "203.0.113.9"]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn forwarded_https_counts_only_from_a_trusted_peer() {
        let t = trusted("10.0.0.0/8");
        let https = |proto: &[&str]| {
            let mut pairs = vec![("x-forwarded-for", "198.51.100.7")];
            pairs.extend(proto.iter().map(|p| ("x-forwarded-proto", *p)));
            t.client(Some(ip("10.0.0.5")), &headers(&pairs)).https
        };
        assert!(https(&["https"]));
        assert!(https(&["HTTPS"]));
        assert!(!https(&["http"]));
        assert!(!https(&[]));
        // The nearest proxy's word counts.
        assert!(https(&["http, https"]));
        assert!(!https(&["https", "http"]));
    }

    #[cfg(feature = "lambda")]
    #[test]
    fn lambda_requests_take_the_address_from_the_request_context() {
        let event = |json: serde_json::Value| {
            let req = lambda_http::request::from_str(&json.to_string()).unwrap();
            ClientAddr::of(&TrustedProxies::none(), &req)
        };
        // HTTP API (v2) and function URLs.
        let c = event(serde_json::json!({
            "version": "2.0", "rawPath": "/login", "rawQueryString": "",
            "headers": {"x-forwarded-for": "1.1.1.1"},
            "requestContext": {"http": {"method": "POST", "path": "/login", "sourceIp": "203.0.113.7"}},
            "isBase64Encoded": false
        }));
        assert_eq!(c.ip, Some(ip("203.0.113.7")));
        assert!(c.https);
        // REST API (v1).
        let c = event(serde_json::json!({
            "resource": "/{proxy+}", "path": "/login", "httpMethod": "POST",
            "headers": {"X-Forwarded-For": "1.1.1.1"}, "multiValueHeaders": {},
            "requestContext": {"httpMethod": "POST", "identity": {"sourceIp": "2001:db8::7"}},
            "isBase64Encoded": false
        }));
        assert_eq!(c.ip, Some(ip("2001:db8::7")));
        // ALB: the rightmost X-Forwarded-For entry (the ALB appended it).
        let c = event(serde_json::json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/kcl/1"}},
            "httpMethod": "POST", "path": "/login",
            "headers": {"x-forwarded-for": "1.1.1.1, 198.51.100.7", "x-forwarded-proto": "https"},
            "body": "", "isBase64Encoded": false
        }));
        assert_eq!(c.ip, Some(ip("198.51.100.7")));
        assert!(c.https);
        // ALB health checks carry no X-Forwarded-For: unknown.
        let c = event(serde_json::json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/kcl/1"}},
            "httpMethod": "GET", "path": "/health/live", "headers": {},
            "body": "", "isBase64Encoded": false
        }));
        assert_eq!(c.ip, None);
    }
}
