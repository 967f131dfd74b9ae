//! The language of the pages and problem titles: a message catalogue in
//! [Fluent](https://projectfluent.org) (`locales/{en,pt-BR}/*.ftl` in this crate,
//! compiled in), the request's [`Locale`] and the currency amounts are shown in.
//!
//! A request's locale is, in order: the visitor's own choice (the `kcl_lang`
//! cookie set by the language link, `/ui/lang/{locale}`), the server's
//! [`HttpOptions::locale`](super::HttpOptions::locale) (`KCL_LOCALE`), the
//! browser's `Accept-Language`, and English. Pages and problem documents say
//! which they are in (`Content-Language`, `<html lang>`).
//!
//! Code asks for a message by its id with [`tr!`](crate::http::i18n::tr):
//! `tr!("nav-catalog")`, `tr!("catalog-shown", from = "1", to = "25", count = "1,000+")`.
//! Numbers passed as numbers choose plural forms (`[one]`, `*[other]`); numbers
//! shown are formatted first ([`number`], [`money`], [`date`]) and passed as text.

use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use kcl_core::domain::{Currency, Locale};
use serde::Deserialize;

use super::access::href;
use super::extract::{ApiPath, ApiQuery};
use super::page::{error_page, OrPage};
use super::problem::Problem;

/// The cookie that keeps a visitor's choice of language.
pub(crate) const LANG_COOKIE: &str = "kcl_lang";

/// The catalogue's files, per locale (the same names in each folder).
macro_rules! catalogue {
    ($dir:literal) => {
        [
            (
                "common",
                include_str!(concat!("../../locales/", $dir, "/common.ftl")),
            ),
            (
                "catalog",
                include_str!(concat!("../../locales/", $dir, "/catalog.ftl")),
            ),
            (
                "sales",
                include_str!(concat!("../../locales/", $dir, "/sales.ftl")),
            ),
            (
                "jobs",
                include_str!(concat!("../../locales/", $dir, "/jobs.ftl")),
            ),
            (
                "auth",
                include_str!(concat!("../../locales/", $dir, "/auth.ftl")),
            ),
        ]
    };
}

type Sources = [(&'static str, &'static str); 5];
const EN: Sources = catalogue!("en");
const PT_BR: Sources = catalogue!("pt-BR");

fn sources(locale: Locale) -> &'static Sources {
    match locale {
        Locale::PtBr => &PT_BR,
        _ => &EN,
    }
}

/// One bundle per locale, in [`Locale::ALL`]'s order, built on first use.
static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> =
    LazyLock::new(|| Locale::ALL.iter().map(|l| bundle(*l)).collect());

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let id = locale
        .as_str()
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages are left to right.
    bundle.set_use_isolating(false);
    for (name, text) in sources(locale) {
        // The catalogue's tests keep these files free of errors; were one to slip
        // through, the messages that did parse are still used.
        let resource = FluentResource::try_new((*text).to_owned()).unwrap_or_else(|(r, errors)| {
            tracing::error!(?errors, file = %name, %locale, "message catalogue syntax errors");
            r
        });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(?errors, file = %name, %locale, "message catalogue errors");
        }
    }
    bundle
}

fn bundle_of(locale: Locale) -> &'static FluentBundle<FluentResource> {
    let i = Locale::ALL.iter().position(|l| *l == locale).unwrap_or(0);
    &BUNDLES[i]
}

/// The message `id` in `locale` with `args`; English when `locale` lacks it, the
/// id itself when no locale has it (the catalogue tests keep that from happening).
pub(crate) fn message_in(locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let args = (!args.is_empty()).then(|| {
        let mut a = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            a.set(*name, value.clone());
        }
        a
    });
    for l in [locale, Locale::En] {
        let bundle = bundle_of(l);
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args.as_ref(), &mut errors);
            if !errors.is_empty() {
                tracing::warn!(?errors, id, locale = %l, "message formatted with errors");
            }
            return text.into_owned();
        }
    }
    tracing::warn!(id, "no such message in the catalogue");
    id.to_owned()
}

/// The message `id` in the request's locale (see [`tr!`]).
pub(crate) fn t(id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    message_in(locale(), id, args)
}

/// A message of the catalogue in the request's locale, as a `String`:
/// `tr!("id")` or `tr!("id", name = value, ...)` where each value converts into a
/// [`FluentValue`] (text, or a number to choose a plural form).
macro_rules! tr {
    ($id:expr) => {
        $crate::http::i18n::t($id, &[])
    };
    ($id:expr, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::http::i18n::t(
            $id,
            &[$((stringify!($name), ::fluent_bundle::FluentValue::from($value))),+],
        )
    };
}
pub(crate) use tr;

/// What a request is shown in.
#[derive(Debug, Clone)]
struct Lang {
    locale: Locale,
    currency: Currency,
    /// The request's path and query (under the router), for the language link;
    /// `None` for a method other than GET and HEAD.
    here: Option<axum::http::uri::PathAndQuery>,
}

tokio::task_local! {
    static LANG: Lang;
}

/// The request's locale (English outside a request).
pub(crate) fn locale() -> Locale {
    LANG.try_with(|l| l.locale).unwrap_or_default()
}

/// The request's path and query under the router (`/books/1?x=y`), for links
/// that come back to it; `/` outside a request, and for a page answering a form's
/// POST (a refused form), which has no address of its own to come back to.
pub(crate) fn here() -> String {
    LANG.try_with(|l| l.here.as_ref().map(|p| p.as_str().to_owned()))
        .ok()
        .flatten()
        .unwrap_or_else(|| "/".to_owned())
}

/// An amount in cents in the request's locale and the server's currency:
/// `R$1,234.56` / `R$ 1.234,56`.
pub(crate) fn money(cents: i64) -> String {
    let currency = LANG.try_with(|l| l.currency).unwrap_or_default();
    locale().money(cents, currency)
}

/// An amount in cents without a currency, in the request's locale: `1,234.56` /
/// `1.234,56` (chart axes, where the caption names the currency).
pub(crate) fn amount(cents: i64) -> String {
    locale().amount(cents)
}

/// A whole number in the request's locale: `1,234` / `1.234`.
pub(crate) fn number(n: impl Into<i64>) -> String {
    locale().integer(n.into())
}

/// A count that may not fit an `i64` (`u64`, `usize`), grouped the same way.
pub(crate) fn count(n: u64) -> String {
    locale().decimal(i128::from(n), 0, true)
}

/// A quantity in thousandths in the request's locale: `1.500` / `1,500` (whole
/// units shown without decimals: `3` rather than `3.000`).
pub(crate) fn quantity(thousandths: i64) -> String {
    if thousandths % 1000 == 0 {
        number(thousandths / 1000)
    } else {
        locale().decimal(i128::from(thousandths), 3, true)
    }
}

/// A day in the request's locale: `2026-11-23` / `23/11/2026`.
pub(crate) fn date(d: chrono::NaiveDate) -> String {
    locale().date(d)
}

/// A moment in UTC in the request's locale, to the minute: `2026-11-23 14:05 UTC`
/// / `23/11/2026 14:05 UTC`.
pub(crate) fn date_time(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("{} {} UTC", date(t.date_naive()), t.format("%H:%M"))
}

/// [`date_time`] to the second: `2026-11-23 14:05:09 UTC` / `23/11/2026 14:05:09 UTC`.
pub(crate) fn date_time_seconds(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("{} {} UTC", date(t.date_naive()), t.format("%H:%M:%S"))
}

/// The locale settings of a router: the server's choice, if any, and its currency.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LangSettings {
    pub(crate) locale: Option<Locale>,
    pub(crate) currency: Currency,
}

/// The locale a request asks for: its `kcl_lang` cookie, else the server's
/// setting, else its `Accept-Language`, else English.
fn choose(headers: &HeaderMap, settings: &LangSettings) -> Locale {
    let chosen = super::extract::cookie(headers, LANG_COOKIE).and_then(Locale::parse_exact);
    chosen
        .or(settings.locale)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::negotiate)
        })
        .unwrap_or_default()
}

/// Middleware: runs the request in its locale, and marks the pages and problem
/// documents it answers with (`Content-Language`; `Vary` on what chose it).
pub(crate) async fn scope(
    State(settings): State<LangSettings>,
    req: Request,
    next: Next,
) -> Response {
    let lang = Lang {
        locale: choose(req.headers(), &settings),
        currency: settings.currency,
        // Cloning the URI's own bytes counts a reference; nothing is copied on
        // requests that never show a page.
        here: matches!(*req.method(), Method::GET | Method::HEAD)
            .then(|| req.uri().path_and_query().cloned())
            .flatten(),
    };
    let locale = lang.locale;
    let mut res = LANG.scope(lang, next.run(req)).await;
    let localized = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/problem+json"));
    if localized {
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(locale.as_str()),
        );
        h.append(
            header::VARY,
            HeaderValue::from_static("accept-language, cookie"),
        );
    }
    res
}

#[derive(Debug, Deserialize)]
pub(crate) struct SwitchQuery {
    /// The page to go back to (a path under the router).
    back: Option<String>,
}

/// `GET /ui/lang/{locale}?back=/path`: keeps the visitor's choice of language in
/// a cookie (a year) and takes them back to the page they were on.
pub(crate) async fn switch(
    OrPage(ApiPath(tag)): OrPage<ApiPath<String>>,
    OrPage(ApiQuery(q)): OrPage<ApiQuery<SwitchQuery>>,
    req: Request,
) -> Response {
    let Some(locale) = Locale::parse_exact(&tag) else {
        return error_page(Problem::new(
            StatusCode::NOT_FOUND,
            "no-such-locale",
            tr!("lang-unknown", tag = tag.as_str()),
        ));
    };
    let back = super::auth::login::safe_next(q.back.as_deref());
    let https = super::client_addr::of_request(&req).https;
    let path = href("/");
    let cookie = format!(
        "{LANG_COOKIE}={locale}; Path={path}; Max-Age=31536000; SameSite=Lax{}",
        if https { "; Secure" } else { "" }
    );
    let mut res = Redirect::to(&href(back)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// What is wrong with a field, for a page: in English the domain's own message
/// (which names limits, such as "must have at most 300 characters"); in another
/// locale the catalogue's message for its code (`field-{code}`) when there is one.
pub(crate) fn field_message(e: &kcl_core::domain::FieldError) -> String {
    let locale = locale();
    let id = format!("field-{}", e.code);
    if locale != Locale::En && bundle_of(locale).has_message(&id) {
        message_in(locale, &id, &[])
    } else {
        e.message.clone()
    }
}

/// The title of a problem of `status` in the request's locale (the status's
/// reason phrase in English).
pub(crate) fn problem_title(status: StatusCode) -> String {
    let id = format!("status-{}", status.as_u16());
    if bundle_of(Locale::En).has_message(&id) {
        t(&id, &[])
    } else {
        status.canonical_reason().unwrap_or("Error").to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(locale: Locale) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for (name, text) in sources(locale) {
            let resource = FluentResource::try_new((*text).to_owned())
                .unwrap_or_else(|(_, e)| panic!("{locale}/{name}.ftl: {e:?}"));
            for entry in resource.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    assert!(
                        ids.insert(m.id.name.to_owned()),
                        "{locale}/{name}.ftl: `{}` defined twice",
                        m.id.name
                    );
                }
            }
        }
        ids
    }

    #[test]
    fn both_catalogues_parse_and_hold_the_same_messages() {
        let en = ids(Locale::En);
        let pt = ids(Locale::PtBr);
        let only_en: Vec<_> = en.difference(&pt).collect();
        let only_pt: Vec<_> = pt.difference(&en).collect();
        assert!(only_en.is_empty(), "missing in pt-BR: {only_en:?}");
        assert!(only_pt.is_empty(), "missing in en: {only_pt:?}");
        for l in Locale::ALL {
            let mut b = FluentBundle::new_concurrent(vec![l.as_str().parse().unwrap()]);
            for (name, text) in sources(l) {
                let r = FluentResource::try_new((*text).to_owned()).unwrap();
                assert!(b.add_resource(r).is_ok(), "{l}/{name}.ftl: errors");
            }
        }
    }

    /// Every id the code asks for (`tr!("...")`) exists, in every locale.
    #[test]
    fn every_message_the_code_uses_exists() {
        let en = ids(Locale::En);
        let mut missing = Vec::new();
        let mut used = 0;
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                // This file's docs and tests name ids that are not uses.
                if path.ends_with("http/i18n.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("tr!(") {
                    // `tr!(` itself, not the end of `include_str!(`.
                    let before = text[..at].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    // `tr!("id"` or `tr!(\n    "id"`.
                    let Some(quoted) = text[at + 4..].trim_start().strip_prefix('"') else {
                        continue;
                    };
                    let id = quoted.split('"').next().unwrap_or_default();
                    used += 1;
                    if !en.contains(id) {
                        missing.push(format!("{}: {id}", path.display()));
                    }
                }
            }
        }
        assert!(used > 100, "only {used} uses found");
        assert!(missing.is_empty(), "not in the catalogue: {missing:#?}");
    }

    #[test]
    fn messages_are_formatted_per_locale_with_a_fallback() {
        assert_eq!(message_in(Locale::En, "nav-catalog", &[]), "Catalog");
        assert_eq!(message_in(Locale::PtBr, "nav-catalog", &[]), "Catálogo");
        assert_eq!(
            message_in(Locale::PtBr, "no-such-message", &[]),
            "no-such-message"
        );
        assert_eq!(
            message_in(Locale::PtBr, "status-404", &[]),
            "Não encontrado"
        );
    }

    #[test]
    fn the_cookie_comes_first_then_the_setting_then_the_browser() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.append(
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            m
        };
        let open = LangSettings::default();
        let fixed = LangSettings {
            locale: Some(Locale::En),
            ..Default::default()
        };
        let browser = h(&[("accept-language", "pt-BR,pt;q=0.9")]);
        assert_eq!(choose(&browser, &open), Locale::PtBr);
        assert_eq!(choose(&browser, &fixed), Locale::En);
        let chose = h(&[("accept-language", "en"), ("cookie", "a=b; kcl_lang=pt-BR")]);
        assert_eq!(choose(&chose, &fixed), Locale::PtBr);
        // Unsupported: English.
        assert_eq!(
            choose(&h(&[("accept-language", "de-DE, fr")]), &open),
            Locale::En
        );
        assert_eq!(choose(&h(&[("cookie", "kcl_lang=xx")]), &open), Locale::En);
    }
}
