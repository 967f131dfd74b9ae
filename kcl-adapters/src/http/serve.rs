//! Serving a router on a TCP listener, with the connection-level bounds a server
//! facing anonymous clients needs: a deadline for a request's headers and for each
//! piece of its body, so a client that sends slowly cannot hold a connection, or a
//! request slot, for long; graceful shutdown; the peer address for each request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// Connection-level timeouts of [`serve_with`].
///
/// ```
/// use std::time::Duration;
/// let t = kcl_adapters::http::ServeTimeouts::default().header_read(Duration::from_secs(5));
/// assert_eq!(t.header_read, Duration::from_secs(5));
/// assert_eq!(t.body_frame, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeTimeouts {
    /// How long a client may take to send a request's headers, from its first byte
    /// (HTTP/1); past it the connection is closed. Default 10 s.
    pub header_read: Duration,
    /// The longest pause between two pieces of a request's body; past it the body
    /// ends in an error (the request is refused). Default 10 s. The request as a
    /// whole has its own deadline (30 s, 10 minutes for uploads).
    pub body_frame: Duration,
}

impl Default for ServeTimeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_frame: Duration::from_secs(10),
        }
    }
}

impl ServeTimeouts {
    /// Sets [`header_read`](Self::header_read).
    pub fn header_read(mut self, timeout: Duration) -> Self {
        self.header_read = timeout;
        self
    }

    /// Sets [`body_frame`](Self::body_frame).
    pub fn body_frame(mut self, timeout: Duration) -> Self {
        self.body_frame = timeout;
        self
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting
/// connections and drains in-flight requests (a load balancer's deregistration). The
/// peer address is passed on, for limiting failed logins per client (see
/// [`client_addr`](super::client_addr) behind a load balancer). HTTP/1 and HTTP/2,
/// with the default [`ServeTimeouts`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, shutdown, ServeTimeouts::default()).await
}

/// [`serve`] with other timeouts.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeouts: ServeTimeouts,
) -> std::io::Result<()> {
    // Dropping the receiver tells every connection to finish its requests and close.
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(stop_rx);
    });
    // Each connection holds a receiver; all gone means all closed.
    let (closed_tx, closed_rx) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: go on after a pause rather than spin or stop.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop_tx.closed() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = tower::ServiceBuilder::new()
            .layer(RequestBodyTimeoutLayer::new(timeouts.body_frame))
            .layer(axum::Extension(ConnectInfo::<SocketAddr>(peer)))
            .service(router.clone());
        let service = TowerToHyperService::new(service);
        let (stop_tx, closed_rx) = (stop_tx.clone(), closed_rx.clone());
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read);
            builder.http2().timer(TokioTimer::new());
            let mut conn =
                pin!(builder.serve_connection_with_upgrades(TokioIo::new(stream), service));
            let mut stopping = pin!(stop_tx.closed());
            let mut draining = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = &mut stopping, if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(closed_rx);
        });
    }
    drop(closed_rx);
    drop(listener);
    closed_tx.closed().await;
    Ok(())
}
