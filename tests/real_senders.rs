//! Deliveries exactly as the real senders build them, through the example
//! receiver's router: the source article's event verbatim, signed as the
//! article's Node code signs it, and each preset's provider with a payload
//! shaped as that provider documents it (`tests/fixtures/samples/`).

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;
#[allow(dead_code)]
#[path = "../examples/send.rs"]
mod send;

mod log_capture;
mod reliability_support;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use log_capture::Logs;
use tower::ServiceExt;

use receiver::{Config, Receiver};

/// The source article's event, byte for byte.
const ARTICLE_EVENT: &str = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;

/// The article's signing, run with Node 20 on this body and this secret:
/// `crypto.createHmac('sha256', secret).update(body).digest('hex')`.
const ARTICLE_SECRET: &str = "petstore-article-secret-0123456789";
const ARTICLE_SIGNATURE: &str = "3abf637cc2c282b240f26624efa0069f54baeb5efed3553e3c606fcb32c69d56";

fn receiver(vars: &[(&str, &str)]) -> Receiver {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_lookup(|name| Ok(vars.get(name).cloned())).unwrap();
    receiver::receiver(&config).unwrap()
}

async fn send(receiver: &Receiver, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = receiver.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// The article's request: `X-Petstore-Signature` over the raw body, and the
/// unsigned `X-Petstore-Event` hint.
fn article_request(signature: &str) -> Request<Body> {
    Request::post("/webhooks")
        .header("content-type", "application/json")
        .header("x-petstore-event", "order.completed")
        .header("x-petstore-signature", signature)
        .body(Body::from(ARTICLE_EVENT))
        .unwrap()
}

#[test]
fn the_node_signature_is_the_hmac_sha256_of_the_raw_body() {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(ARTICLE_SECRET.as_bytes()).unwrap();
    mac.update(ARTICLE_EVENT.as_bytes());
    assert_eq!(hex::encode(mac.finalize().into_bytes()), ARTICLE_SIGNATURE);
}

#[tokio::test]
async fn the_articles_event_is_handled_once_and_its_redelivery_acknowledged() {
    let logs = Logs::capture();
    let receiver = receiver(&[("WEBHOOK_SECRET", ARTICLE_SECRET)]);

    let (status, _) = send(&receiver, article_request(ARTICLE_SIGNATURE)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(receiver.stats.processed.load(Ordering::SeqCst), 1);
    let handled = logs.lines_with(&["handled", "evt_123"]);
    assert_eq!(handled.len(), 1, "{handled:?}");
    for field in [
        "event_type=\"order.completed\"",
        "order_id=\"123\"",
        "order_status=\"completed\"",
        "completed_at=\"2024-01-01T12:00:00Z\"",
        "result=\"processed\"",
    ] {
        assert!(handled[0].contains(field), "{field} missing in {}", handled[0]);
    }

    // The sender did not hear the 200 and redelivers: acknowledged, not handled.
    let (status, body) = send(&receiver, article_request(ARTICLE_SIGNATURE)).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &br#"{"duplicate":true}"#[..])
    );
    assert_eq!(receiver.stats.handled.load(Ordering::SeqCst), 1);
    assert_eq!(logs.lines_with(&["handled", "evt_123"]).len(), 1);
    assert!(receiver.guard.is_done("evt_123"));
}

/// The article's delivery, as axum hands it over, reaches the handler and
/// `Verified::body` as the same bytes in the same memory: the layer does not
/// copy a body that arrives in one piece.
#[tokio::test]
async fn the_articles_body_reaches_the_handler_without_a_copy() {
    use tower_webhook::scheme::Spec;
    use tower_webhook::{Secret, Verified, WebhookLayer};

    let sent = Bytes::from_static(ARTICLE_EVENT.as_bytes());
    let request = article_request(ARTICLE_SIGNATURE).map(|_| Body::from(sent.clone()));
    let app = axum::Router::new().route(
        "/webhooks",
        axum::routing::post(
            |axum::Extension(verified): axum::Extension<Verified>, body: Bytes| async move {
                format!("{:p} {:p}", body.as_ptr(), verified.body().as_ptr())
            },
        )
        .layer(WebhookLayer::new(Spec::petstore(
            Secret::new(ARTICLE_SECRET).unwrap(),
        ))),
    );
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer = response.into_body().collect().await.unwrap().to_bytes();
    let at = format!("{:p}", sent.as_ptr());
    assert_eq!(answer, format!("{at} {at}").as_bytes());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// However the article's delivery is cut into frames (empty ones
    /// between, trailers after, the end declared or not, as hyper declares
    /// it once `Content-Length` bytes came), the layer verifies the Node
    /// signature and the handler gets the article's bytes.
    #[test]
    fn the_articles_body_in_any_frames_reaches_the_handler_as_sent(
        cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..6),
        empties in proptest::collection::vec(proptest::prelude::any::<bool>(), 0..8),
        trailers in proptest::prelude::any::<bool>(),
        declares_end in proptest::prelude::any::<bool>(),
    ) {
        use http_body::Frame;
        use reliability_support::Frames;
        use tower_webhook::scheme::Spec;
        use tower_webhook::{Secret, Verified, WebhookLayer};

        let body = Bytes::from_static(ARTICLE_EVENT.as_bytes());
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
        at.extend([0, body.len()]);
        at.sort_unstable();
        let mut frames = std::collections::VecDeque::new();
        for (n, pair) in at.windows(2).enumerate() {
            if empties.get(n).copied().unwrap_or(false) {
                frames.push_back(Frame::data(Bytes::new()));
            }
            frames.push_back(Frame::data(body.slice(pair[0]..pair[1])));
        }
        if trailers {
            frames.push_back(Frame::trailers(http::HeaderMap::new()));
        }
        let request = article_request(ARTICLE_SIGNATURE).map(|_| Body::new(Frames { frames, declares_end }));
        let app = axum::Router::new().route(
            "/webhooks",
            axum::routing::post(
                |axum::Extension(verified): axum::Extension<Verified>, received: Bytes| async move {
                    assert_eq!(verified.body(), &received, "the handler's body is the verified one");
                    received
                },
            )
            .layer(WebhookLayer::new(Spec::petstore(Secret::new(ARTICLE_SECRET).unwrap()))),
        );
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let (status, answer) = runtime.block_on(async {
            let response = app.oneshot(request).await.unwrap();
            (response.status(), response.into_body().collect().await.unwrap().to_bytes())
        });
        proptest::prop_assert_eq!(status, StatusCode::OK);
        proptest::prop_assert_eq!(answer, body);
    }
}

#[tokio::test]
async fn the_articles_event_with_a_wrong_signature_is_refused() {
    let receiver = receiver(&[("WEBHOOK_SECRET", ARTICLE_SECRET)]);
    let mut forged = ARTICLE_SIGNATURE.to_owned();
    forged.replace_range(..1, "0");
    let (status, _) = send(&receiver, article_request(&forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(receiver.stats.handled.load(Ordering::SeqCst), 0);
}

#[test]
fn the_senders_default_event_is_the_articles_shape() {
    let args = [
        "--secret",
        ARTICLE_SECRET,
        "--id",
        "evt_123",
        "--created",
        "1710331200",
    ];
    let options = send::Options::parse(args.iter().map(|s| s.to_string()), None).unwrap();
    assert_eq!(&options.body()[..], ARTICLE_EVENT.as_bytes());
    let signer = send::signer(&options.scheme, &options.secret).unwrap();
    let headers = signer.sign_headers(&options.body(), &options.id, 0);
    assert_eq!(headers["x-petstore-signature"], ARTICLE_SIGNATURE);
}

/// A documented sample delivery from `tests/fixtures/samples/`: the headers
/// the provider sends besides its signature, and the raw body.
struct Sample {
    headers: Vec<(String, String)>,
    body: String,
}

fn sample(json: &str) -> Sample {
    let file: serde_json::Value = serde_json::from_str(json).unwrap();
    let headers = file["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect();
    Sample {
        headers,
        body: file["body"].as_str().unwrap().to_owned(),
    }
}

macro_rules! sample {
    ($name:literal) => {
        sample(include_str!(concat!("fixtures/samples/", $name, ".json")))
    };
}

impl Sample {
    fn header(&self, name: &str) -> &str {
        let (_, value) = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("sample has no {name}"));
        value
    }
}

/// A sender of one preset: the example receiver for `scheme` with `secret`,
/// and `examples/send.rs`'s signer for the same.
struct Provider {
    receiver: Receiver,
    signer: Box<dyn tower_webhook::testing::Sign + Send + Sync>,
}

impl Provider {
    fn new(scheme: &str, secret: &str) -> Self {
        Self {
            receiver: receiver(&[("WEBHOOK_SCHEME", scheme), ("WEBHOOK_SECRET", secret)]),
            signer: send::signer(scheme, secret).unwrap(),
        }
    }

    /// `sample` as the provider sends it: its documented headers, then the
    /// signature (and the id header, for schemes that carry the id in one)
    /// for event `id`, signed at `timestamp`.
    fn request(&self, sample: &Sample, id: &str, timestamp: i64) -> Request<Body> {
        let mut request = Request::post("/webhooks")
            .body(Body::from(sample.body.clone()))
            .unwrap();
        for (name, value) in &sample.headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        request
            .headers_mut()
            .extend(self.signer.sign_headers(sample.body.as_bytes(), id, timestamp));
        request
    }

    async fn deliver(&self, sample: &Sample, id: &str, timestamp: i64) -> (StatusCode, Bytes) {
        send(&self.receiver, self.request(sample, id, timestamp)).await
    }

    fn handled(&self) -> u64 {
        self.receiver.stats.handled.load(Ordering::SeqCst)
    }
}

const DUPLICATE: &[u8] = br#"{"duplicate":true}"#;

fn now() -> i64 {
    tower_webhook::testing::now()
}

#[tokio::test]
async fn github_sample_deliveries_are_handled_once_and_distinct_deliveries_with_identical_bodies_both() {
    let logs = Logs::capture();
    let github = Provider::new("github", "github-sample-secret-0123456789");
    let ping = sample!("github_ping");
    let id = ping.header("X-GitHub-Delivery").to_owned();

    let (status, _) = github.deliver(&ping, &id, now()).await;
    assert_eq!(status, StatusCode::OK);
    let lines = logs.lines_with(&["handled", &id]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(r#"event_type="ping""#), "{}", lines[0]);
    // GitHub's "Redeliver" keeps the delivery GUID: acknowledged, not handled.
    let (status, body) = github.deliver(&ping, &id, now()).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, DUPLICATE));
    assert_eq!(github.handled(), 1);

    // Two `star` `deleted` events by one user: byte-identical bodies, two
    // delivery GUIDs. Both are real events; neither may be dropped.
    let unstar = sample!("github_star_deleted");
    for (n, delivery) in [
        "3c7b0d2e-0001-11ee-8a00-000000000001",
        "3c7b0d2e-0002-11ee-8a00-000000000002",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = github.deliver(&unstar, delivery, now()).await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b""[..]), "{delivery}");
        assert_eq!(github.handled(), 2 + n as u64);
    }
    // A second ping under a new delivery id is a new event too.
    let (status, body) = github
        .deliver(&ping, "72d3162e-cc78-11e3-81ab-000000000099", now())
        .await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b""[..]));
    assert_eq!(github.handled(), 4);
}

#[tokio::test]
async fn shopify_sample_is_keyed_on_its_webhook_id_and_optionally_its_event_id() {
    let secret = "shpss_sample_secret_0123456789abcdef";
    let shopify = Provider::new("shopify", secret);
    let update = sample!("shopify_products_update");
    let second = sample!("shopify_products_update_second_subscription");
    let webhook_id = update.header("X-Shopify-Webhook-Id").to_owned();

    let (status, _) = shopify.deliver(&update, &webhook_id, now()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shopify.handled(), 1);
    assert!(shopify.receiver.guard.is_done(&webhook_id));
    // A retry keeps X-Shopify-Webhook-Id: acknowledged, not handled.
    let (status, body) = shopify.deliver(&update, &webhook_id, now()).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, DUPLICATE));
    assert_eq!(shopify.handled(), 1);

    // A second subscription to the topic gets its own delivery: another
    // X-Shopify-Webhook-Id, the same X-Shopify-Event-Id. Shopify's current
    // docs dedupe individual deliveries by the webhook id: processed.
    assert_eq!(
        second.header("X-Shopify-Event-Id"),
        update.header("X-Shopify-Event-Id")
    );
    let second_id = second.header("X-Shopify-Webhook-Id").to_owned();
    assert_ne!(second_id, webhook_id);
    let (status, body) = shopify.deliver(&second, &second_id, now()).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b""[..]));
    assert_eq!(shopify.handled(), 2);

    // Keyed on X-Shopify-Event-Id instead, the event is processed once
    // across the subscriptions.
    let by_event =
        tower_webhook::scheme::Shopify::keyed_by_event_id(tower_webhook::Secret::new(secret).unwrap());
    let guard = std::sync::Arc::new(tower_webhook::LruGuard::new(100));
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&calls);
    let app = axum::Router::new()
        .route(
            "/webhooks",
            axum::routing::post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async {}
            }),
        )
        .layer(tower_webhook::WebhookLayer::new(by_event).guard(std::sync::Arc::clone(&guard)));
    for (delivery, id, expected) in [(&update, &webhook_id, &b""[..]), (&second, &second_id, DUPLICATE)] {
        let response = app
            .clone()
            .oneshot(shopify.request(delivery, id, now()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            &response.into_body().collect().await.unwrap().to_bytes()[..],
            expected
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(guard.is_done(update.header("X-Shopify-Event-Id")));
}

#[tokio::test]
async fn slack_sample_event_is_handled_once_and_its_retry_acknowledged() {
    let slack = Provider::new("slack", "slack-sample-signing-secret-0123");
    let event = sample!("slack_event_callback");
    let retry = sample!("slack_event_callback_retry");
    assert_eq!(event.body, retry.body, "a retry resends the same event");

    let (status, _) = slack.deliver(&event, "unused", now()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slack.handled(), 1);
    let event_id = serde_json::from_str::<serde_json::Value>(&event.body).unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(slack.receiver.guard.is_done(&event_id));
    // Slack retries with X-Slack-Retry-Num, signed afresh a little later.
    let (status, body) = slack.deliver(&retry, "unused", now() + 1).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, DUPLICATE));
    assert_eq!(slack.handled(), 1);
}

#[tokio::test]
async fn slack_sample_handshake_is_answered_without_calling_the_handler() {
    let slack = Provider::new("slack", "slack-sample-signing-secret-0123");
    let handshake = sample!("slack_url_verification");
    for _ in 0..2 {
        let (status, body) = slack.deliver(&handshake, "unused", now()).await;
        assert_eq!(status, StatusCode::OK);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["challenge"],
            "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        );
    }
    assert_eq!(slack.handled(), 0);
}

#[tokio::test]
async fn stripe_sample_event_is_handled_once_and_its_resigned_retry_acknowledged() {
    let stripe = Provider::new("stripe", "whsec_stripe_sample_secret_0123456789");
    let event = sample!("stripe_setup_intent_created");
    let (status, _) = stripe.deliver(&event, "unused", now()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stripe.handled(), 1);
    assert!(stripe.receiver.guard.is_done("evt_1NG8Du2eZvKYlo2CUI79vXWy"));
    // Stripe signs every attempt afresh (a new `t`): same event id, a duplicate.
    let (status, body) = stripe.deliver(&event, "unused", now() + 60).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, DUPLICATE));
    assert_eq!(stripe.handled(), 1);
}

#[tokio::test]
async fn standard_webhooks_and_svix_samples_are_keyed_on_their_signed_ids() {
    for (scheme, name, id_header) in [
        ("standard", "standard_webhooks", "webhook-id"),
        ("svix", "svix", "svix-id"),
    ] {
        let provider = Provider::new(scheme, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let sample = match name {
            "standard_webhooks" => sample!("standard_webhooks"),
            _ => sample!("svix"),
        };
        let id = sample.header(id_header).to_owned();
        let (status, _) = provider.deliver(&sample, &id, now()).await;
        assert_eq!(status, StatusCode::OK, "{scheme}");
        assert_eq!(provider.handled(), 1, "{scheme}");
        let (status, body) = provider.deliver(&sample, &id, now() + 5).await;
        assert_eq!((status, &body[..]), (StatusCode::OK, DUPLICATE), "{scheme}");
        // Another message with the same payload: its own id, processed.
        let (status, body) = provider
            .deliver(&sample, "msg_another_message_same_body", now())
            .await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b""[..]), "{scheme}");
        assert_eq!(provider.handled(), 2, "{scheme}");
    }
}

#[test]
fn petstore_sample_file_is_the_articles_event() {
    // Sent in `the_articles_event_is_handled_once_...`; only one test may
    // deliver `evt_123`, since the log lines of all tests are shared.
    let article = sample!("petstore_article");
    assert_eq!(article.body, ARTICLE_EVENT);
    assert_eq!(article.header("X-Petstore-Event"), "order.completed");
}

#[tokio::test]
async fn slack_slash_command_is_form_encoded_and_handled_once() {
    let slack = Provider::new("slack", "slack-sample-signing-secret-0123");
    let command = sample!("slack_slash_command");
    let at = now();
    let (status, _) = slack.deliver(&command, "unused", at).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a form body is a real Slack delivery, not a 400"
    );
    assert_eq!(slack.handled(), 1);
    // Without an event_id the replay key is the verified MAC, so the very
    // same request is a duplicate...
    let (status, body) = slack.deliver(&command, "unused", at).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, DUPLICATE));
    // ...and the same command sent again later (signed at another
    // timestamp) is a new request, never dropped.
    let (status, body) = slack.deliver(&command, "unused", at + 1).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b""[..]));
    assert_eq!(slack.handled(), 2);
}

#[tokio::test]
async fn body_id_presets_process_every_distinct_event_id() {
    // Stripe, Slack's Events API and the Petstore carry the id inside the
    // signed body: two distinct events always differ in their bytes, and
    // each is processed once. (The Petstore's ids differ from `evt_123`,
    // which only the article test may deliver: the log lines are shared.)
    let cases: [(&str, &str, Sample, &str, [&str; 2]); 3] = [
        (
            "stripe",
            "whsec_stripe_sample_secret_0123456789",
            sample!("stripe_setup_intent_created"),
            "evt_1NG8Du2eZvKYlo2CUI79vXWy",
            ["evt_1NG8Du2eZvKYlo2CUI79vXWy", "evt_1NG8Du2eZvKYlo2CUI79vXWz"],
        ),
        (
            "slack",
            "slack-sample-signing-secret-0123",
            sample!("slack_event_callback"),
            "Ev08MFMKH6",
            ["Ev08MFMKH6", "Ev08MFMKH7"],
        ),
        (
            "petstore",
            ARTICLE_SECRET,
            sample!("petstore_article"),
            "evt_123",
            ["evt_200", "evt_201"],
        ),
    ];
    for (scheme, secret, sample, sample_id, ids) in cases {
        let provider = Provider::new(scheme, secret);
        let quoted = format!("\"{sample_id}\"");
        assert!(
            sample.body.contains(&quoted),
            "{scheme}: the sample carries {sample_id}"
        );
        let with_id = |id: &str| Sample {
            headers: sample.headers.clone(),
            body: sample.body.replace(&quoted, &format!("\"{id}\"")),
        };
        let (first, second) = (with_id(ids[0]), with_id(ids[1]));
        for (n, delivery) in [&first, &second, &first].into_iter().enumerate() {
            let (status, body) = provider.deliver(delivery, "unused", now()).await;
            let expected: &[u8] = if n == 2 { DUPLICATE } else { b"" };
            assert_eq!(
                (status, &body[..]),
                (StatusCode::OK, expected),
                "{scheme} delivery {n}"
            );
        }
        assert_eq!(provider.handled(), 2, "{scheme}");
        assert!(
            ids.iter().all(|id| provider.receiver.guard.is_done(id)),
            "{scheme}"
        );
    }
}
