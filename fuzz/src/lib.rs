//! What KCL's fuzz targets share: the HTTP server in-process (the real axum router
//! over the in-memory backend, called with `tower::ServiceExt::oneshot` on a
//! current-thread runtime built once), its seeded state, and the checks every
//! answer must pass.
//!
//! Each input gets a fresh backend with a fixed clock and sequential ids, so an input
//! that fails fails the same way when run alone (`cargo fuzz run TARGET ARTIFACT`).
//! Bodies may name the seeded objects with placeholders, replaced before sending:
//! `@BOOK@` (a book with two copies), `@JOB@` (an OCR job) and `@COVER@` (the key of
//! an uploaded cover original).

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use bytes::Bytes;
use kcl_adapters::http::auth::{AuthSettings, Role, TokenIssuer};
use kcl_adapters::http::{router_with, HttpOptions};
use kcl_core::domain::BookDraft;
use kcl_core::memory::MemoryBackend;
use kcl_core::ports::{ImageLimits, ManualClock, OcrEngine, OcrError, OcrText, SequentialIds};
use kcl_core::services::{Ports, Settings};
use kcl_core::Services;
use tower::ServiceExt;
use uuid::Uuid;

/// A small PNG (one of the thumbnailer's test fixtures).
pub const PNG: &[u8] = include_bytes!("../../kcl-core/src/testkit/fixtures/portrait.png");

/// A sales file with one valid row.
pub const SALES_CSV: &[u8] =
    b"loja;data;codigo;quantidade;preco_unitario\nS1;23/05/2026;789;2;1,50\n";

/// Largest cover, OCR job and sales file the fuzzed server takes (small, so that
/// inputs reach the size limits).
pub const UPLOAD_LIMIT: u64 = 256 * 1024;

/// The client address every request comes from.
pub const CLIENT: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7)),
    40_000,
);

/// An OCR engine for the server's OCR job routes: creating a job only needs one to
/// be configured; recognition runs in the worker, which the targets do not run.
struct NoOcr;

impl OcrEngine for NoOcr {
    fn recognize(&self, _image: &[u8]) -> Result<OcrText, OcrError> {
        Err(OcrError::Unavailable("the fuzz harness runs no OCR".into()))
    }

    fn describe(&self) -> String {
        "none (fuzz harness)".into()
    }
}

/// What a fresh backend holds before an input is sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seed {
    /// A book (ISBN 978-85-359-1066-7, two copies).
    pub book: bool,
    /// An OCR job of one image.
    pub job: bool,
    /// An uploaded cover of the book (its original only; implies `book`).
    pub cover: bool,
    /// A loaded sales file (one row, store `S1`, 2026-05-23).
    pub sales: bool,
    /// `sales/incoming/s1.csv` in the blob store, not yet loaded.
    pub incoming: bool,
}

/// A fresh backend, its services and the ids of what was seeded.
pub struct Fresh {
    /// The in-memory stores.
    pub backend: MemoryBackend,
    /// The services over them.
    pub services: Services,
    /// The seeded book's id.
    pub book: Option<Uuid>,
    /// The seeded job's id.
    pub job: Option<Uuid>,
    /// The seeded cover's original key (`uploads/{book}/{id}.png`).
    pub cover: Option<String>,
}

impl Fresh {
    /// `body` with the placeholders replaced by the seeded ids (left as they are
    /// when that object was not seeded).
    pub fn expand(&self, body: &[u8]) -> Bytes {
        if !body.contains(&b'@') {
            return Bytes::copy_from_slice(body);
        }
        let mut out = body.to_vec();
        let subst: [(&[u8], Option<String>); 3] = [
            (b"@BOOK@", self.book.map(|u| u.to_string())),
            (b"@JOB@", self.job.map(|u| u.to_string())),
            (b"@COVER@", self.cover.clone()),
        ];
        for (from, to) in subst {
            if let Some(to) = to {
                out = replace(&out, from, to.as_bytes());
            }
        }
        Bytes::from(out)
    }
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// The process-wide part of the harness: the runtime, the secret and token, the
/// spool folder, and the login routes' server.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    secret: Vec<u8>,
    /// An admin's bearer token (`Authorization: Bearer ...`).
    pub token: String,
    spool: PathBuf,
    /// The server whose login and token routes are fuzzed: kept for the whole run,
    /// so its login throttle (one failure per name, four per address in five
    /// minutes) bounds how many argon2 checks run; beyond it every attempt is
    /// answered `429` after its body is read.
    login: Router,
    /// `KCL_FUZZ_TRACE` is set: every request and its status go to stderr (to see
    /// what a corpus reaches: `-runs=0` replays it once).
    trace: bool,
}

impl Harness {
    /// Builds the harness (once per process).
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let secret = b"kcl-fuzz-secret-kcl-fuzz-secret!".to_vec();
        let token = TokenIssuer::hs256(&secret).expect("an HS256 secret").issue(
            "fuzz",
            Role::Admin,
            Duration::from_secs(10 * 365 * 24 * 3600),
        );
        let spool = std::env::temp_dir().join(format!("kcl-fuzz-spool-{}", std::process::id()));
        std::fs::create_dir_all(&spool).expect("the spool folder");
        let mut settings = AuthSettings::new(secret.clone()).expect("auth settings");
        settings.login_attempts = 1;
        let login = router_with(
            MemoryBackend::new().services(),
            HttpOptions::default()
                .metrics(kcl_adapters::http::metrics::MetricsExport::Off)
                .auth(settings),
        );
        Self {
            rt,
            secret,
            token,
            spool,
            login,
            trace: std::env::var_os("KCL_FUZZ_TRACE").is_some(),
        }
    }

    /// Runs a future on the harness's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Whether `KCL_FUZZ_TRACE` is set (see [`Harness::send`]).
    pub fn tracing(&self) -> bool {
        self.trace
    }

    /// The folder sales uploads are spooled to (the process's own).
    pub fn spool_dir(&self) -> &Path {
        &self.spool
    }

    /// A fresh backend with the fuzz settings (small upload limits, the real image
    /// validator, a fixed clock at 2026-06-01 12:00 UTC, ids 1, 2, 3, ...), seeded.
    pub async fn fresh(&self, seed: Seed) -> Fresh {
        let backend = MemoryBackend::new();
        let mut ports: Ports = backend.ports();
        ports.clock = Arc::new(ManualClock::new(
            "2026-06-01T12:00:00Z".parse().expect("a time"),
        ));
        ports.ids = Arc::new(SequentialIds::default());
        ports.thumbnailer = Some(Arc::new(kcl_media::ImageThumbnailer::default()));
        ports.ocr = Some(Arc::new(NoOcr));
        let mut settings = Settings::default();
        let limits = ImageLimits {
            max_bytes: UPLOAD_LIMIT,
            max_side: 4096,
            max_pixels: 4_000_000,
        };
        settings.covers.limits = limits;
        settings.covers.thumb_size = 64;
        settings.jobs.limits = limits;
        settings.jobs.max_images = 8;
        settings.jobs.max_total_bytes = UPLOAD_LIMIT;
        settings.sales.max_file_bytes = UPLOAD_LIMIT;
        settings.sales.spool_dir = Some(self.spool.clone());
        let services = Services::with_settings(ports, &settings);
        let mut fresh = Fresh {
            backend,
            services,
            book: None,
            job: None,
            cover: None,
        };
        let s = &fresh.services;
        if seed.book || seed.cover {
            let draft = BookDraft::builder("Dom Casmurro", "Machado de Assis", "978-85-359-1066-7")
                .year(1899)
                .copies(2)
                .build()
                .expect("a valid draft");
            let book = s.catalog.create(draft).await.expect("the seeded book");
            fresh.book = Some(book.id.0);
            if seed.cover {
                let accepted = s
                    .covers
                    .upload(book.id, Bytes::from_static(PNG))
                    .await
                    .expect("the seeded cover");
                fresh.cover = Some(accepted.key);
            }
        }
        if seed.job {
            let job = s
                .jobs
                .create("seed", vec![Bytes::from_static(PNG)])
                .await
                .expect("the seeded job");
            fresh.job = Some(job.job.id.0);
        }
        if seed.sales {
            let path = self.spool.join("seed-sales.csv");
            std::fs::write(&path, SALES_CSV).expect("the seeded sales file");
            s.sales
                .ingest_path("seed.csv", &path, Default::default())
                .await
                .expect("the seeded sales file");
            let _ = std::fs::remove_file(&path);
        }
        if seed.incoming {
            let key = kcl_core::ports::BlobKey::parse("sales/incoming/s1.csv").expect("a key");
            use kcl_core::ports::BlobStore;
            fresh
                .backend
                .blobs
                .put(&key, Bytes::from_static(SALES_CSV), "text/csv")
                .await
                .expect("the incoming sales file");
        }
        fresh
    }

    /// The full router over `services`, authentication on (the harness's secret),
    /// metrics off.
    pub fn app(&self, services: Services) -> Router {
        let settings = AuthSettings::new(self.secret.clone()).expect("auth settings");
        router_with(
            services,
            HttpOptions::default()
                .metrics(kcl_adapters::http::metrics::MetricsExport::Off)
                .auth(settings),
        )
    }

    /// The login routes' long-lived server (see [`Harness`]).
    pub fn login_app(&self) -> Router {
        self.login.clone()
    }

    /// A request as a logged-in admin's client sends it (bearer token, peer address);
    /// `None` when no HTTP client could send it (a content type with a control
    /// character, which the server's HTTP parser refuses before the router).
    pub fn request(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Body,
    ) -> Option<Request<Body>> {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "kcl.test")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let mut req = b.body(body).ok()?;
        req.extensions_mut().insert(ConnectInfo(CLIENT));
        Some(req)
    }

    /// Sends `req` to `app` and checks the answer (see [`check`]); with
    /// `KCL_FUZZ_TRACE` set, prints the request, its status and the start of the
    /// answer to stderr.
    pub async fn send(&self, app: Router, req: Request<Body>) -> Answer {
        let what = format!("{} {}", req.method(), req.uri());
        let res = app.oneshot(req).await.expect("the router is infallible");
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 64 << 20)
            .await
            .expect("the answer's body");
        let answer = Answer { status, body };
        if self.trace {
            let text = String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)]);
            eprintln!(
                "KCL_FUZZ_TRACE {what} -> {} {text:?}",
                answer.status.as_u16()
            );
        }
        check(&what, &answer);
        answer
    }

    /// Panics if a file is left in the spool folder (an upload's or a load's spool
    /// file must go when its request ends).
    pub fn assert_spool_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(&self.spool)
            .expect("the spool folder")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "files left in the spool folder: {left:?}");
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.spool);
    }
}

/// An answer of the server.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its body.
    pub body: Bytes,
}

/// The one server error a request may cause on the fuzz set-up: a PDF report, which
/// this build has no `pdf` feature for (`503 not-enabled`, documented).
fn allowed_server_error(a: &Answer) -> bool {
    a.status == StatusCode::SERVICE_UNAVAILABLE
        && String::from_utf8_lossy(&a.body).contains("PDF reports need the `pdf` feature")
}

/// Panics on an answer no input may cause: a server error (5xx; the server
/// answers `500` when a handler panics, see `CatchPanicLayer`).
pub fn check(what: &str, a: &Answer) {
    if a.status.is_server_error() && !allowed_server_error(a) {
        panic!(
            "{what} answered {}: {}",
            a.status,
            String::from_utf8_lossy(&a.body[..a.body.len().min(2000)])
        );
    }
}

/// A global allocator that counts the bytes allocated now and the most allocated
/// at once since [`PeakAlloc::reset_peak`], to bound what a request allocates.
pub struct PeakAlloc {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl PeakAlloc {
    /// A counter at zero.
    pub const fn new() -> Self {
        Self {
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated now.
    pub fn current(&self) -> usize {
        self.now.load(Ordering::Relaxed)
    }

    /// Starts a new peak from the current amount.
    pub fn reset_peak(&self) {
        self.peak.store(self.current(), Ordering::Relaxed);
    }

    /// The most allocated at once since [`Self::reset_peak`].
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn add(&self, n: usize) {
        let now = self.now.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn sub(&self, n: usize) {
        self.now.fetch_sub(n, Ordering::Relaxed);
    }
}

impl Default for PeakAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every call is forwarded to the system allocator with the same arguments;
// the counters do not affect the memory handed out.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.add(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.add(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        self.sub(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                self.add(new_size - layout.size());
            } else {
                self.sub(layout.size() - new_size);
            }
        }
        p
    }
}
