//! Reading one's own writes on read replicas: the position of a client's last write
//! travels in a cookie, so whichever server answers its next request reads on a
//! replica only once that replica has replayed the write (see
//! [`kcl_core::context::with_session`]). Without read replicas no write has a
//! position, and no cookie is ever set.

use axum::http::{header, HeaderMap, HeaderValue};
use kcl_core::ports::LogPosition;

/// The cookie that carries the position.
pub(crate) const COOKIE: &str = "kcl_read_after";

/// How long the cookie lives: a replica that lags longer than this is lagging
/// for everyone (reads then go to the primary anyway, by the catalog's generation).
const MAX_AGE_SECS: u32 = 300;

/// Runs the request in its client's session positions and hands back the position
/// of what it wrote.
pub(crate) async fn read_your_writes(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let read_after = position_in(req.headers());
    let (mut res, wrote) = kcl_core::context::with_session(read_after, next.run(req)).await;
    if let Some(p) = wrote.filter(|w| Some(*w) > read_after) {
        let cookie =
            format!("{COOKIE}={p}; Path=/; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Lax");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The largest well-formed position among the request's cookies of that name
/// (anything else is ignored: the cookie only ever narrows where reads go).
fn position_in(headers: &HeaderMap) -> Option<LogPosition> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == COOKIE)
        .filter_map(|(_, v)| v.parse::<LogPosition>().ok())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_read_among_others_and_garbage_is_ignored() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("kcl_session=abc; kcl_read_after=0/16B3A28; x=1"),
        );
        assert_eq!(position_in(&h), Some(LogPosition(0x16B_3A28)));
        let mut bad = HeaderMap::new();
        bad.append(
            header::COOKIE,
            HeaderValue::from_static("kcl_read_after=zz/1; kcl_read_after=1"),
        );
        assert_eq!(position_in(&bad), None);
        assert_eq!(position_in(&HeaderMap::new()), None);
    }
}
