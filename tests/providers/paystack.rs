//! Paystack: `x-paystack-signature`, the hex HMAC-SHA512 of the body.

use hmac::{Hmac, Mac};
use http::StatusCode;

use crate::support::{fixture, sdk_cases_verify_and_fail_once_changed};

const FIXTURE: &str = include_str!("../fixtures/providers/paystack.json");

#[test]
fn checked_deliveries_verify_and_fail_once_changed() {
    assert_eq!(sdk_cases_verify_and_fail_once_changed(FIXTURE), 1);
}

#[test]
fn a_sha256_mac_or_half_a_sha512_one_is_refused_with_401() {
    let case = &fixture(FIXTURE).cases[0];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(case.secret.as_bytes()).unwrap();
    mac.update(case.body.as_bytes());
    let sha256 = hex::encode(mac.finalize().into_bytes());
    let sha512 = case.headers["x-paystack-signature"].clone();
    for forged in [sha256, sha512[..64].to_owned(), sha512[64..].to_owned()] {
        let mut headers = case.headers();
        headers.insert("x-paystack-signature", forged.parse().unwrap());
        let refused = case.verify(&headers, case.body.as_bytes()).unwrap_err();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{refused:?}");
    }
}
