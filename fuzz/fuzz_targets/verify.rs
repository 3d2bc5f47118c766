//! `Scheme::verify` on arbitrary headers and bodies: never panics, and
//! whatever it accepts is a well-formed delivery that verifies again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{RequestParts, Verdict};
use tower_webhook::MAX_ID_LEN;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some((which, headers, body)) = common::parse(data) else {
        return;
    };
    let scheme = common::scheme(which);
    let first = scheme.verify(RequestParts::post(&headers), body, common::now());
    if let Ok(Verdict::Event(delivery)) = &first {
        assert!(!delivery.id().is_empty() && delivery.id().len() <= MAX_ID_LEN);
    }
    assert_eq!(first, scheme.verify(RequestParts::post(&headers), body, common::now()));
});
