//! The engine's unit tests: building (every configuration and template
//! error) and verifying (labels, separators, timestamps, URLs, handshakes).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName};
use http::{Method, StatusCode, Uri};

use super::*;
use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::error::SecretError;
use crate::key::public::{Keys, PublicKey};
use crate::key::secret::Secret;
use crate::rejection::Rejection;
use crate::scheme::json::MAX_BODY_FIELDS;
use crate::scheme::request::RequestParts;
use crate::scheme::timestamp::TimestampFormat;
use crate::scheme::verdict::Verdict;
use crate::scheme::verify::Scheme;

const NOW: i64 = 1_700_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW as u64)
}

fn secret() -> Secret {
    Secret::new("engine secret").unwrap()
}

/// A valid base: every test changes one thing.
fn base() -> SpecBuilder {
    Spec::builder("engine-test")
        .signature_header("x-sig")
        .version("", Algorithm::HmacSha256, Encoding::Hex)
        .keys(secret())
}

fn err(builder: SpecBuilder) -> ConfigError {
    builder.build().expect_err("refused")
}

fn hmac_hex(parts: &[&[u8]]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"engine secret").unwrap();
    for p in parts {
        mac.update(p);
    }
    hex::encode(mac.finalize().into_bytes())
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, v.parse().unwrap());
    }
    h
}

fn verify(spec: &Spec, h: &HeaderMap, body: &[u8]) -> Result<Verdict, Rejection> {
    spec.verify(RequestParts::post(h), body, now())
}

#[test]
fn a_label_that_prefixes_another_does_not_take_its_entries_whatever_the_order() {
    // An id in the body, so that nothing but the signature matters.
    let body = br#"{"id":"evt_1"}"#;
    let tag = hmac_hex(&[body]);
    let builders = [
        Spec::builder("engine-test")
            .signature_header("x-sig")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .version("sha256=", Algorithm::HmacSha256, Encoding::Hex),
        Spec::builder("engine-test")
            .signature_header("x-sig")
            .version("sha256=", Algorithm::HmacSha256, Encoding::Hex)
            .version("", Algorithm::HmacSha256, Encoding::Hex),
    ];
    for builder in builders {
        let spec = builder
            .id(FieldSource::body("id"))
            .keys(secret())
            .build()
            .unwrap();
        for value in [format!("sha256={tag}"), tag.clone()] {
            assert!(
                verify(&spec, &headers(&[("x-sig", &value)]), body).is_ok(),
                "{value} under {spec:?}"
            );
        }
    }
}

#[test]
fn every_config_error_is_reachable() {
    let many = (0..=MAX_VERSIONS).fold(base(), |b, i| {
        b.version(&format!("v{i}="), Algorithm::HmacSha256, Encoding::Hex)
    });
    assert_eq!(err(many), ConfigError::TooManyVersions);
    assert_eq!(
        err(base().signature_header("bad header")),
        ConfigError::InvalidHeaderName {
            name: "bad header".into()
        }
    );
    assert_eq!(
        err(Spec::builder("engine-test").version("", Algorithm::HmacSha256, Encoding::Hex)),
        ConfigError::NoSignatureHeader
    );
    assert_eq!(
        err(Spec::builder("engine-test")
            .signature_header("x-sig")
            .keys(secret())),
        ConfigError::NoVersions
    );
    assert_eq!(
        err(base().version("v1,", Algorithm::HmacSha256, Encoding::Hex)),
        ConfigError::LabelContainsSeparator { label: "v1,".into() }
    );
    assert_eq!(
        err(base()
            .keyed_list(';', '=')
            .version("h=1", Algorithm::HmacSha256, Encoding::Hex)),
        ConfigError::LabelContainsSeparator { label: "h=1".into() }
    );
    assert_eq!(
        err(base().version("", Algorithm::HmacSha1, Encoding::Hex)),
        ConfigError::DuplicateVersion { label: "".into() }
    );
    assert_eq!(
        err(base().signed_content("{body}{body}")),
        ConfigError::Template(TemplateError::Body)
    );
    assert_eq!(
        err(base().timestamp_header("x-ts", TimestampFormat::UnixSeconds)),
        ConfigError::UnsignedTimestamp
    );
    assert!(base()
        .timestamp_header("x-ts", TimestampFormat::UnixSeconds)
        .allow_unsigned_timestamp()
        .build()
        .is_ok());
    assert_eq!(err(base().id(FieldSource::body(""))), ConfigError::InvalidField);
    assert_eq!(
        err(base().id(FieldSource::body("a..b"))),
        ConfigError::InvalidField
    );
    assert_eq!(
        err(base().event_type(FieldSource::signature())),
        ConfigError::InvalidField
    );
    assert_eq!(
        err(base().id(FieldSource { sources: Vec::new() })),
        ConfigError::InvalidField
    );
    let mut many = FieldSource::body("f0");
    for i in 1..=MAX_BODY_FIELDS {
        many = many.or_body(&format!("f{i}"));
    }
    assert_eq!(err(base().id(many)), ConfigError::TooManyBodyFields);
    assert_eq!(err(base().keys(Keys::new())), ConfigError::NoUsableKey);
    #[cfg(not(feature = "ed25519"))]
    assert_eq!(
        err(base().version("a", Algorithm::Ed25519, Encoding::Hex)),
        ConfigError::AlgorithmDisabled {
            algorithm: Algorithm::Ed25519
        }
    );
    #[cfg(feature = "ed25519")]
    assert_eq!(
        err(base()
            .version("a", Algorithm::Ed25519, Encoding::Hex)
            .policy(SignaturePolicy::All)),
        ConfigError::UnsatisfiablePolicy
    );
    assert_eq!(
        err(base().policy(SignaturePolicy::Require("v9".into()))),
        ConfigError::UnsatisfiablePolicy
    );
    assert_eq!(
        err(base().signed_content("{url}.{body}")),
        ConfigError::NoPublicUrl
    );
    for bad in ["ftp://x/", "https://", "https://h/p?q=1", "https://h/p#f", "h/p"] {
        assert_eq!(
            err(base().signed_content("{url}.{body}").public_url(bad)),
            ConfigError::InvalidPublicUrl,
            "{bad}"
        );
    }
    assert_eq!(
        err(base()
            .version("v2", Algorithm::HmacSha1, Encoding::Hex)
            .list(&[','])
            .version("", Algorithm::HmacSha1, Encoding::Hex)),
        ConfigError::DuplicateVersion { label: "".into() }
    );
    let sha1_only = Spec::builder("engine-test")
        .signature_header("x-sig")
        .version("", Algorithm::HmacSha1, Encoding::Hex)
        .keys(secret())
        .handshake(Handshake::when_body("type", "v").hmac_token("token"));
    assert_eq!(err(sha1_only), ConfigError::HandshakeNeedsHmac);
    assert!(matches!(
        err(base().keys(Keys::new())).to_string().as_str(),
        s if !s.is_empty()
    ));
    assert!(std::error::Error::source(&ConfigError::Template(TemplateError::Body)).is_some());
    assert!(matches!(
        PublicKey::ed25519(&[0; 3]).map_err(ConfigError::from),
        Err(ConfigError::InvalidKey { .. })
    ));
    assert_eq!(
        ConfigError::from(SecretError::Empty),
        ConfigError::Secret(SecretError::Empty)
    );
}

#[test]
fn every_template_error_is_reachable() {
    for (template, error) in [
        ("no body here", TemplateError::Body),
        ("{body}{body}", TemplateError::Body),
        ("{body", TemplateError::Unclosed),
        ("{nope}{body}", TemplateError::UnknownPlaceholder),
        ("{timestamp}.{body}", TemplateError::NoTimestampHeader),
        ("{id}.{body}", TemplateError::NoIdHeader),
        ("a{method}b{url}c{method}d{body}e", TemplateError::TooLong),
        ("{id}{body}", TemplateError::Ambiguous),
        ("{body}{id}", TemplateError::Ambiguous),
    ] {
        let builder = base()
            .id(FieldSource::header("x-id"))
            .signed_content(template)
            .public_url("https://h/p");
        let builder = if template == "{id}.{body}" {
            builder.id(FieldSource::body("id"))
        } else {
            builder
        };
        assert_eq!(err(builder), ConfigError::Template(error), "{template}");
    }
    // A timestamp delimits itself (strict syntax, checked value), so it
    // may touch `{id}` or `{body}`: Discord, SendGrid and Twitch sign so.
    assert!(base()
        .timestamp_header("x-ts", TimestampFormat::Rfc3339)
        .id(FieldSource::header("x-id"))
        .signed_content("{id}{timestamp}{body}")
        .build()
        .is_ok());
}

/// Today's `{timestamp}.{id}.{body}` recipe, where the id is an unsigned
/// header: bytes can be moved from the body into the id.
fn recipe() -> Spec {
    base()
        .timestamp_header("x-ts", TimestampFormat::UnixSeconds)
        .id(FieldSource::header("x-id"))
        .signed_content("{timestamp}.{id}.{body}")
        .build()
        .unwrap()
}

#[test]
fn refuses_bytes_shifted_from_the_body_into_the_id() {
    let ts = NOW.to_string();
    let body: &[u8] = b"2.{\"amount\":100}";
    let sig = hmac_hex(&[ts.as_bytes(), b".", b"evt_1", b".", body]);
    let captured = headers(&[("x-sig", &sig), ("x-ts", &ts), ("x-id", "evt_1")]);
    let delivery = verify(&recipe(), &captured, body).unwrap();
    assert_eq!(delivery.event().unwrap().id(), "evt_1");

    // The same signed bytes, split differently: a fresh id (the replay
    // guard would not know it) and a body the sender never sent.
    let shifted = headers(&[("x-sig", &sig), ("x-ts", &ts), ("x-id", "evt_1.2")]);
    let result = verify(&recipe(), &shifted, b"{\"amount\":100}");
    assert_eq!(
        result,
        Err(Rejection::InvalidHeader {
            name: HeaderName::from_static("x-id"),
            reason: "contains the signed content's separator",
        })
    );
    assert_eq!(result.unwrap_err().status(), 400);
}

#[test]
fn hmac_sha1_and_millisecond_timestamps_past_only() {
    let spec = Spec::builder("engine-test")
        .signature_header("x-sig")
        .version("sha1=", Algorithm::HmacSha1, Encoding::Hex)
        .timestamp_header("x-ts", TimestampFormat::UnixMillis)
        .past_only()
        .signed_content("{body}{timestamp}")
        .keys(secret())
        .build()
        .unwrap();
    let sign = |ts: &str, body: &[u8]| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"engine secret").unwrap();
        mac.update(body);
        mac.update(ts.as_bytes());
        format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
    };
    let body = br#"{"id":"e1"}"#;
    for (ts, ok) in [
        ((NOW * 1000).to_string(), true),
        (((NOW + 3600) * 1000).to_string(), true),
        (((NOW - 301) * 1000).to_string(), false),
    ] {
        let h = headers(&[("x-sig", &sign(&ts, body)), ("x-ts", &ts)]);
        assert_eq!(verify(&spec, &h, body).is_ok(), ok, "{ts}");
    }
}

#[test]
fn signs_the_public_url_plus_the_query_and_the_method() {
    let spec = base()
        .signed_content("{method} {url}\n{body}")
        .public_url("https://hooks.example.com/in/")
        .build()
        .unwrap();
    let body = br#"{"id":"e1"}"#;
    let sig = hmac_hex(&[b"POST https://hooks.example.com/in?a=1&b=2\n", body]);
    let h = headers(&[("x-sig", &sig)]);
    let uri = Uri::from_static("/in?a=1&b=2");
    let request = RequestParts {
        method: &Method::POST,
        uri: &uri,
        headers: &h,
    };
    assert!(spec.verify(request, body, now()).is_ok());
    let put = RequestParts {
        method: &Method::PUT,
        ..request
    };
    assert_eq!(spec.verify(put, body, now()), Err(Rejection::SignatureMismatch));

    let forwarded = base()
        .signed_content("{url}|{body}")
        .trust_forwarded_headers(true)
        .build()
        .unwrap();
    let sig = hmac_hex(&[b"https://public.example/in?a=1&b=2|", body]);
    let h = headers(&[
        ("x-sig", &sig),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "public.example"),
    ]);
    let request = RequestParts {
        method: &Method::POST,
        uri: &uri,
        headers: &h,
    };
    assert!(forwarded.verify(request, body, now()).is_ok());
}

#[test]
fn answers_handshakes_only_after_the_signature_verified() {
    let spec = base()
        .handshake(Handshake::when_body("event", "validate").hmac_token("payload.plainToken"))
        .handshake(Handshake::when_header("x-kind", "ping").answer(StatusCode::NO_CONTENT, None, b""))
        .build()
        .unwrap();
    let body = br#"{"event":"validate","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}"#;
    let h = headers(&[("x-sig", &hmac_hex(&[body]))]);
    let reply = verify(&spec, &h, body).unwrap();
    let reply = reply.reply().unwrap();
    let json: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
    assert_eq!(json["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(json["encryptedToken"], hmac_hex(&[b"qgg8vlvZRS6UYooatFL8Aw"]));

    let no_token = br#"{"event":"validate"}"#;
    let h = headers(&[("x-sig", &hmac_hex(&[no_token]))]);
    assert!(matches!(
        verify(&spec, &h, no_token),
        Err(Rejection::MalformedHandshake { .. })
    ));

    let ping = br#"{"id":"p"}"#;
    let mut h = headers(&[("x-sig", &hmac_hex(&[ping])), ("x-kind", "ping")]);
    assert_eq!(verify(&spec, &h, ping).unwrap().reply().unwrap().status(), 204);
    h.insert("x-sig", "00".repeat(32).parse().unwrap());
    assert_eq!(verify(&spec, &h, ping), Err(Rejection::SignatureMismatch));
}

#[test]
fn reads_a_signed_timestamp_from_the_body_after_the_signature() {
    let spec = base()
        .timestamp_body("meta.sent_ms", TimestampFormat::UnixMillis)
        .tolerance(Duration::from_secs(60))
        .build()
        .unwrap();
    let delivery = |body: &[u8], sig: &str| verify(&spec, &headers(&[("x-sig", sig)]), body);
    let body = format!(r#"{{"id":"e1","meta":{{"sent_ms":{}}}}}"#, NOW * 1000 - 60_000);
    let ok = delivery(body.as_bytes(), &hmac_hex(&[body.as_bytes()])).unwrap();
    assert_eq!(ok.event().unwrap().timestamp(), Some(NOW - 60));

    let stale = format!(r#"{{"id":"e1","meta":{{"sent_ms":{}}}}}"#, NOW * 1000 - 61_000);
    assert_eq!(
        delivery(stale.as_bytes(), &hmac_hex(&[stale.as_bytes()])),
        Err(Rejection::TimestampTooOld { age_secs: 61 })
    );
    // Unsigned, the body is not read: the signature answers first.
    assert_eq!(
        delivery(stale.as_bytes(), &"00".repeat(32)),
        Err(Rejection::SignatureMismatch)
    );
    let missing = br#"{"id":"e1"}"#;
    assert_eq!(
        delivery(missing, &hmac_hex(&[missing])),
        Err(Rejection::InvalidBodyField {
            path: "meta.sent_ms".into(),
            reason: "the timestamp is missing",
        })
    );
    // The body carries it: the template cannot sign it a second time.
    assert_eq!(
        err(base()
            .timestamp_body("ts", TimestampFormat::UnixSeconds)
            .signed_content("{timestamp}.{body}")),
        ConfigError::Template(TemplateError::NoTimestampHeader)
    );
    assert_eq!(
        err(base().timestamp_body("a..b", TimestampFormat::UnixSeconds)),
        ConfigError::InvalidField
    );
}

#[test]
fn precheck_wants_the_signature_header() {
    let spec = base().build().unwrap();
    assert!(spec.precheck(&headers(&[("x-sig", "aa")])).is_ok());
    assert!(matches!(
        spec.precheck(&HeaderMap::new()),
        Err(Rejection::MissingSignature { .. })
    ));
}

#[test]
fn reads_the_alternate_names_only_when_no_declared_name_is_present() {
    let spec = base()
        .timestamp_header("x-ts", TimestampFormat::UnixSeconds)
        .id(FieldSource::header("x-id"))
        .signed_content("{id}.{timestamp}.{body}")
        .alternate_headers(&[("x-id", "alt-id"), ("x-ts", "alt-ts"), ("x-sig", "alt-sig")])
        .build()
        .unwrap();
    let ts = NOW.to_string();
    let body = b"{}";
    let sig = hmac_hex(&[b"evt_1.", ts.as_bytes(), b".", body]);
    let declared = headers(&[("x-id", "evt_1"), ("x-ts", &ts), ("x-sig", &sig)]);
    let alternate = headers(&[("alt-id", "evt_1"), ("alt-ts", &ts), ("alt-sig", &sig)]);
    for h in [&declared, &alternate] {
        assert_eq!(verify(&spec, h, body).unwrap().event().unwrap().id(), "evt_1");
        assert!(spec.precheck(h).is_ok());
    }
    // Mixed: read under the declared names, and refused for what it lacks there.
    let mixed = headers(&[("x-id", "evt_1"), ("alt-ts", &ts), ("alt-sig", &sig)]);
    assert_eq!(
        verify(&spec, &mixed, body),
        Err(Rejection::MissingHeader {
            name: HeaderName::from_static("x-ts")
        })
    );
    assert!(matches!(
        spec.precheck(&mixed),
        Err(Rejection::MissingSignature { .. })
    ));
    // A tolerance set afterwards holds under both names.
    let strict = spec.with_tolerance(Duration::from_secs(1));
    let stale = (NOW - 2).to_string();
    let sig = hmac_hex(&[b"evt_1.", stale.as_bytes(), b".", body]);
    let old = headers(&[("alt-id", "evt_1"), ("alt-ts", &stale), ("alt-sig", &sig)]);
    assert_eq!(
        verify(&strict, &old, body),
        Err(Rejection::TimestampTooOld { age_secs: 2 })
    );
    assert_eq!(
        err(base().alternate_headers(&[("x-sig", "bad name")])),
        ConfigError::InvalidHeaderName {
            name: "bad name".into()
        }
    );
}

/// A sender that signs inside the body, the shape of Mailgun's.
fn in_body() -> SpecBuilder {
    Spec::builder("engine-test")
        .signature_body("sig.value", "data")
        .version("", Algorithm::HmacSha256, Encoding::Hex)
        .timestamp_body("sig.ts", TimestampFormat::UnixSeconds)
        .id(FieldSource::body("sig.id"))
        .signed_content("{timestamp}.{id}")
        .keys(secret())
}

#[test]
fn a_signature_in_the_body_signs_fields_beside_it_never_the_body() {
    let spec = in_body().build().unwrap();
    assert_eq!(spec.signature_header(), None);
    assert!(spec.precheck(&HeaderMap::new()).is_ok());
    assert!(spec.id_is_signed());
    let body = |id: &str, sig: &str| {
        format!(r#"{{"sig":{{"ts":"{NOW}","id":"{id}","value":"{sig}"}},"data":{{"kind":"k"}}}}"#)
    };
    let sig = hmac_hex(&[NOW.to_string().as_bytes(), b".", b"evt_1"]);
    let ok = verify(&spec, &HeaderMap::new(), body("evt_1", &sig).as_bytes()).unwrap();
    assert_eq!(ok.event().unwrap().id(), "evt_1");
    assert_eq!(ok.event().unwrap().timestamp(), Some(NOW));
    // Every signed field must be there before any is parsed: a timestamp
    // that does not parse is a 400 only when nothing is missing.
    let unparsed = r#"{"sig":{"ts":"soon","value":"00"}}"#;
    assert!(matches!(
        verify(&spec, &HeaderMap::new(), unparsed.as_bytes()),
        Err(Rejection::MalformedSignature { .. })
    ));
    let unparsed = r#"{"sig":{"ts":"soon","id":"evt_1","value":"00"}}"#;
    assert!(matches!(
        verify(&spec, &HeaderMap::new(), unparsed.as_bytes()),
        Err(Rejection::InvalidBodyField { .. })
    ));
    // A body id next to a literal must not contain it, as a header's must not.
    let sig = hmac_hex(&[NOW.to_string().as_bytes(), b".", b"evt.1"]);
    assert_eq!(
        verify(&spec, &HeaderMap::new(), body("evt.1", &sig).as_bytes()),
        Err(Rejection::InvalidBodyField {
            path: "sig.id".into(),
            reason: "contains the signed content's separator",
        })
    );

    assert_eq!(
        err(in_body().signed_content("{timestamp}.{id}.{body}")),
        ConfigError::Template(TemplateError::Body)
    );
    assert_eq!(
        err(in_body().signed_content("{id}")),
        ConfigError::UnsignedTimestamp
    );
    assert!(matches!(
        err(in_body().keyed_list(',', '=')),
        ConfigError::SignatureInBody { .. }
    ));
    assert!(matches!(
        err(in_body().timestamp_entry("t", TimestampFormat::UnixSeconds)),
        ConfigError::SignatureInBody { .. }
    ));
    assert_eq!(
        err(in_body().signature_body("sig.value", "data..x")),
        ConfigError::InvalidField
    );
    // With a header signature the body is signed, so its fields are not named.
    assert_eq!(
        err(base().id(FieldSource::body("id")).signed_content("{id}.{body}")),
        ConfigError::Template(TemplateError::NoIdHeader)
    );
}
