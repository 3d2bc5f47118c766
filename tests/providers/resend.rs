//! Resend (a Svix sender): the vectors signed with svix's SDK.

/// Deliveries signed or checked with the provider's own SDK (the fixture's `how`).
const SDK_VECTORS: &str = include_str!("../fixtures/providers/resend.json");

#[test]
fn sdk_signed_deliveries_verify_as_the_sdks_say() {
    crate::support::sdk_signed_deliveries_verify_as_the_sdks_say(SDK_VECTORS);
}

#[test]
fn sdk_signed_deliveries_fail_under_another_key_or_an_hour_later() {
    crate::support::sdk_signed_deliveries_fail_under_another_key_or_an_hour_later(SDK_VECTORS);
}
