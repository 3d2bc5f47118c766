//! GitLab: the legacy secret token (compared, not a signature) and the
//! `Idempotency-Key` replay key.

use super::*;

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
