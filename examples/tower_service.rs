//! Run with `cargo run --example tower_service`
//!
//! The same protection without axum: `WebhookLayer` in front of a plain tower
//! service, the typed [`Dispatcher`], served by hyper on `127.0.0.1:$PORT`
//! (default 3000). It receives the Petstore order events on any path; the
//! secret is `$WEBHOOK_SECRET`, or one generated and printed for the run.
//! Send it an event with
//! `cargo run --example send -- --secret SECRET --type order.completed`.
//!
//! hyper is given a tokio timer and a 10 s header-read timeout: without a
//! timer, `http1::Builder` never times out a client that does not finish its
//! request headers. The layer's default body timeout bounds the body.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::{ServiceBuilder, ServiceExt};
use tower_webhook::handler::{Dispatcher, HandlerError};
use tower_webhook::layer::ResponseBody;
use tower_webhook::scheme::Spec;
use tower_webhook::{BoxError, Event, Secret, WebhookLayer};

/// An order, as the Petstore sends it in `data`: the source article's
/// `{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    status: String,
    #[serde(default)]
    completed_at: Option<String>,
}

fn check(event: &Event<Order>) -> Result<(), HandlerError> {
    if event.data.order_id.is_empty() {
        // Will never validate: acknowledge so the sender stops retrying.
        return Err(HandlerError::permanent("order event without an orderId"));
    }
    Ok(())
}

async fn order_created(event: Event<Order>) -> Result<(), HandlerError> {
    check(&event)?;
    tracing::info!(
        event_id = event.id,
        order_id = event.data.order_id,
        status = event.data.status,
        "new order"
    );
    Ok(())
}

async fn order_completed(event: Event<Order>) -> Result<(), HandlerError> {
    check(&event)?;
    tracing::info!(
        event_id = event.id,
        order_id = event.data.order_id,
        status = event.data.status,
        completed_at = event.data.completed_at,
        "order completed"
    );
    Ok(())
}

async fn order_cancelled(event: Event<Order>) -> Result<(), HandlerError> {
    check(&event)?;
    tracing::info!(
        event_id = event.id,
        order_id = event.data.order_id,
        status = event.data.status,
        "order cancelled"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let secret = match std::env::var("WEBHOOK_SECRET") {
        Ok(secret) => secret,
        Err(_) => {
            let secret = hex::encode(rand::random::<[u8; 24]>());
            println!("No WEBHOOK_SECRET set; generated one for this run:\n\n    {secret}\n");
            secret
        }
    };
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 3000,
    };

    // hyper's `Incoming` goes straight into the layer; the `Dispatcher`
    // receives the verified bytes.
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(Spec::petstore(Secret::new(&secret)?)))
        .service(
            Dispatcher::new()
                .on("order.created", order_created)
                .on("order.completed", order_completed)
                .on("order.cancelled", order_cancelled),
        );

    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    tracing::info!(addr = %listener.local_addr()?, "receiving webhooks (tower + hyper, no axum)");
    serve(listener, service, HEADER_READ_TIMEOUT, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    tracing::info!("shut down");
    Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
}

/// How long a client may take to send its request headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `service` on `listener` until `shutdown`, each connection with
/// `header_read_timeout` for the headers of each request.
pub async fn serve<S, B>(
    listener: tokio::net::TcpListener,
    service: S,
    header_read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    S: tower::Service<Request<Incoming>, Response = http::Response<ResponseBody<B>>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => break,
        };
        let service = service.clone();
        tokio::spawn(async move {
            let hyper_service = service_fn(move |request| service.clone().oneshot(request));
            if let Err(error) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), hyper_service)
                .await
            {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    Ok(())
}
