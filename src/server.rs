//! The whole server: configuration from the environment, adapters, HTTP.

use crate::config::DatabaseConfig;
use crate::http::auth::{load_or_create, AuthSettings, TokenVerifier, Users};
use crate::http::HttpOptions;
use crate::{Config, Kcl};

/// Runs the HTTP server on the profile the environment chooses (see
/// [`config`](crate::config)) until `shutdown` completes, then finishes in-flight
/// requests, lets the in-process queue worker finish or release its tasks
/// (`KCL_WORKER=on`, the default), and closes the stores. What
/// `cargo run --example server` runs.
///
/// Errors name the variable at fault (`KCL_HTTP_ADDR=...: cannot listen: ...`).
pub async fn serve_from_env(
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = Config::from_env()?;
    let options = http_options(&config)?;
    let kcl = Kcl::open(&config).await?;
    let listener = listen(config.http_addr, config.http_backlog)
        .map_err(|e| format!("KCL_HTTP_ADDR={}: cannot listen: {e}", config.http_addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        database = %config.database.describe(),
        "KCL is serving on http://{addr}"
    );
    // One signal for the HTTP server and the in-process workers.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = config.in_process_worker.then(|| {
        let mut rx = stop_rx.clone();
        crate::workers::spawn_workers(&kcl, config.worker_concurrency, async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
    });
    let mut http_rx = stop_rx;
    let signal = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    crate::http::serve(
        listener,
        crate::http::router_with(kcl.services.clone(), options),
        async move {
            let _ = http_rx.wait_for(|stop| *stop).await;
        },
    )
    .await?;
    tracing::info!("shutting down");
    signal.abort();
    if let Some(w) = workers {
        let _ = w.await;
    }
    kcl.close().await;
    Ok(())
}

/// A listening socket on `addr` with room for `backlog` connections waiting to be
/// accepted (Tokio's `TcpListener::bind` asks for 1,024), address reuse on as
/// `bind` has it.
fn listen(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// The HTTP host's options from the configuration: authentication (generating the
/// embedded profile's secret and admin user on first start), limits and trusted
/// proxies.
///
/// Errors name the variable at fault.
pub fn http_options(config: &Config) -> Result<HttpOptions, String> {
    use crate::http::metrics::{MetricsExport, MetricsToken};
    let mut options = HttpOptions::default()
        .currency(config.currency)
        .max_in_flight(config.max_in_flight)
        .max_uploads(config.max_uploads)
        .metrics(if config.metrics {
            MetricsExport::InstallPrometheus
        } else {
            MetricsExport::Off
        })
        .trusted_proxies(crate::http::TrustedProxies::new(
            config.trusted_proxies.iter().copied(),
        ));
    if let Some(locale) = config.locale {
        options = options.locale(locale);
    }
    if let Some(token) = &config.metrics_token {
        options = options.metrics_token(
            MetricsToken::new(token).map_err(|e| format!("KCL_METRICS_TOKEN: {e}"))?,
        );
    }
    let a = &config.auth;
    if !a.enabled {
        tracing::warn!(
            "KCL_AUTH=off: every request is let through; run so only behind a gateway that authenticates"
        );
        return Ok(options);
    }
    let shared_database = matches!(config.database, DatabaseConfig::Postgres(_));
    if shared_database && a.jwt_secret.is_none() {
        return Err(
            "KCL_AUTH_JWT_SECRET is required with a PostgreSQL database: every server \
                    behind the load balancer must share it (or KCL_AUTH=off behind a gateway \
                    that authenticates)"
                .into(),
        );
    }
    // The embedded profile keeps a generated secret and admin user in its data dir.
    let stored = if !shared_database && (a.jwt_secret.is_none() || a.users_file.is_none()) {
        let first = load_or_create(&config.data_dir).map_err(|e| format!("KCL_DATA_DIR: {e}"))?;
        if let Some(password) = &first.new_admin_password {
            eprintln!(
                "\n  KCL first start: created {} with a user `admin`.\n  \
                 Its password, shown only this once (only a hash is kept): {password}\n  \
                 Log in at http://{}/login, or get an API token with POST /api/auth/token.\n",
                first.path.display(),
                config.http_addr
            );
        }
        Some(first.stored)
    } else {
        None
    };
    let secret = match (&a.jwt_secret, &stored) {
        (Some(s), _) => s.as_bytes().to_vec(),
        (None, Some(st)) => st.secret().map_err(|e| e.to_string())?,
        (None, None) => return Err("KCL_AUTH_JWT_SECRET is required".into()),
    };
    let users = match (&a.users_file, stored) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("KCL_AUTH_USERS={}: {e}", path.display()))?;
            Users::parse(&text).map_err(|e| format!("KCL_AUTH_USERS={}: {e}", path.display()))?
        }
        (None, Some(st)) => Users::new(st.users).map_err(|e| e.to_string())?,
        (None, None) => Users::default(),
    };
    if users.is_empty() {
        tracing::warn!("no users configured (KCL_AUTH_USERS): only API tokens get in");
    }
    let mut settings = AuthSettings::new(secret)
        .map_err(|e| format!("KCL_AUTH_JWT_SECRET: {e}"))?
        .users(users);
    if let Some(path) = &a.jwt_public_key {
        let pem = std::fs::read(path)
            .map_err(|e| format!("KCL_AUTH_JWT_PUBLIC_KEY={}: {e}", path.display()))?;
        let mut verifier = TokenVerifier::public_key(&a.jwt_algorithm, &pem)
            .map_err(|e| format!("KCL_AUTH_JWT_PUBLIC_KEY={}: {e}", path.display()))?;
        if let Some(iss) = &a.jwt_issuer {
            verifier = verifier.issuer(iss);
        }
        if let Some(aud) = &a.jwt_audience {
            verifier = verifier.audience(aud);
        }
        settings = settings.external_tokens(verifier);
    }
    if let Some(iss) = &a.jwt_issuer {
        settings = settings.issuer(iss);
    }
    if let Some(aud) = &a.jwt_audience {
        settings = settings.audience(aud);
    }
    settings.public_reads = a.public_reads;
    settings.session_ttl = std::time::Duration::from_secs(a.session_secs);
    settings.secure_cookies = a
        .secure_cookies
        .unwrap_or(!config.http_addr.ip().is_loopback());
    options.auth = Some(settings);
    Ok(options)
}
