//! The web UI end to end in a real headless Chromium, driven over WebDriver
//! (`chromedriver`, started here): log in (a wrong password first), add a book,
//! upload its cover and see the thumbnail, rent and return copies, read an image's
//! text in an OCR job (with the `tesseract` feature), load a sales file, see its
//! summary and download a report, log out. The server is the embedded SQLite profile
//! with authentication on and its queue workers in-process, as `serve_from_env` runs.
//! Every page is checked for Content-Security-Policy violations (a listener set up
//! before each document loads records them), and a page whose work is running is
//! seen reloading itself under that policy.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/ci.sh` installs them);
//! without them the test prints `skipped: ...` and passes, unless
//! `KCL_TEST_REQUIRE_ALL=1`. With `KCL_SCREENSHOTS=dir` it saves a PNG of each page
//! there (`docs/screenshots/` holds the README's).
//!
//! ```sh
//! OMP_THREAD_LIMIT=1 KCL_SCREENSHOTS=docs/screenshots cargo test --features tesseract --test e2e_browser
//! ```
#![cfg(all(feature = "http", feature = "local"))]

use std::collections::HashMap;
use std::io::Cursor;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use kcl::http::auth::{hash_password, AuthSettings, Users};
use kcl::http::{router_with, HttpOptions};
use kcl::{Config, Kcl};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const USER: &str = "ana";
const PASSWORD: &str = "ana's long passphrase";

/// How long a page may take to show what the test waits for (thumbnails and OCR run
/// in the background; the pages reload themselves every 2 s meanwhile).
const SLOW: Duration = Duration::from_secs(30);
/// How long an ordinary page may take.
const QUICK: Duration = Duration::from_secs(10);

/// The browser and its driver, or `None` (the test skips) when either is missing;
/// a panic then instead when `KCL_TEST_REQUIRE_ALL=1`.
fn browser_present() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} missing (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    kcl_core::testkit::services::skip(why);
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `chromedriver` process (in a process group of its own, with the browsers it
/// starts), killed on drop, also when the test panics.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    fn start() -> Self {
        Self::start_in("en_US")
    }

    /// Its browsers in `language` (`LANGUAGE`, as `pt_BR`): with Debian's
    /// `chromium-l10n`, their own words and how date fields show dates.
    fn start_in(language: &str) -> Self {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .env("LANGUAGE", language)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let me = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + QUICK;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        me
    }

    /// A headless Chromium session in language `lang` (its `Accept-Language`, and
    /// how it shows dates in forms) that saves downloads in `downloads`.
    async fn session(&self, downloads: &Path, lang: &str) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         format!("--lang={lang}")],
                "prefs": {
                    "intl.accept_languages": lang,
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session through chromedriver");
        // The window holds (headless) browser chrome too: make the page 1280x900.
        let v = c
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .unwrap();
        let (w, h) = c.get_window_size().await.unwrap();
        let inner = |i: usize| v[i].as_u64().unwrap_or(0);
        let (dw, dh) = (w.saturating_sub(inner(0)), h.saturating_sub(inner(1)));
        c.set_window_size((1280 + dw) as u32, (900 + dh) as u32)
            .await
            .unwrap();
        // Every document, before its own content runs, records Content-Security-Policy
        // violations in the tab's session storage (kept across navigations).
        c.issue_cmd(Cdp {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": CSP_LISTENER }),
        })
        .await
        .expect("a script on every new document");
        c
    }
}

/// Records each Content-Security-Policy violation as `directive blocked-uri at path`
/// in `sessionStorage["kcl-csp"]`.
const CSP_LISTENER: &str = "document.addEventListener('securitypolicyviolation', function (e) {
  try {
    const seen = JSON.parse(sessionStorage.getItem('kcl-csp') || '[]');
    seen.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' at ' + location.pathname);
    sessionStorage.setItem('kcl-csp', JSON.stringify(seen));
  } catch (_) {}
});";

/// A Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any browser it left running.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server: the embedded SQLite profile in a temp dir, authentication on (one
/// admin), the thumbnail and OCR workers in-process, on a loopback port.
struct Server {
    base: String,
    kcl: Kcl,
    stop: tokio::sync::watch::Sender<bool>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(true).await
    }

    /// `workers: false`: no queue worker, so covers stay pending.
    async fn start_with(workers: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let vars = HashMap::from([("KCL_DATA_DIR".to_owned(), dir.path().display().to_string())]);
        let kcl = Kcl::open(&Config::from_vars(&vars).unwrap()).await.unwrap();
        let users = Users::parse(&format!(
            "{USER}:admin:{}\n",
            hash_password(PASSWORD).unwrap()
        ))
        .unwrap();
        let mut auth =
            AuthSettings::new(b"the e2e test's secret, thirty-two bytes or more".to_vec())
                .unwrap()
                .users(users);
        auth.secure_cookies = false;
        let app = router_with(kcl.services.clone(), HttpOptions::default().auth(auth));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut rx = stopped.clone();
        let workers = match workers {
            true => kcl::spawn_workers(&kcl, 1, async move {
                let _ = rx.wait_for(|s| *s).await;
            }),
            false => tokio::spawn(async {}),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut rx = stopped;
        let http = tokio::spawn(kcl::http::serve(listener, app, async move {
            let _ = rx.wait_for(|s| *s).await;
        }));
        Self {
            base,
            kcl,
            stop,
            http,
            workers,
            _dir: dir,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(QUICK, self.http).await;
        let _ = tokio::time::timeout(Duration::from_secs(30), self.workers).await;
        self.kcl.close().await;
    }
}

/// The new-book form of the catalog page.
const NEW_BOOK_FORM: &str = "form[action^='/ui/books?csrf=']";

/// The browser as a user drives it, with waits that poll until a deadline.
struct Ui {
    c: Client,
    base: String,
    shots: Option<PathBuf>,
}

impl Ui {
    async fn go(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The current URL's path and query.
    async fn at(&self) -> String {
        let u = self.c.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    /// Fails the test, saying where the browser is and what it shows.
    async fn fail(&self, what: &str) -> ! {
        let at = self.at().await;
        let text = match self.c.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        };
        panic!("{what}\n  at {at}\n  the page says:\n{text}");
    }

    /// What `probe` finds, asked every `every` until `within` has passed; then the
    /// test fails saying `failure`.
    async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
        &self,
        within: Duration,
        every: Duration,
        failure: &str,
        mut probe: impl FnMut() -> F,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            if Instant::now() > deadline {
                self.fail(failure).await;
            }
            tokio::time::sleep(every).await;
        }
    }

    /// The first element `locator` (`what`) matches, once there is one.
    async fn find_by(&self, locator: Locator<'_>, what: &str) -> Element {
        let failure = format!("nothing matches `{what}`");
        let every = Duration::from_millis(100);
        self.wait_for(QUICK, every, &failure, || async move {
            self.c.find(locator).await.ok()
        })
        .await
    }

    /// The first element `css` matches, once there is one.
    async fn find(&self, css: &str) -> Element {
        self.find_by(Locator::Css(css), css).await
    }

    async fn find_x(&self, xpath: &str) -> Element {
        self.find_by(Locator::XPath(xpath), xpath).await
    }

    /// Fills the inputs of the new-book form with a novel by Machado de Assis
    /// (ISBN 978-85-359-1066-7).
    async fn fill_new_book(&self, title: &str, year: &str, price: &str, copies: &str) {
        for (field, value) in [
            ("title", title),
            ("author", "Machado de Assis"),
            ("isbn", "978-85-359-1066-7"),
            ("category", "Novel"),
            ("year", year),
            ("price", price),
            ("copies", copies),
        ] {
            self.fill(&format!("{NEW_BOOK_FORM} input[name={field}]"), value)
                .await;
        }
    }

    /// Types `text` into the field `css`, replacing what it held.
    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Chooses `file` in the file input `css`.
    async fn choose_file(&self, css: &str, file: &Path) {
        let e = self.find(css).await;
        e.send_keys(&file.display().to_string()).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn click_x(&self, xpath: &str) {
        self.find_x(xpath).await.click().await.unwrap();
    }

    /// Waits until an element that `css` matches contains `needle`, the page
    /// reloading itself or not; returns that element's text.
    async fn wait_text(&self, css: &str, needle: &str, within: Duration) -> String {
        let failure = format!("no `{css}` says {needle:?} after {within:?}");
        let every = Duration::from_millis(200);
        self.wait_for(within, every, &failure, || async move {
            for e in self.c.find_all(Locator::Css(css)).await.ok()? {
                if let Ok(t) = e.text().await {
                    if t.contains(needle) {
                        return Some(t);
                    }
                }
            }
            None
        })
        .await
    }

    /// Waits until the script `js` (an expression) is true.
    async fn wait_js(&self, js: &str, what: &str, within: Duration) {
        let failure = format!("{what}: not after {within:?}");
        let script = format!("return !!({js});");
        let every = Duration::from_millis(200);
        self.wait_for(within, every, &failure, || async {
            let v = self.c.execute(&script, vec![]).await;
            matches!(v, Ok(serde_json::Value::Bool(true))).then_some(())
        })
        .await;
    }

    /// Waits until the browser is at a path starting with `prefix`; returns it.
    async fn wait_at(&self, prefix: &str) -> String {
        let failure = format!("expected to be at {prefix}...");
        let every = Duration::from_millis(100);
        self.wait_for(QUICK, every, &failure, || async move {
            let at = self.at().await;
            at.starts_with(prefix).then_some(at)
        })
        .await
    }

    /// The Content-Security-Policy violations recorded in this tab so far.
    async fn csp_violations(&self) -> Vec<String> {
        let v = self
            .c
            .execute(
                "return JSON.parse(sessionStorage.getItem('kcl-csp') || '[]');",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(v).unwrap_or_default()
    }

    /// Fails when a page so far broke its Content-Security-Policy.
    async fn no_csp_violations(&self, after: &str) {
        let seen = self.csp_violations().await;
        if !seen.is_empty() {
            self.fail(&format!("CSP violations after {after}: {seen:?}"))
                .await;
        }
    }

    async fn heading(&self) -> String {
        self.find("h1").await.text().await.unwrap()
    }

    /// Saves the viewport as `name.png` when `KCL_SCREENSHOTS` names a directory.
    async fn shot(&self, name: &str) {
        let Some(dir) = &self.shots else { return };
        // Pages have no animations; let fonts and images settle.
        self.wait_js(
            "document.readyState === 'complete' && [...document.images].every(i => i.complete)",
            "page loaded",
            QUICK,
        )
        .await;
        let png = self.c.screenshot().await.unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// A book cover: a JPEG of bands of colour with a title block.
fn cover_jpeg() -> Vec<u8> {
    let (w, h) = (600u32, 900u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let block = (80..520).contains(&x) && (140..360).contains(&y);
        if block {
            image::Rgb([245, 240, 225])
        } else if y > 700 {
            image::Rgb([120, 30, 40])
        } else {
            image::Rgb([
                (30 + x * 60 / w) as u8,
                (60 + y * 80 / h) as u8,
                (110 + (x + y) * 60 / (w + h)) as u8,
            ])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A small valid sales file (see docs/sales.md), all sold today.
fn sales_csv() -> String {
    let today = chrono::Utc::now().date_naive();
    format!(
        "store_id,sale_date,receipt_id,sku,product_name,quantity,unit_price,total\n\
         loja-01,{today},r-1001,BK-0001,Dom Casmurro,2,39.90,79.80\n\
         loja-01,{today},r-1002,BK-0002,Quincas Borba,1,45.50,45.50\n\
         loja-02,{today},r-2001,BK-0001,Dom Casmurro,1,39.90,39.90\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_in_a_real_browser() {
    if !browser_present() {
        return;
    }
    let started = Instant::now();
    let server = Server::start().await;
    let driver = Chromedriver::start();
    let pt_driver = Chromedriver::start_in("pt_BR");
    let files = tempfile::tempdir().unwrap();
    let downloads = files.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let shots = std::env::var_os("KCL_SCREENSHOTS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let ui = Ui {
        c: driver.session(&downloads, "en-US").await,
        base: server.base.clone(),
        shots: shots.clone(),
    };
    // A second browser whose language is Brazilian Portuguese.
    let pt = Ui {
        c: pt_driver.session(&downloads, "pt-BR").await,
        base: server.base.clone(),
        shots,
    };
    let flow = flow(&ui, &pt, files.path(), &downloads);
    run_then_stop(&[&ui, &pt], vec![driver, pt_driver], server, flow).await;
    println!("the browser flow took {:.1?}", started.elapsed());
}

/// Runs `flow` in the browser session of `ui`, then closes that session,
/// chromedriver and the server whatever happened; a panic of `flow` is the test's.
async fn run_then_stop(
    uis: &[&Ui],
    drivers: Vec<Chromedriver>,
    server: Server,
    flow: impl std::future::Future<Output = ()>,
) {
    let outcome = AssertUnwindSafe(flow).catch_unwind().await;
    for ui in uis {
        let _ = ui.c.clone().close().await;
    }
    drop(drivers);
    server.stop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A page whose work is running reloads itself every 2 s under the
/// Content-Security-Policy (its script is a file), and holds still while the user
/// fills in a form. Without a queue worker, a cover stays pending and its book page
/// live.
#[cfg(feature = "media")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_page_reloads_itself_under_the_csp() {
    if !browser_present() {
        return;
    }
    let server = Server::start_with(false).await;
    let driver = Chromedriver::start();
    let files = tempfile::tempdir().unwrap();
    let ui = Ui {
        c: driver.session(files.path(), "en-US").await,
        base: server.base.clone(),
        shots: None,
    };
    run_then_stop(&[&ui], vec![driver], server, live_page(&ui, files.path())).await;
}

#[cfg(feature = "media")]
async fn live_page(ui: &Ui, files: &Path) {
    login(ui).await;
    ui.fill_new_book("Quincas Borba", "1891", "45.50", "1")
        .await;
    ui.click(&format!("{NEW_BOOK_FORM} button[type=submit]"))
        .await;
    let book = ui.wait_at("/books/").await;
    let cover = files.join("cover.jpg");
    std::fs::write(&cover, cover_jpeg()).unwrap();
    ui.choose_file("form[action*='/cover?csrf='] input[type=file]", &cover)
        .await;
    ui.click("form[action*='/cover?csrf='] button[type=submit]")
        .await;
    ui.wait_at(&book).await;
    ui.wait_js(
        "'live' in document.body.dataset",
        "the book page is live while its cover waits",
        QUICK,
    )
    .await;
    // A mark on the window goes with a reload.
    let mark = "window.kclMark = 1; return true;";
    ui.c.execute(mark, vec![]).await.unwrap();
    ui.wait_js(
        "window.kclMark === undefined && document.readyState === 'complete'",
        "the page reloads itself",
        QUICK,
    )
    .await;
    assert_eq!(ui.at().await, book);
    // Typing in a form holds it: no reload for more than two periods.
    ui.fill("form[action*='/rent?csrf='] input[name=renter]", "Rubião")
        .await;
    ui.c.execute(mark, vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let kept =
        ui.c.execute("return window.kclMark === 1;", vec![])
            .await
            .unwrap();
    assert_eq!(kept, json!(true), "a page being filled in is not reloaded");
    ui.no_csp_violations("a live page").await;
}

async fn flow(ui: &Ui, pt: &Ui, files: &Path, downloads: &Path) {
    login(ui).await;
    ui.no_csp_violations("logging in").await;
    csp_is_enforced(ui).await;
    let book = catalog_and_cover(ui, files).await;
    ui.no_csp_violations("the catalog and a cover").await;
    rent_and_return(ui, &book).await;
    most_rented_pages(ui).await;
    ocr(ui).await;
    ui.no_csp_violations("rentals and OCR").await;
    sales(ui, files, downloads).await;
    languages(ui, pt).await;
    ui.no_csp_violations("switching languages").await;
    audit(ui).await;
    ui.go("/api/docs").await;
    ui.wait_text("h1", "API", QUICK).await;
    ui.go("/").await;
    logout(ui).await;
    ui.no_csp_violations("sales, the API page and logging out")
        .await;
}

/// The policy is in force, and the listener sees what it blocks: an inline script
/// added to the page does not run and is recorded (then forgotten, for the checks
/// that follow). The page's own style sheet applies.
async fn csp_is_enforced(ui: &Ui) {
    ui.c.execute(
        "const s = document.createElement('script'); s.textContent = 'window.kclInline = 1'; \
         document.head.appendChild(s);",
        vec![],
    )
    .await
    .unwrap();
    ui.wait_js(
        "JSON.parse(sessionStorage.getItem('kcl-csp') || '[]').length > 0",
        "an inline script is reported as a violation",
        QUICK,
    )
    .await;
    let seen = ui.csp_violations().await;
    assert!(seen[0].starts_with("script-src"), "{seen:?}");
    let ran =
        ui.c.execute("return window.kclInline === 1;", vec![])
            .await
            .unwrap();
    assert_eq!(ran, json!(false), "the inline script was blocked");
    ui.c.execute("sessionStorage.removeItem('kcl-csp');", vec![])
        .await
        .unwrap();
    let width =
        ui.c.execute("return getComputedStyle(document.body).maxWidth;", vec![])
            .await
            .unwrap();
    assert_ne!(width, json!("none"), "app.css styles the page");
}

/// A page behind the login sends the browser to it; a wrong password says so; the
/// right one goes on to the page first asked for.
async fn login(ui: &Ui) {
    ui.go("/").await;
    let at = ui.wait_at("/login").await;
    assert!(at.contains("next="), "{at}");
    assert_eq!(ui.heading().await, "Log in");
    ui.shot("login").await;

    ui.fill("input[name=username]", USER).await;
    ui.fill("input[name=password]", "not the password").await;
    ui.click("form[action='/login'] button[type=submit]").await;
    ui.wait_text("div.error[role=alert]", "Wrong name or password.", QUICK)
        .await;
    assert!(ui.at().await.starts_with("/login"));

    ui.fill("input[name=username]", USER).await;
    ui.fill("input[name=password]", PASSWORD).await;
    ui.click("form[action='/login'] button[type=submit]").await;
    ui.wait_text("h1", "Catalog", QUICK).await;
    assert_eq!(ui.at().await, "/");
    ui.wait_text("nav", &format!("{USER} (admin)"), QUICK).await;
}

/// Adds a book through the form, finds it by searching, uploads a cover and waits
/// for the thumbnail on the book page (which reloads itself until it is made).
/// Returns the book page's path.
async fn catalog_and_cover(ui: &Ui, files: &Path) -> String {
    ui.wait_text("td.muted", "No books match.", QUICK).await;
    let form = NEW_BOOK_FORM;
    ui.fill_new_book("Dom Casmurro", "1899", "39.90", "2").await;
    ui.fill(
        &format!("{form} textarea[name=summary]"),
        "Bento Santiago looks back on his life and his jealousy of Capitu.",
    )
    .await;
    ui.click(&format!("{form} button[type=submit]")).await;
    let book = ui.wait_at("/books/").await;
    assert_eq!(ui.heading().await, "Dom Casmurro");
    ui.wait_text("p", "2 of 2 copies available", QUICK).await;
    ui.wait_text("p.muted", "No cover yet.", QUICK).await;

    // Listed in the catalog, and found by a search.
    ui.click_x("//nav/a[normalize-space()='Catalog']").await;
    ui.wait_text("h1", "Catalog", QUICK).await;
    ui.wait_text("tbody tr", "Machado de Assis", QUICK).await;
    ui.fill("input[name=q]", "casmurro").await;
    ui.click_x("//form[@action='/']//button[normalize-space()='Search']")
        .await;
    ui.wait_at("/?q=casmurro").await;
    ui.wait_text("tbody tr", "Dom Casmurro", QUICK).await;
    ui.fill("input[name=q]", "no such book anywhere").await;
    ui.click_x("//form[@action='/']//button[normalize-space()='Search']")
        .await;
    ui.wait_text("td.muted", "No books match.", QUICK).await;
    ui.go("/").await;
    ui.click_x("//tbody//a[normalize-space()='Dom Casmurro']")
        .await;
    ui.wait_at(&book).await;

    // The cover: uploaded, then its thumbnail appears without the user reloading.
    let cover = files.join("cover.jpg");
    std::fs::write(&cover, cover_jpeg()).unwrap();
    ui.choose_file("form[action*='/cover?csrf='] input[type=file]", &cover)
        .await;
    ui.click("form[action*='/cover?csrf='] button[type=submit]")
        .await;
    ui.wait_js(
        "(() => { const i = document.querySelector('img[alt=\"Cover of Dom Casmurro\"]'); \
         return i && i.complete && i.naturalWidth > 0; })()",
        "the cover's thumbnail shows on the book page",
        SLOW,
    )
    .await;
    assert_eq!(ui.at().await, book);
    ui.shot("book").await;

    ui.go("/").await;
    ui.wait_js(
        "[...document.querySelectorAll('tbody img')].some(i => i.complete && i.naturalWidth > 0)",
        "the thumbnail shows in the catalog",
        QUICK,
    )
    .await;
    // Where the page is in the listing, and how many books there are.
    ui.wait_text("p.pages", "1-1 of 1", QUICK).await;
    ui.shot("catalog").await;
    on_a_phone(ui).await;
    book
}

/// The catalog on a phone's width (390 CSS pixels): nothing wider than the screen
/// but the table, which scrolls within itself; then back to the desktop size.
async fn on_a_phone(ui: &Ui) {
    let size = |ui: &Ui| {
        let c = ui.c.clone();
        async move {
            let v = c
                .execute("return [window.innerWidth, window.outerWidth];", vec![])
                .await
                .unwrap();
            (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
        }
    };
    let (w, h) = ui.c.get_window_size().await.unwrap();
    let (inner, outer) = size(ui).await;
    let chrome = outer.saturating_sub(inner);
    ui.c.set_window_size((390 + chrome) as u32, h as u32)
        .await
        .unwrap();
    ui.go("/").await;
    ui.wait_text("h1", "Catalog", QUICK).await;
    let wide = ui
        .c
        .execute(
            "return [...document.querySelectorAll('body > *')]\
             .filter(e => e.tagName !== 'TABLE' && e.getBoundingClientRect().right > window.innerWidth + 1)\
             .map(e => e.tagName);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        wide,
        serde_json::json!([]),
        "nothing but tables wider than a phone"
    );
    ui.shot("phone").await;
    ui.c.set_window_size(w as u32, h as u32).await.unwrap();
}

/// Rents both copies on the book page, returns one, and sees each in the rentals
/// pages.
async fn rent_and_return(ui: &Ui, book: &str) {
    ui.go(book).await;
    for renter in ["Bento Santiago", "Capitu"] {
        ui.fill("form[action*='/rent?csrf='] input[name=renter]", renter)
            .await;
        ui.click("form[action*='/rent?csrf='] button[type=submit]")
            .await;
        ui.wait_text("table tbody", renter, QUICK).await;
    }
    ui.wait_text("p", "0 of 2 copies available", QUICK).await;
    // No copy left: no rent form.
    assert!(ui
        .c
        .find(Locator::Css("form[action*='/rent?csrf=']"))
        .await
        .is_err());

    ui.click_x("//tr[td[normalize-space()='Bento Santiago']]//button[normalize-space()='Return']")
        .await;
    ui.wait_text("p", "1 of 2 copies available", QUICK).await;
    let row = ui
        .wait_text("table tbody tr", "Bento Santiago", QUICK)
        .await;
    assert!(row.contains("returned"), "{row}");
    let row = ui.wait_text("table tbody tr", "Capitu", QUICK).await;
    assert!(row.contains("active") && row.contains("Return"), "{row}");

    ui.click_x("//nav/a[normalize-space()='Rentals']").await;
    ui.wait_text("h1", "Rentals", QUICK).await;
    ui.wait_text("p.muted", "No rentals here.", QUICK).await; // overdue: none
    ui.click_x("//a[normalize-space()='Returned']").await;
    ui.wait_at("/rentals?status=returned").await;
    ui.wait_text("tbody tr", "Bento Santiago", QUICK).await;
    ui.click_x("//a[normalize-space()='Out']").await;
    ui.wait_at("/rentals?status=active").await;
    let row = ui.wait_text("tbody tr", "Capitu", QUICK).await;
    assert!(!row.contains("Bento"), "{row}");
    ui.shot("rentals").await;
    // The link goes back to the book.
    ui.click_x("//tr[td[normalize-space()='Capitu']]//a[normalize-space()='book']")
        .await;
    ui.wait_at(book).await;
}

/// A second book: "Most rented" puts the rented one first, and pages of one book
/// go forward and back, saying where they are.
async fn most_rented_pages(ui: &Ui) {
    ui.go("/").await;
    for (field, value) in [
        ("title", "Memórias Póstumas"),
        ("author", "Machado de Assis"),
        ("isbn", "9780306406157"),
        ("category", "Novel"),
        ("year", "1881"),
        ("price", "29.90"),
        ("copies", "1"),
    ] {
        ui.fill(&format!("{NEW_BOOK_FORM} input[name={field}]"), value)
            .await;
    }
    ui.click(&format!("{NEW_BOOK_FORM} button[type=submit]"))
        .await;
    ui.wait_at("/books/").await;
    assert_eq!(ui.heading().await, "Memórias Póstumas");
    ui.go("/?sort=-rentals&limit=1").await;
    ui.wait_text("tbody tr", "Dom Casmurro", QUICK).await;
    ui.wait_text("p.pages", "1-1 of 2", QUICK).await;
    ui.click_x("//a[normalize-space()='Next page →']").await;
    ui.wait_text("tbody tr", "Memórias Póstumas", QUICK).await;
    ui.wait_text("p.pages", "2-2 of 2", QUICK).await;
    ui.click_x("//a[normalize-space()='← Previous page']").await;
    ui.wait_text("tbody tr", "Dom Casmurro", QUICK).await;
    ui.wait_text("p.pages", "1-1 of 2", QUICK).await;
}

/// An image of printed text uploaded as an OCR job; the job page reloads itself
/// until the text is read.
#[cfg(feature = "tesseract")]
async fn ocr(ui: &Ui) {
    let image =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("kcl-media/tests/fixtures/ocr/two-lines.png");
    ui.click_x("//nav/a[normalize-space()='OCR jobs']").await;
    ui.wait_text("h1", "OCR jobs", QUICK).await;
    ui.wait_text("td.muted", "No jobs yet.", QUICK).await;
    ui.fill("input[name=name]", "A scanned page").await;
    ui.choose_file("input[name=images]", &image).await;
    ui.click_x("//button[normalize-space()='Read the text']")
        .await;
    let job = ui.wait_at("/jobs/").await;
    assert_eq!(ui.heading().await, "A scanned page");
    let text = ui
        .wait_text("pre", "The quick brown fox jumps over 13 lazy dogs.", SLOW)
        .await;
    assert!(text.contains("KCL reads this text."), "{text}");
    ui.wait_text("p", "Status DONE", QUICK).await;
    // The processing log: the image went to PROCESSING, then was read.
    ui.wait_text("h2", "Processing log", QUICK).await;
    ui.wait_text("ol.log li", "image 1: processing", QUICK)
        .await;
    let done = ui.wait_text("ol.log li", "image 1: done", QUICK).await;
    assert!(
        done.contains("confidence") && done.ends_with(" s"),
        "{done}"
    );
    ui.shot("job").await;

    ui.click_x("//nav/a[normalize-space()='OCR jobs']").await;
    let row = ui.wait_text("tbody tr", "A scanned page", QUICK).await;
    assert!(row.contains("DONE"), "{row}");
    ui.shot("jobs").await;
    ui.click_x("//tbody//a[normalize-space()='A scanned page']")
        .await;
    ui.wait_at(&job).await;
}

/// Without an engine the jobs page says how to enable OCR.
#[cfg(not(feature = "tesseract"))]
async fn ocr(ui: &Ui) {
    ui.click_x("//nav/a[normalize-space()='OCR jobs']").await;
    ui.wait_text("div.error", "cargo feature `tesseract`", QUICK)
        .await;
}

/// Loads a sales file, sees the report of the load and the period's summary, and
/// downloads the period's report.
async fn sales(ui: &Ui, files: &Path, downloads: &Path) {
    let csv = files.join("sales-today.csv");
    std::fs::write(&csv, sales_csv()).unwrap();
    ui.click_x("//nav/a[normalize-space()='Sales']").await;
    ui.wait_text("h1", "Sales", QUICK).await;
    ui.wait_text("td.muted", "No sales in this period.", QUICK)
        .await;
    ui.choose_file("form[action^='/ui/sales?csrf='] input[name=file]", &csv)
        .await;
    ui.click("form[action^='/ui/sales?csrf='] button[type=submit]")
        .await;
    ui.wait_text("h1", "Sales file", QUICK).await;
    ui.wait_text("p", "Loaded. 3 of 3 rows.", QUICK).await;
    ui.wait_text("tr", "sales-today.csv", QUICK).await;

    ui.click_x("//a[normalize-space()='← Sales']").await;
    ui.wait_at("/sales").await;
    ui.wait_text("h1", "Sales", QUICK).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let row = ui.wait_text("tbody tr", &today, QUICK).await;
    assert!(row.contains("165.20"), "{row}");
    let total = ui.wait_text("tfoot tr", "Total", QUICK).await;
    assert!(total.contains('3') && total.contains("165.20"), "{total}");
    // The charts: the day's point says its revenue, the bars their stores'.
    let day = ui
        .find("svg.chart[aria-labelledby^='chart-day'] desc")
        .await;
    let said = day.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(said.contains("165.20"), "{said}");
    let bars = ui
        .find("svg.chart[aria-labelledby^='chart-store'] desc")
        .await;
    let said = bars.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(
        said.contains("loja-01: R$125.30") && said.contains("loja-02"),
        "{said}"
    );
    // Grouped by store.
    ui.find("select[name=group_by]")
        .await
        .select_by_value("store")
        .await
        .unwrap();
    ui.click_x("//button[normalize-space()='Show']").await;
    ui.wait_at("/sales?").await;
    let row = ui.wait_text("tbody tr", "loja-01", QUICK).await;
    assert!(row.contains("125.30"), "{row}");
    ui.wait_text("tbody tr", "loja-02", QUICK).await;
    ui.shot("sales").await;

    // The report: the browser downloads it.
    ui.find("form[action^='/ui/sales/report?csrf='] select[name=format]")
        .await
        .select_by_value("csv")
        .await
        .unwrap();
    ui.click("form[action^='/ui/sales/report?csrf='] button[type=submit]")
        .await;
    let every = Duration::from_millis(200);
    let failure = "the report was not downloaded";
    let report = ui
        .wait_for(QUICK, every, failure, || async {
            std::fs::read_dir(downloads)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|x| x == "csv"))
        })
        .await;
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains("BK-0001") && text.contains("loja-02") && text.contains("total,,,,3,"),
        "{}: {text}",
        report.display()
    );

    // A point-of-sale export of its own shape, read through the form's own
    // format: its columns mapped, month-first dates, 5 % tax in its totals.
    let export = files.join("branch-export.csv");
    std::fs::write(
        &export,
        "Invoice ID,Branch,City,Product line,Unit price,Quantity,Tax 5%,Total,Date\n\
         750-67-8428,BR-A,Yangon,Health and beauty,74.69,7,26.1415,548.9715,1/5/2019\n\
         631-41-3108,BR-A,Yangon,Home and lifestyle,46.33,7,16.2155,340.5255,1/25/2019\n",
    )
    .unwrap();
    ui.go("/sales").await;
    ui.wait_text("h1", "Sales", QUICK).await;
    ui.choose_file("form[action^='/ui/sales?csrf='] input[name=file]", &export)
        .await;
    ui.click("form[action^='/ui/sales?csrf='] details summary")
        .await;
    ui.fill(
        "input[name=columns]",
        "store_id:Branch,sku:Product line,product_name:Product line,sale_date:Date,receipt_id:Invoice ID",
    )
    .await;
    ui.find("select[name=date_order]")
        .await
        .select_by_value("mdy")
        .await
        .unwrap();
    ui.fill("input[name=tax_rate]", "5").await;
    ui.shot("sales-export-form").await;
    ui.click("form[action^='/ui/sales?csrf='] button[type=submit]")
        .await;
    ui.wait_text("h1", "Sales file", QUICK).await;
    ui.wait_text("p", "Loaded. 2 of 2 rows.", QUICK).await;
    let order = ui.wait_text("tr", "Dates read as", QUICK).await;
    assert!(order.contains("mdy"), "{order}");
    let ignored = ui.wait_text("tr", "Columns ignored", QUICK).await;
    assert!(
        ignored.contains("City") && ignored.contains("Tax 5%"),
        "{ignored}"
    );
    ui.go("/sales?from=2019-01-01&to=2019-01-31&group_by=store")
        .await;
    let head = ui.wait_text("thead tr", "Before tax", QUICK).await;
    assert!(head.contains("Tax"), "{head}");
    // 548.97 + 340.53 with tax, 26.14 + 16.22 of it tax, 522.83 + 324.31 before.
    let row = ui.wait_text("tbody tr", "BR-A", QUICK).await;
    assert!(
        row.contains("889.50") && row.contains("42.36") && row.contains("847.14"),
        "{row}"
    );
    ui.c.execute(
        "document.querySelector('table caption').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    ui.shot("sales-tax").await;

    // A single sale from the form; sent again (the browser's back, then the same
    // form), it is recorded once.
    ui.go("/sales").await;
    ui.fill(
        "form[action^='/ui/sales/single?csrf='] input[name=store_id]",
        "BR-B",
    )
    .await;
    ui.fill(
        "form[action^='/ui/sales/single?csrf='] input[name=sku]",
        "RT-1",
    )
    .await;
    ui.fill(
        "form[action^='/ui/sales/single?csrf='] input[name=quantity]",
        "2",
    )
    .await;
    ui.fill(
        "form[action^='/ui/sales/single?csrf='] input[name=unit_price]",
        "3,50",
    )
    .await;
    ui.click("form[action^='/ui/sales/single?csrf='] button[type=submit]")
        .await;
    ui.wait_text("p", "Loaded. 1 of 1 rows.", QUICK).await;
    ui.c.back().await.unwrap();
    ui.wait_text("h1", "Sales", QUICK).await;
    ui.click("form[action^='/ui/sales/single?csrf='] button[type=submit]")
        .await;
    ui.wait_text("p", "Already loaded", QUICK).await;
    ui.go("/sales?group_by=store").await;
    let row = ui.wait_text("tbody tr", "BR-B", QUICK).await;
    assert!(row.contains("7.00"), "{row}");
}

/// The languages: a browser whose language is Brazilian Portuguese gets every
/// page in it from its first (the login form), amounts in reais and dates as
/// dd/mm/aaaa; in the English browser, the language link switches to Portuguese
/// and back, kept across pages by its cookie whatever the browser's language.
async fn languages(ui: &Ui, pt: &Ui) {
    pt.go("/").await;
    pt.wait_at("/login").await;
    pt.wait_text("h1", "Entrar", QUICK).await;
    pt.fill("input[name=username]", USER).await;
    pt.fill("input[name=password]", PASSWORD).await;
    pt.click("form[action='/login'] button[type=submit]").await;
    pt.wait_text("h1", "Catálogo", QUICK).await;
    pt.wait_js(
        "document.documentElement.lang === 'pt-BR'",
        "the page says it is in Portuguese",
        QUICK,
    )
    .await;
    pt.wait_text("h2", "Adicionar um livro", QUICK).await;
    let row = pt.wait_text("tbody tr", "Dom Casmurro", QUICK).await;
    assert!(row.contains("R$ 39,90"), "{row}");
    pt.shot("catalog-pt-BR").await;
    pt.go("/sales?group_by=store").await;
    pt.wait_text("h1", "Vendas", QUICK).await;
    let row = pt.wait_text("tbody tr", "loja-01", QUICK).await;
    assert!(row.contains("R$ 125,30"), "{row}");
    let today = chrono::Utc::now()
        .date_naive()
        .format("%d/%m/%Y")
        .to_string();
    pt.wait_text("caption", &today, QUICK).await;
    let bars = pt
        .find("svg.chart[aria-labelledby^='chart-store'] desc")
        .await;
    let said = bars.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(said.contains("loja-01: R$ 125,30"), "{said}");
    pt.shot("sales-pt-BR").await;
    // The charts and the table beneath them.
    pt.c.execute("document.querySelector('figure').scrollIntoView();", vec![])
        .await
        .unwrap();
    pt.shot("sales-pt-BR-charts").await;
    pt.no_csp_violations("the pages in Portuguese").await;

    // The English browser, switched by the link.
    ui.go("/sales?group_by=store").await;
    ui.wait_text("h1", "Sales", QUICK).await;
    ui.wait_js(
        "document.documentElement.lang === 'en'",
        "the page says it is in English",
        QUICK,
    )
    .await;
    ui.click("nav a[hreflang='pt-BR']").await;
    ui.wait_text("h1", "Vendas", QUICK).await;
    // Back on the page it was on.
    assert_eq!(ui.at().await, "/sales?group_by=store");
    ui.wait_text("tbody tr", "R$ 125,30", QUICK).await;
    ui.click_x("//nav/a[normalize-space()='Catálogo']").await;
    ui.wait_text("h1", "Catálogo", QUICK).await;
    ui.click("nav a[hreflang='en']").await;
    ui.wait_text("h1", "Catalog", QUICK).await;
    ui.wait_text("h2", "Add a book", QUICK).await;
}

/// The audit page: every rental of the session's book, newest first, and the sales
/// file's load, found by action.
async fn audit(ui: &Ui) {
    ui.click_x("//nav/a[normalize-space()='Audit']").await;
    ui.wait_text("h1", "Audit log", QUICK).await;
    ui.find("select[name=action]")
        .await
        .select_by_value("rented")
        .await
        .unwrap();
    ui.find("select[name=entity_type]")
        .await
        .select_by_value("book")
        .await
        .unwrap();
    ui.click_x("//button[normalize-space()='Show']").await;
    ui.wait_at("/audit?").await;
    let rows = ui.wait_text("tbody", "rented", QUICK).await;
    assert_eq!(
        rows.matches(" rented book ").count(),
        2,
        "two rentals: {rows}"
    );
    assert!(
        rows.contains("Capitu") && rows.contains("Bento Santiago"),
        "{rows}"
    );
    // The newest first: Capitu rented last.
    assert!(rows.find("Capitu") < rows.find("Bento Santiago"), "{rows}");
    ui.shot("audit").await;
    ui.find("select[name=action]")
        .await
        .select_by_value("ingested")
        .await
        .unwrap();
    ui.find("select[name=entity_type]")
        .await
        .select_by_value("")
        .await
        .unwrap();
    ui.click_x("//button[normalize-space()='Show']").await;
    let row = ui.wait_text("tbody tr", "sales-today.csv", QUICK).await;
    assert!(
        row.contains("ingested") && row.contains("sales_file"),
        "{row}"
    );
}

/// The nav's button ends the session: protected pages send the browser to log in.
async fn logout(ui: &Ui) {
    ui.click_x("//nav//button[normalize-space()='Log out']")
        .await;
    ui.wait_at("/login").await;
    ui.wait_text("h1", "Log in", QUICK).await;
    ui.go("/sales").await;
    let at = ui.wait_at("/login").await;
    assert!(at.contains("next=") && at.contains("sales"), "{at}");
    assert!(ui
        .c
        .find(Locator::Css("input[name=password]"))
        .await
        .is_ok());
}
