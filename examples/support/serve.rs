//! The HTTP/1.1 server loop of the example receiver, shared with
//! `examples/baselines.rs` so that the load test's receivers differ only in
//! how they handle a delivery, not in how they are served.

use std::time::Duration;

use axum::Router;

/// How long a client may take to send its request headers. Neither
/// `axum::serve` nor hyper without a timer bounds it: a client that never
/// finishes its headers would hold its connection (and a task) forever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` completes,
/// then stops accepting, lets each open connection finish its request, and
/// returns.
///
/// Each connection gets `header_read_timeout` to send the headers of each
/// request (hyper with a tokio timer; the layer bounds the body); one that
/// does not is closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), String> {
    use hyper::server::conn::http1;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    // As `axum::serve` does: a route whose handler has not been given its
    // state (`post(handler).layer(..)` on a `Router<()>`) would otherwise be
    // built, layers and all, on every request.
    let router = router.with_state::<()>(());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let (stop, stopped) = tokio::sync::watch::channel(());
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, say: keep serving the others.
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let builder = builder.clone();
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| router.clone().oneshot(request));
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection closed with an error");
            }
        });
        // Forget the connections that are done.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(());
    while connections.join_next().await.is_some() {}
    Ok(())
}
