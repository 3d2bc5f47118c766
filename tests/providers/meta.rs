//! Meta: `X-Hub-Signature-256` over the body, and its unsigned GET verification
//! answered by the layer and by the example receiver.

use super::*;

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
