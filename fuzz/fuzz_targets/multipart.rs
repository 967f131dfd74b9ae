//! Multipart (and raw) upload bodies sent to every upload route (covers, OCR jobs,
//! sales files; API and web UI) through the real router as a logged-in admin, the
//! body streamed in chunks of a fuzzed size: any 4xx or 2xx is fine; a panic, a 5xx,
//! a spool file left behind, or a request that allocates far more than the upload
//! limit allows is not. The body arrives a piece at a time, as from a socket (see
//! [`Paced`]).
//!
//! The input is structured (`arbitrary`): a form of parts with fuzzed names, file
//! names, headers and bodies (bytes, a valid image or sales file, or a unit repeated
//! up to megabytes to reach the field and file limits), or raw bytes after a fixed
//! boundary header.
#![no_main]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::http::Method;
use bytes::Bytes;
use kcl_fuzz::{Harness, PeakAlloc, Seed, PNG, SALES_CSV, UPLOAD_LIMIT};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

#[derive(Debug, Arbitrary)]
enum Route {
    Cover,
    UiCover,
    Job,
    UiJob,
    Sales,
    UiSales,
}

impl Route {
    fn path(&self, query: &str) -> String {
        let base = match self {
            Self::Cover => "/api/books/@BOOK@/cover",
            Self::UiCover => "/ui/books/@BOOK@/cover",
            Self::Job => "/api/jobs",
            Self::UiJob => "/ui/jobs",
            Self::Sales => "/api/sales/files",
            Self::UiSales => "/ui/sales",
        };
        format!("{base}{query}")
    }
}

#[derive(Debug, Arbitrary)]
enum FieldName {
    File,
    Images,
    Name,
    Policy,
    Other(String),
    /// No `name` parameter at all.
    Missing,
}

/// Bytes as they are in the input (a `Vec<u8>` would take a flag byte per byte).
fn bytes(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let n = u.arbitrary_len::<u8>()?;
    Ok(u.bytes(n)?.to_vec())
}

/// The rest of the input, as it is.
fn rest(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    Ok(u.bytes(u.len())?.to_vec())
}

#[derive(Debug, Arbitrary)]
enum PartBody {
    Bytes(#[arbitrary(with = bytes)] Vec<u8>),
    Image,
    Csv,
    /// `unit` repeated `times` times (up to a few MiB).
    Repeated {
        #[arbitrary(with = bytes)]
        unit: Vec<u8>,
        times: u16,
    },
}

#[derive(Debug, Arbitrary)]
struct Part {
    name: FieldName,
    filename: Option<String>,
    content_type: Option<String>,
    /// Extra header lines, as they are (may be malformed).
    extra_headers: Option<Vec<u8>>,
    body: PartBody,
}

#[derive(Debug, Arbitrary)]
enum Boundary {
    Fixed,
    Quoted,
    Custom(String),
    /// No `boundary=` parameter.
    Missing,
}

#[derive(Debug, Arbitrary)]
enum Input {
    Form {
        route: Route,
        boundary: Boundary,
        #[arbitrary(with = bytes)]
        preamble: Vec<u8>,
        parts: Vec<Part>,
        close: bool,
        #[arbitrary(with = bytes)]
        epilogue: Vec<u8>,
        /// `?name=&policy=` on sales routes.
        query: Option<(String, String)>,
        /// The `Content-Length` to declare: none, the true one, or this.
        declared: Option<Option<u64>>,
        chunk: u16,
    },
    /// Raw bytes (the rest of the input: the seeds in `fuzz/seeds/multipart` are
    /// such forms, their first 11 bytes choosing this variant, the route, the type
    /// and the chunk size).
    Raw {
        route: Route,
        /// Sent as `multipart/form-data; boundary=XyZzY` unless false (then no type).
        multipart: bool,
        chunk: u16,
        #[arbitrary(with = rest)]
        body: Vec<u8>,
    },
}

const FIXED: &str = "XyZzY";
/// The most bytes one generated body may have.
const MAX_BODY: usize = 8 << 20;

fn part_bytes(body: &PartBody) -> Vec<u8> {
    match body {
        PartBody::Bytes(b) => b.clone(),
        PartBody::Image => PNG.to_vec(),
        PartBody::Csv => SALES_CSV.to_vec(),
        PartBody::Repeated { unit, times } => {
            let n = (unit.len() * usize::from(*times)).min(MAX_BODY);
            unit.iter().copied().cycle().take(n).collect()
        }
    }
}

/// Builds the body and its content type.
fn form(
    boundary: &Boundary,
    preamble: &[u8],
    parts: &[Part],
    close: bool,
    epilogue: &[u8],
) -> (Vec<u8>, String) {
    let b = match boundary {
        Boundary::Fixed | Boundary::Quoted | Boundary::Missing => FIXED.to_owned(),
        Boundary::Custom(s) => s.clone(),
    };
    let content_type = match boundary {
        Boundary::Quoted => format!("multipart/form-data; boundary=\"{b}\""),
        Boundary::Missing => "multipart/form-data".to_owned(),
        _ => format!("multipart/form-data; boundary={b}"),
    };
    let mut out = preamble.to_vec();
    for p in parts {
        if out.len() > MAX_BODY {
            break;
        }
        out.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data").as_bytes());
        match &p.name {
            FieldName::File => out.extend_from_slice(b"; name=\"file\""),
            FieldName::Images => out.extend_from_slice(b"; name=\"images\""),
            FieldName::Name => out.extend_from_slice(b"; name=\"name\""),
            FieldName::Policy => out.extend_from_slice(b"; name=\"policy\""),
            FieldName::Other(n) => out.extend_from_slice(format!("; name=\"{n}\"").as_bytes()),
            FieldName::Missing => {}
        }
        if let Some(f) = &p.filename {
            out.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = &p.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        if let Some(h) = &p.extra_headers {
            out.extend_from_slice(h);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part_bytes(&p.body));
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    }
    out.extend_from_slice(epilogue);
    (out, content_type)
}

/// A request body as a socket delivers it: one piece per poll, `Pending` between
/// pieces (the task woken at once). An always-ready stream would not be: the
/// multipart reader takes every piece that is ready before it hands out a field's
/// next chunk, so it would hold the whole remaining body, which over a socket it
/// never does (it gets what has arrived).
struct Paced {
    body: Bytes,
    at: usize,
    size: usize,
    arrived: bool,
}

impl futures::Stream for Paced {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.at >= self.body.len() {
            return std::task::Poll::Ready(None);
        }
        if !self.arrived {
            self.arrived = true;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        self.arrived = false;
        let end = (self.at + self.size).min(self.body.len());
        let piece = self.body.slice(self.at..end);
        self.at = end;
        std::task::Poll::Ready(Some(Ok(piece)))
    }
}

/// `body` in pieces of `chunk` bytes (at least 1, and at most 4096 pieces in all),
/// delivered as a socket delivers them (zero-copy slices).
fn chunked(body: Bytes, chunk: u16) -> Body {
    let size = usize::from(chunk).max(body.len().div_ceil(4096)).max(1);
    Body::from_stream(Paced {
        body,
        at: 0,
        size,
        arrived: false,
    })
}

fn query_string(q: &(String, String)) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!("?name={}&policy={}", enc(&q.0), enc(&q.1))
}

fuzz_target!(|input: Input| {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    let h = HARNESS.get_or_init(Harness::new);
    if h.tracing() {
        let shown = format!("{input:?}");
        eprintln!("KCL_FUZZ_TRACE input {}", &shown[..shown.len().min(3000)]);
    }
    let (route, body, content_type, declared, chunk, query) = match input {
        Input::Form {
            route,
            boundary,
            preamble,
            parts,
            close,
            epilogue,
            query,
            declared,
            chunk,
        } => {
            let (body, ct) = form(&boundary, &preamble, &parts, close, &epilogue);
            (route, body, Some(ct), declared, chunk, query)
        }
        Input::Raw {
            route,
            multipart,
            chunk,
            body,
        } => {
            let ct = multipart.then(|| format!("multipart/form-data; boundary={FIXED}"));
            (route, body, ct, None, chunk, None)
        }
    };
    let query = match (&route, &query) {
        (Route::Sales | Route::UiSales, Some(q)) => query_string(q),
        _ => String::new(),
    };
    h.block_on(async {
        let seed = Seed {
            book: matches!(route, Route::Cover | Route::UiCover),
            ..Seed::default()
        };
        let fresh = h.fresh(seed).await;
        let uri = String::from_utf8(fresh.expand(route.path(&query).as_bytes()).to_vec())
            .expect("an ASCII path");
        let body = fresh.expand(&body);
        let len = body.len();
        let Some(mut req) = h.request(Method::POST, &uri, content_type.as_deref(), chunked(body, chunk))
        else {
            return;
        };
        if let Some(n) = declared.map(|d| d.unwrap_or(len as u64)) {
            req.headers_mut()
                .insert(axum::http::header::CONTENT_LENGTH, n.into());
        }
        let app = h.app(fresh.services.clone());
        ALLOC.reset_peak();
        let before = ALLOC.current();
        h.send(app, req).await;
        let grew = ALLOC.peak().saturating_sub(before);
        // What a request may hold: the upload (up to its limit) a few times over
        // (the field, the stored copy, the image check), plus room for the router.
        let allowed = 4 * len.min(UPLOAD_LIMIT as usize + 64 * 1024) + (8 << 20);
        assert!(
            grew <= allowed,
            "{uri}: a {len}-byte body made the server allocate {grew} bytes at once (at most {allowed} expected)"
        );
    });
    h.assert_spool_empty();
});
