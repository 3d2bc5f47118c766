//! Bitbucket Cloud: `X-Hub-Signature: sha256=<hex>` over the body.

use super::*;

#[test]
fn bitbucket_keys_on_the_request_uuid_never_the_hook_uuid() {
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
}
