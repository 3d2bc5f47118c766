#!/usr/bin/env python3
# Writes tests/fixtures/providers/{intercom,bitbucket,typeform,vercel,lemonsqueezy,meta,gitlab}.json: computed vectors for Intercom, Bitbucket,
# Typeform, Vercel, Lemon Squeezy, Meta and GitLab (none of them publishes vectors).
# Run: python3 scripts/vectors/computed_body_signers.py | python3 scripts/vectors/split_fixture.py
import hmac, hashlib, base64, json
cases = []
SRC = "COMPUTED with Python 3 hmac/hashlib by scripts/vectors/computed_body_signers.py (the provider publishes no vector, and no SDK of its own on PyPI/npm signs its webhooks)"
def add(id, scheme, secret, headers, body, expect, note, **extra):
    c = {"id": id, "scheme": scheme, "source": extra.pop("source", SRC), "secret": secret,
         "headers": headers, "body": body, "expect": expect, "note": note}
    c.update(extra)
    cases.append(c)
def mac(alg, key, body): return hmac.new(key.encode(), body.encode(), alg)

# Intercom
b = '{"type":"notification_event","app_id":"a86dr8yl","data":{"type":"notification_event_data","item":{"type":"contact","id":"5e9a"}},"id":"notif_ccd8a4d0-f965-11e3-a367-c779cae3e1aa","topic":"contact.user.created","delivery_attempts":1,"created_at":1496928017}'
k = "intercom client secret"
add("intercom-computed-1", "intercom", k, {"X-Hub-Signature": "sha1=" + mac(hashlib.sha1, k, b).hexdigest()}, b, "valid", "sha1= hex of the body")
ping = '{"type":"notification_event","app_id":"a86dr8yl","data":{"type":"notification_event_data","item":{"type":"ping","message":"something something interzen"}},"links":{},"id":null,"topic":"ping","delivery_status":null,"delivery_attempts":1,"delivered_at":0,"first_sent_at":1496928017,"created_at":1496928017,"self":null}'
add("intercom-computed-ping", "intercom", k, {"X-Hub-Signature": "sha1=" + mac(hashlib.sha1, k, ping).hexdigest()}, ping, "valid", "the ping body of Intercom's v1 docs (id null: the replay key falls back to the signature)")
add("intercom-computed-wrong-key", "intercom", k, {"X-Hub-Signature": "sha1=" + mac(hashlib.sha1, "another secret", b).hexdigest()}, b, "invalid", "signed with another secret")
add("intercom-computed-sha256-refused", "intercom", k, {"X-Hub-Signature": "sha256=" + mac(hashlib.sha256, k, b).hexdigest()}, b, "invalid", "Intercom signs with SHA-1; a sha256= value is not its format")

# Bitbucket
b = '{"push":{"changes":[]},"repository":{"full_name":"team/repo"},"actor":{"display_name":"Ann"}}'
k = "bitbucket webhook secret"
h = {"X-Hub-Signature": "sha256=" + mac(hashlib.sha256, k, b).hexdigest(), "X-Event-Key": "repo:push", "X-Request-UUID": "c9d3e0f2-8b1a-4c6e-9f57-2a1b3c4d5e6f", "X-Hook-UUID": "{7f0e3b55-3c1e-4a5e-9b52-2b9f1e2d8c11}", "X-Attempt-Number": "1"}
add("bitbucket-computed-1", "bitbucket", k, h, b, "valid", "sha256= hex of the body, with Bitbucket Cloud's documented headers")
add("bitbucket-computed-tampered", "bitbucket", k, h, b.replace("Ann", "Bob"), "invalid", "body changed after signing")
add("bitbucket-computed-sha1-refused", "bitbucket", k, dict(h, **{"X-Hub-Signature": "sha1=" + mac(hashlib.sha1, k, b).hexdigest()}), b, "invalid", "a GitHub-style sha1= value is not Bitbucket's format")

# Typeform
b = '{"event_id":"01GN6DMQ5N8QK7SZ6ZBJW6X5P6","event_type":"form_response","form_response":{"form_id":"lT4Z3j","token":"a3a12ec67a1365927098a606107fac15"}}'
k = "typeform webhook secret"
sig = base64.b64encode(mac(hashlib.sha256, k, b).digest()).decode()
add("typeform-computed-1", "typeform", k, {"Typeform-Signature": "sha256=" + sig}, b, "valid", "sha256= base64 of the body")
add("typeform-computed-hex-refused", "typeform", k, {"Typeform-Signature": "sha256=" + mac(hashlib.sha256, k, b).hexdigest()}, b, "invalid", "hex where Typeform sends base64")
add("typeform-computed-wrong-key", "typeform", k, {"Typeform-Signature": "sha256=" + base64.b64encode(mac(hashlib.sha256, "another secret", b).digest()).decode()}, b, "invalid", "signed with another secret")

# Vercel
b = '{"id":"evt_Xy2RtB3Kp9","type":"deployment.created","createdAt":1700000000000,"payload":{"deployment":{"id":"dpl_1"}}}'
k = "vercel client secret"
add("vercel-computed-1", "vercel", k, {"x-vercel-signature": mac(hashlib.sha1, k, b).hexdigest()}, b, "valid", "bare hex HMAC-SHA1 of the body")
add("vercel-computed-sha256-refused", "vercel", k, {"x-vercel-signature": mac(hashlib.sha256, k, b).hexdigest()}, b, "invalid", "HMAC-SHA256 where Vercel uses SHA-1")
add("vercel-computed-tampered", "vercel", k, {"x-vercel-signature": mac(hashlib.sha1, k, b).hexdigest()}, b + "\n", "invalid", "a newline appended after signing")

# Lemon Squeezy
b = '{"meta":{"event_name":"order_created","webhook_id":"9f1c2a"},"data":{"type":"orders","id":"1","attributes":{"status":"paid"}}}'
k = "lemon squeezy secret"
add("lemonsqueezy-computed-1", "lemonsqueezy", k, {"X-Signature": mac(hashlib.sha256, k, b).hexdigest(), "X-Event-Name": "order_created"}, b, "valid", "bare hex HMAC-SHA256 of the body")
add("lemonsqueezy-computed-wrong-key", "lemonsqueezy", k, {"X-Signature": mac(hashlib.sha256, "another secret", b).hexdigest(), "X-Event-Name": "order_created"}, b, "invalid", "signed with another secret")


# Meta (appended below; rewritten into the same file)
b = '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}'
k = "meta app secret"
add("meta-computed-whatsapp-text", "meta", k, {"X-Hub-Signature-256": "sha256=" + mac(hashlib.sha256, k, b).hexdigest()}, b, "valid", "sha256= hex of the body; the body is the WhatsApp Cloud API text-message example as reproduced in Meta's webhook reference (second-hand copy, see hookdeck/dev.to guides)")
add("meta-computed-wrong-key", "meta", k, {"X-Hub-Signature-256": "sha256=" + mac(hashlib.sha256, "another secret", b).hexdigest()}, b, "invalid", "signed with another app secret")
add("meta-computed-legacy-sha1-only", "meta", k, {"X-Hub-Signature": "sha1=" + mac(hashlib.sha1, k, b).hexdigest()}, b, "invalid", "only the legacy SHA-1 header: never read")
esc = b.replace("Does it come in another color?", "caf\\u00e9")
add("meta-computed-escaped-unicode", "meta", k, {"X-Hub-Signature-256": "sha256=" + mac(hashlib.sha256, k, esc).hexdigest()}, esc.replace("\\u00e9", "\u00e9"), "invalid", "signed over Meta's escaped \\u00e9 form, delivered re-serialized as UTF-8: the bytes differ, so it must fail")

# GitLab legacy token: no MAC, the token itself
k = "gitlab secret token"
add("gitlab-token-1", "gitlab", k, {"X-Gitlab-Token": k, "X-Gitlab-Event": "Push Hook", "Idempotency-Key": "2a1ffb9e-63c8-4c4e-9b0b-3c0f5e1d8a77", "X-Gitlab-Event-UUID": "7bd8d3c8-22a4-4b0b-a5c5-12e04c2e4a0f"}, '{"object_kind":"push","ref":"refs/heads/main"}', "valid", "hand-written: X-Gitlab-Token is the configured secret token, sent verbatim", source="hand-written (a token compare has no vector)")
add("gitlab-token-wrong", "gitlab", k, {"X-Gitlab-Token": "gitlab secret toke", "X-Gitlab-Event": "Push Hook", "Idempotency-Key": "2a1ffb9e-63c8-4c4e-9b0b-3c0f5e1d8a77"}, '{"object_kind":"push"}', "invalid", "one byte short", source="hand-written (a token compare has no vector)")
add("gitlab-token-hmac-is-not-the-token", "gitlab", k, {"X-Gitlab-Token": mac(hashlib.sha256, k, '{"object_kind":"push"}').hexdigest(), "X-Gitlab-Event": "Push Hook", "Idempotency-Key": "2a1ffb9e-63c8-4c4e-9b0b-3c0f5e1d8a77"}, '{"object_kind":"push"}', "invalid", "an HMAC of the body in the token header is not the token", source="hand-written (a token compare has no vector)")

import sys
print(json.dumps({"how": "Computed with Python 3 hmac/hashlib by scripts/vectors/computed_body_signers.py (the provider publishes no vector, and no SDK of its own signs its webhooks); each case's `source` says more.", "cases": cases}, indent=2, ensure_ascii=False))
