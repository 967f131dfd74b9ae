//! The HTTP host: address, limits, logs, proxies and metrics (`KCL_HTTP_ADDR`,
//! `KCL_HTTP_BACKLOG`, `KCL_HTTP_MAX_IN_FLIGHT`, `KCL_HTTP_MAX_UPLOADS`, `KCL_LOG_FORMAT`,
//! `KCL_TRUSTED_PROXIES`, `KCL_METRICS`, `KCL_METRICS_TOKEN`), and the language and
//! currency of what KCL shows and writes (`KCL_LOCALE`, `KCL_CURRENCY`).

use std::net::SocketAddr;

use super::vars::Vars;
use super::ConfigError;

/// Connections the kernel queues for `accept` (capped by `net.core.somaxconn`):
/// a burst of new connections beyond it is dropped and the clients retry their
/// SYN a second or three later (BENCHMARKS.md, "Tails at 1,000 connections").
pub(crate) const DEFAULT_BACKLOG: u32 = 4096;

pub(super) struct Http {
    pub(super) http_addr: SocketAddr,
    pub(super) http_backlog: u32,
    pub(super) max_in_flight: usize,
    pub(super) max_uploads: usize,
    pub(super) trusted_proxies: Vec<ipnet::IpNet>,
    pub(super) metrics: bool,
    pub(super) metrics_token: Option<String>,
    pub(super) locale: Option<kcl_core::domain::Locale>,
    pub(super) currency: kcl_core::domain::Currency,
}

pub(super) fn read(v: &Vars<'_>) -> Result<Http, ConfigError> {
    let http_addr = v
        .addr("KCL_HTTP_ADDR", "127.0.0.1:8080 or 0.0.0.0:80")?
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let http_backlog = v
        .number("KCL_HTTP_BACKLOG", 1..=65_535)?
        .map_or(DEFAULT_BACKLOG, |n| n as u32);
    let max_in_flight = v
        .number("KCL_HTTP_MAX_IN_FLIGHT", 1..=100_000)?
        .unwrap_or(512) as usize;
    let max_uploads = v.number("KCL_HTTP_MAX_UPLOADS", 1..=10_000)?.unwrap_or(8) as usize;
    match v.get("KCL_LOG_FORMAT").as_deref() {
        None | Some("text") | Some("json") => {}
        Some(other) => {
            return Err(ConfigError {
                variable: "KCL_LOG_FORMAT",
                value: other.to_owned(),
                reason: "must be text or json".into(),
            })
        }
    }
    let trusted_proxies = parse_trusted_proxies(v.get("KCL_TRUSTED_PROXIES").as_deref())?;
    let metrics = v.on_off("KCL_METRICS", true)?;
    let metrics_token = v.get("KCL_METRICS_TOKEN");
    if metrics_token
        .as_ref()
        .is_some_and(|t| t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ConfigError {
            variable: "KCL_METRICS_TOKEN",
            value: "***".into(),
            reason: "must be 16 or more visible ASCII characters (no spaces)".into(),
        });
    }
    let locale = match v.get("KCL_LOCALE") {
        None => None,
        Some(l) => Some(
            kcl_core::domain::Locale::parse_exact(&l).ok_or_else(|| ConfigError {
                variable: "KCL_LOCALE",
                value: l.clone(),
                reason: "must be en or pt-BR".into(),
            })?,
        ),
    };
    let currency = match v.get("KCL_CURRENCY") {
        None => kcl_core::domain::Currency::default(),
        Some(c) => kcl_core::domain::Currency::parse(&c).ok_or_else(|| ConfigError {
            variable: "KCL_CURRENCY",
            value: c.clone(),
            reason: "must be an ISO 4217 code of three letters, such as BRL, USD or EUR".into(),
        })?,
    };
    Ok(Http {
        locale,
        currency,
        http_addr,
        http_backlog,
        max_in_flight,
        max_uploads,
        trusted_proxies,
        metrics,
        metrics_token,
    })
}

/// `KCL_TRUSTED_PROXIES`: CIDRs or bare addresses (`/32`, `/128`), separated by
/// commas or whitespace.
fn parse_trusted_proxies(list: Option<&str>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| ConfigError {
                    variable: "KCL_TRUSTED_PROXIES",
                    value: list.unwrap_or_default().to_owned(),
                    reason: format!(
                        "{e:?} is not a CIDR (such as 10.0.0.0/16 or 2001:db8::/32) or an IP address"
                    ),
                })
        })
        .collect()
}
