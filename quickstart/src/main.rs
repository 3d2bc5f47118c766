use axum::{routing::post, Router};
use tower_webhook::{extract::Webhook, handler::HandlerError, scheme::Spec, Event, Secret, WebhookLayer};

/// `data` of the Petstore's order events, as the source article sends them:
/// `{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    status: String,
    completed_at: Option<String>, // only on `order.completed`
}

// Runs once per event, and only for deliveries whose signature verified.
async fn orders(Webhook { event, .. }: Webhook<Event<Order>>) -> Result<(), HandlerError> {
    let order = &event.data;
    tracing::info!(event_id = %event.id, event_type = %event.event_type, order_id = %order.order_id,
        status = %order.status, completed_at = ?order.completed_at, "order event");
    Ok(()) // 200: recorded as processed; Err(HandlerError::retryable(e)) would ask for a retry
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init(); // logs at `info`: each event, and why a delivery was refused
    let secret = Secret::new(std::env::var("WEBHOOK_SECRET")?)?;
    let app = Router::new()
        .route("/webhooks", post(orders))
        .layer(WebhookLayer::new(Spec::petstore(secret)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
