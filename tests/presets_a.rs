//! Meta, GitLab and the other presets of this group driven through the layer
//! and through the example receiver's router: Meta's unsigned GET
//! verification, GitLab's token, and each preset's replay key.

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_webhook::scheme::{Bitbucket, GitLab, LemonSqueezy, Meta, Scheme};
use tower_webhook::testing::{self, Sign};
use tower_webhook::{Secret, WebhookLayer};

const VERIFY: &str = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";

/// One request through `scheme` behind the layer: the status, the body, the
/// content type and how many times the inner service ran so far.
async fn send<S: Scheme + Clone>(
    scheme: &S,
    calls: &Arc<AtomicUsize>,
    guard: &Arc<tower_webhook::LruGuard>,
    request: Request<Full<Bytes>>,
) -> (StatusCode, Bytes, Option<String>) {
    let calls = Arc::clone(calls);
    let inner = service_fn(move |_request: Request<_>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled")))) }
    });
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme.clone()).guard(Arc::clone(guard)))
        .service(inner);
    let response = svc.oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body, content_type)
}

fn get(query: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri(format!("/webhooks?{query}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn post(headers: HeaderMap, body: &'static [u8]) -> Request<Full<Bytes>> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/webhooks")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    *request.headers_mut() = headers;
    request
}

fn meta() -> Meta {
    Meta::new(Secret::new("meta app secret").unwrap()).verify_token(Secret::new("meatyhamhock").unwrap())
}

#[tokio::test]
async fn meta_answers_the_verification_get_without_calling_the_handler() {
    let (calls, guard) = (Arc::default(), Arc::new(tower_webhook::LruGuard::new(10)));
    let (status, body, content_type) = send(&meta(), &calls, &guard, get(VERIFY)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"1158201444");
    assert_eq!(content_type.as_deref(), Some("text/plain"));

    let wrong = VERIFY.replace("meatyhamhock", "guess");
    let (status, body, _) = send(&meta(), &calls, &guard, get(&wrong)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        !body.windows(4).any(|w| w == b"1158"),
        "the challenge is not echoed on 403"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn meta_without_a_verify_token_refuses_the_get() {
    let (calls, guard) = (Arc::default(), Arc::new(tower_webhook::LruGuard::new(10)));
    let scheme = Meta::new(Secret::new("meta app secret").unwrap());
    let (status, _, _) = send(&scheme, &calls, &guard, get(VERIFY)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn meta_notifications_are_handled_once_and_unsigned_posts_refused() {
    const BODY: &[u8] = br#"{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[]}]}"#;
    let (calls, guard) = (Arc::default(), Arc::new(tower_webhook::LruGuard::new(10)));
    let headers = meta().sign_headers(BODY, "unused", 0);
    let (status, body, _) = send(&meta(), &calls, &guard, post(headers.clone(), BODY)).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"handled"[..]));
    // Meta's retry: the same bytes, the same signature, a duplicate.
    let (status, _, _) = send(&meta(), &calls, &guard, post(headers, BODY)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let (status, _, _) = send(&meta(), &calls, &guard, post(HeaderMap::new(), BODY)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn gitlab_accepts_its_token_and_dedupes_on_the_idempotency_key() {
    let (calls, guard) = (Arc::default(), Arc::new(tower_webhook::LruGuard::new(10)));
    let gitlab = GitLab::new(Secret::new("gitlab secret token").unwrap());
    let headers = |token: &str, key: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-token", token.parse().unwrap());
        headers.insert("idempotency-key", key.parse().unwrap());
        headers.insert("x-gitlab-event", "Push Hook".parse().unwrap());
        headers
    };
    let body: &'static [u8] = br#"{"object_kind":"push"}"#;
    let ok = |key| post(headers("gitlab secret token", key), body);
    assert_eq!(send(&gitlab, &calls, &guard, ok("k-1")).await.0, StatusCode::OK);
    assert_eq!(send(&gitlab, &calls, &guard, ok("k-1")).await.0, StatusCode::OK);
    assert_eq!(send(&gitlab, &calls, &guard, ok("k-2")).await.0, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the retry of k-1 is a duplicate");
    let wrong = post(headers("gitlab secret toke", "k-3"), body);
    assert_eq!(
        send(&gitlab, &calls, &guard, wrong).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// The presets this file covers.
const GROUP: [&str; 7] = [
    "intercom",
    "bitbucket",
    "typeform",
    "vercel",
    "lemonsqueezy",
    "meta",
    "gitlab",
];

#[tokio::test]
async fn registry_signers_of_this_group_are_accepted_through_the_layer() {
    for name in GROUP {
        let preset = testing::preset(name).unwrap_or_else(|| panic!("{name} is in the registry"));
        let (verify_key, sign_key) = (preset.test_keys)();
        let scheme = (preset.scheme)(&verify_key, "").unwrap();
        let signer = (preset.signer)(&sign_key, "").unwrap();
        let body = br#"{"id":"evt_1","event_id":"evt_1","topic":"t","type":"t","object":"page"}"#;
        let headers = signer.sign_headers(body, "evt_1", 1_700_000_000);
        let verdict = scheme.verify(
            tower_webhook::scheme::RequestParts::post(&headers),
            body,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        );
        assert!(verdict.is_ok(), "{name}: {verdict:?}");
        let forger = (preset.signer)(preset.forger_key, "").unwrap();
        let forged = forger.sign_headers(body, "evt_1", 1_700_000_000);
        assert!(
            scheme
                .verify(
                    tower_webhook::scheme::RequestParts::post(&forged),
                    body,
                    std::time::SystemTime::now()
                )
                .is_err(),
            "{name}: a forger's delivery verified"
        );
    }
}

#[test]
fn bitbucket_and_lemonsqueezy_keys_are_the_documented_ones() {
    let bitbucket = Bitbucket::new(Secret::new("bitbucket webhook secret").unwrap());
    let body = br#"{"push":{}}"#;
    let mut headers = bitbucket.sign_headers(body, "req-1", 0);
    headers.insert("x-hook-uuid", "{hook}".parse().unwrap());
    headers.insert("x-event-key", "repo:push".parse().unwrap());
    let verdict = bitbucket
        .verify(
            tower_webhook::scheme::RequestParts::post(&headers),
            body,
            std::time::SystemTime::now(),
        )
        .unwrap();
    assert_eq!(
        verdict.event().unwrap().id(),
        "req-1",
        "X-Request-UUID, never X-Hook-UUID"
    );
    assert_eq!(verdict.event().unwrap().event_type(), Some("repo:push"));

    let lemon = LemonSqueezy::new(Secret::new("lemon squeezy secret").unwrap());
    let body = br#"{"meta":{"event_name":"order_created","webhook_id":"w-1"},"data":{}}"#;
    let headers = lemon.sign_headers(body, "unused", 0);
    let verdict = lemon
        .verify(
            tower_webhook::scheme::RequestParts::post(&headers),
            body,
            std::time::SystemTime::now(),
        )
        .unwrap();
    let delivery = verdict.event().unwrap();
    assert!(
        delivery.id().starts_with("sig:"),
        "never meta.webhook_id: {}",
        delivery.id()
    );
    assert_eq!(
        delivery.event_type(),
        Some("order_created"),
        "from the body without X-Event-Name"
    );
}

fn config(vars: &[(&str, &str)]) -> Result<receiver::Config, String> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    receiver::Config::from_lookup(|name| Ok(vars.get(name).cloned()))
}

#[tokio::test]
async fn the_example_receiver_answers_meta_verification_when_meta_verify_token_is_set() {
    let secret = ("WEBHOOK_SECRET", "meta app secret 0123456789");
    let with_token = config(&[
        ("WEBHOOK_SCHEME", "meta"),
        secret,
        ("META_VERIFY_TOKEN", "meatyhamhock"),
    ])
    .unwrap();
    let router = receiver::receiver(&with_token).unwrap().router;
    let response = router
        .oneshot(get(VERIFY).map(axum::body::Body::new))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"1158201444");

    let without = config(&[("WEBHOOK_SCHEME", "meta"), secret]).unwrap();
    let router = receiver::receiver(&without).unwrap().router;
    let response = router
        .oneshot(get(VERIFY).map(axum::body::Body::new))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let empty = config(&[("WEBHOOK_SCHEME", "meta"), secret, ("META_VERIFY_TOKEN", "")]);
    assert!(empty.is_err(), "an empty verify token is refused at start-up");
}

#[test]
fn the_example_receiver_knows_every_name_of_this_group() {
    let secret = ("WEBHOOK_SECRET", "a secret of sixteen bytes or more");
    for name in GROUP {
        let config = config(&[("WEBHOOK_SCHEME", name), secret]);
        assert!(config.is_ok(), "{name}: {config:?}");
        assert_eq!(receiver::scheme_label(name), name);
    }
    let signing = config(&[
        ("WEBHOOK_SCHEME", "gitlab"),
        ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ]);
    assert!(signing.is_ok(), "{signing:?}");
    let mixed = config(&[
        ("WEBHOOK_SCHEME", "gitlab"),
        ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("WEBHOOK_SECRET_2", "a legacy token of sixteen bytes"),
    ]);
    assert!(mixed.is_err());
}

/// Malformed input for the two parsers of this group (Meta's verification
/// query, GitLab's token headers): each row's documented status, and the
/// handler never called.
#[tokio::test]
async fn malformed_meta_verifications_and_gitlab_tokens_get_their_status() {
    let gitlab = GitLab::new(Secret::new("gitlab secret token").unwrap());
    let gitlab_request = |edit: &dyn Fn(&mut HeaderMap)| {
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-token", "gitlab secret token".parse().unwrap());
        headers.insert("idempotency-key", "k-1".parse().unwrap());
        edit(&mut headers);
        post(headers, b"{}")
    };
    let meta_rows: Vec<(&str, Request<Full<Bytes>>, StatusCode)> = vec![
        ("no query", get(""), StatusCode::FORBIDDEN),
        (
            "token only",
            get("hub.verify_token=meatyhamhock"),
            StatusCode::FORBIDDEN,
        ),
        (
            "mode not subscribe",
            get("hub.mode=SUBSCRIBE&hub.challenge=1&hub.verify_token=meatyhamhock"),
            StatusCode::FORBIDDEN,
        ),
        (
            "token with a trailing space",
            get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=meatyhamhock%20"),
            StatusCode::FORBIDDEN,
        ),
        (
            "repeated verify_token",
            get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=x&hub.verify_token=meatyhamhock"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "challenge of 257 bytes",
            get(&format!(
                "hub.mode=subscribe&hub.challenge={}&hub.verify_token=meatyhamhock",
                "1".repeat(257)
            )),
            StatusCode::BAD_REQUEST,
        ),
        (
            "challenge with a control byte",
            get("hub.mode=subscribe&hub.challenge=1%0A2&hub.verify_token=meatyhamhock"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "invalid percent-encoding in the token",
            get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=%zz"),
            StatusCode::FORBIDDEN,
        ),
        (
            "a GET that carries a signature header is a notification",
            {
                let mut request = get(VERIFY);
                request
                    .headers_mut()
                    .insert("x-hub-signature-256", "sha256=00".parse().unwrap());
                request
            },
            StatusCode::UNAUTHORIZED,
        ),
    ];
    let gitlab_rows: Vec<(&str, Request<Full<Bytes>>, StatusCode)> = vec![
        (
            "token missing",
            gitlab_request(&|h| {
                h.remove("x-gitlab-token");
            }),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "token empty",
            gitlab_request(&|h| {
                h.insert("x-gitlab-token", "".parse().unwrap());
            }),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "token not visible ASCII",
            gitlab_request(&|h| {
                h.insert(
                    "x-gitlab-token",
                    http::HeaderValue::from_bytes(b"\xffgitlab").unwrap(),
                );
            }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "token repeated, the same value",
            gitlab_request(&|h| {
                h.append("x-gitlab-token", "gitlab secret token".parse().unwrap());
            }),
            StatusCode::OK,
        ),
        (
            "token repeated with a wrong one",
            gitlab_request(&|h| {
                h.append("x-gitlab-token", "wrong".parse().unwrap());
            }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no id header",
            gitlab_request(&|h| {
                h.remove("idempotency-key");
            }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "id over MAX_ID_LEN",
            gitlab_request(&|h| {
                let long = "k".repeat(tower_webhook::MAX_ID_LEN + 1);
                h.insert("idempotency-key", long.parse().unwrap());
            }),
            StatusCode::BAD_REQUEST,
        ),
    ];
    let mut failures = Vec::new();
    for (scheme, rows) in [(0, meta_rows), (1, gitlab_rows)] {
        for (what, request, expected) in rows {
            let (calls, guard) = (
                Arc::new(AtomicUsize::new(0)),
                Arc::new(tower_webhook::LruGuard::new(10)),
            );
            let (status, _, _) = match scheme {
                0 => send(&meta(), &calls, &guard, request).await,
                _ => send(&gitlab, &calls, &guard, request).await,
            };
            let expected_calls = usize::from(expected == StatusCode::OK && scheme == 1);
            if status != expected || calls.load(Ordering::SeqCst) != expected_calls {
                failures.push(format!("{what}: {status}, expected {expected}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
