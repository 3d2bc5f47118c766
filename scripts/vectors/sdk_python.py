#!/usr/bin/env python3
"""Writes tests/fixtures/providers/{clerk,resend,replicate,polar,hubspot-v3,square}.json: Clerk, Resend, Replicate and
Polar deliveries signed or checked with the providers' own SDKs.

Needs (pip): svix==2.9.1 standardwebhooks==1.1.0 polar-sdk==1.0.2
hubspot-api-client==12.0.0 squareup==46.0.0.20260916.
Run: python3 scripts/vectors/sdk_python.py | python3 scripts/vectors/split_fixture.py
"""

import base64
import datetime
import hashlib
import hmac
import json
from unittest import mock

import polar.webhooks as polar_webhooks
from hubspot.utils.signature import Signature as HubSpotSignature
from square.utils.webhooks_helper import verify_signature as square_verify
import standardwebhooks
from svix.webhooks import Webhook

TS = 1764576000
WHEN = datetime.datetime.fromtimestamp(TS, datetime.timezone.utc)
cases = []


class _Frozen(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return WHEN.astimezone(tz) if tz else WHEN


def frozen_clock():
    """standardwebhooks (under svix) reads `datetime.now`; pin it to TS."""
    return mock.patch("standardwebhooks.webhooks.datetime", _Frozen)


def add(case, tampered_body):
    cases.append(case)
    cases.append(dict(case, id=case["id"] + "-tampered", body=tampered_body, expect="invalid",
                      source=case["source"] + "; body changed after signing, refused by the same SDK"))


# Clerk and Resend: Svix, `svix-*` headers (svix's signer, svix's verifier).
for name, secret, body in [
    ("clerk", "whsec_" + base64.b64encode(b"clerk endpoint secret 0123456789").decode(),
     '{"data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC"},"object":"event","type":"user.created"}'),
    ("resend", "whsec_" + base64.b64encode(b"resend endpoint secret 012345678").decode(),
     '{"type":"email.delivered","created_at":"2025-12-01T08:00:00.000Z","data":{"email_id":"4ef9a417"}}'),
]:
    msg_id = f"msg_{name}_1"
    sig = Webhook(secret).sign(msg_id, WHEN, body)
    headers = {"svix-id": msg_id, "svix-timestamp": str(TS), "svix-signature": sig}
    tampered = body.replace('"data"', '"dat"')
    with frozen_clock():
        Webhook(secret).verify(body, headers)
        try:
            Webhook(secret).verify(tampered, headers)
            raise SystemExit(f"{name}: svix accepted a tampered delivery")
        except standardwebhooks.webhooks.WebhookVerificationError:
            pass
    add({"id": f"{name}-svix-sdk", "scheme": name,
         "source": "svix==2.9.1 (PyPI) Webhook(secret).sign(msg_id, timestamp, body)",
         "secret": secret, "headers": headers, "body": body, "now": TS, "expect": "valid"}, tampered)

# Replicate: Standard Webhooks, `webhook-*` headers.
secret = "whsec_" + base64.b64encode(b"replicate signing secret 0123456").decode()
body = '{"id":"ufawqhfynnddngldkgtslldrkq","status":"succeeded","output":["hello"]}'
sig = standardwebhooks.Webhook(secret).sign("msg_replicate_1", WHEN, body)
headers = {"webhook-id": "msg_replicate_1", "webhook-timestamp": str(TS), "webhook-signature": sig}
add({"id": "replicate-standardwebhooks-sdk", "scheme": "replicate",
     "source": "standardwebhooks==1.1.0 (PyPI) Webhook(secret).sign(msg_id, timestamp, body)",
     "secret": secret, "headers": headers, "body": body, "now": TS, "expect": "valid"},
    body.replace("succeeded", "failed"))
with frozen_clock():
    standardwebhooks.Webhook(secret).verify(body, headers)

# Polar: polar-sdk only verifies. Sign with HMAC under the key bytes Polar's
# SDK derives (`_signing_keys`: the secret's UTF-8 bytes, or the base64 after
# `whsec_`), then require polar-sdk to accept it and refuse the tampered body.
body = '{"type":"order.paid","timestamp":"2025-12-01T08:00:00Z","data":{"id":"ord_01"}}'
tampered = body.replace("ord_01", "ord_02")
for cid, secret, key in [
    ("polar-sdk-raw", "polar_whs_pC5x7lUyL3kjGOWGRMS4XwFQa07ZFSPDiJ3yv9PhM4e",
     b"polar_whs_pC5x7lUyL3kjGOWGRMS4XwFQa07ZFSPDiJ3yv9PhM4e"),
    ("polar-sdk-whsec", "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(),
     b"0123456789abcdef0123456789abcdef"),
]:
    content = f"msg_polar_1.{TS}.{body}".encode()
    sig = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": "msg_polar_1", "webhook-timestamp": str(TS), "webhook-signature": sig}
    with mock.patch("time.time", return_value=TS):
        polar_webhooks._verify_signature(body, headers, secret)
        for bad_body, bad_secret in [(tampered, secret), (body, secret + "x")]:
            try:
                polar_webhooks._verify_signature(bad_body, headers, bad_secret)
            except polar_webhooks.PolarWebhookVerificationError:
                continue
            raise SystemExit(f"{cid}: polar-sdk accepted a tampered delivery")
    add({"id": cid, "scheme": "polar",
         "source": "HMAC-SHA256 under polar-sdk==1.0.2's key derivation; accepted by its "
                   "polar.webhooks._verify_signature",
         "secret": secret, "headers": headers, "body": body, "now": TS, "expect": "valid"}, tampered)

# HubSpot v3: hubspot-api-client signs (get_signature) and verifies (is_valid).
secret = "hubspot-client-secret-0123456789"
url = "https://hooks.example.com/hubspot?portal=62515&app=54321"
body = '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1764576000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
timestamp = str(TS * 1000)
sig = HubSpotSignature.get_signature(secret, body, "v3", url, "POST", timestamp)
with mock.patch("hubspot.utils.signature.datetime", _Frozen):
    assert HubSpotSignature.is_valid(sig, secret, body, url, "POST", "v3", timestamp)
    assert not HubSpotSignature.is_valid(sig, secret, body + " ", url, "POST", "v3", timestamp)
headers = {"x-hubspot-signature-v3": sig, "x-hubspot-request-timestamp": timestamp}
add({"id": "hubspot-v3-python-sdk", "scheme": "hubspot-v3", "url": url, "method": "POST",
     "source": "hubspot-api-client==12.0.0 (PyPI) Signature.get_signature(secret, body, 'v3', url, 'POST', ts_ms); "
               "@hubspot/api-client@13.5.0 (npm) Signature.getSignature gives the same (checked by hand, 2026-12-01)",
     "secret": secret, "headers": headers, "body": body, "now": TS, "expect": "valid"},
    body.replace("contact.creation", "contact.deletion"))

# Square: squareup only verifies. Sign with HMAC-SHA256 over notification URL
# + body, then require squareup's verify_signature to accept it.
secret = "square-signature-key-0123456789ab"
url = "https://hooks.example.com/square"
body = '{"merchant_id":"MLEFBHHSJGVHD","type":"payment.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","created_at":"2025-12-01T08:00:00Z","data":{"type":"payment","id":"KkAkhdMs"}}'
sig = base64.b64encode(hmac.new(secret.encode(), (url + body).encode(), hashlib.sha256).digest()).decode()
assert square_verify(request_body=body, signature_header=sig, signature_key=secret, notification_url=url)
tampered = body.replace("payment.updated", "payment.created")
assert not square_verify(request_body=tampered, signature_header=sig, signature_key=secret, notification_url=url)
add({"id": "square-squareup-sdk", "scheme": "square", "url": url,
     "source": "HMAC-SHA256(key, url + body); accepted by squareup==46.0.0.20260916 (PyPI) "
               "square.utils.webhooks_helper.verify_signature",
     "secret": secret, "headers": {"x-square-hmacsha256-signature": sig}, "body": body, "now": TS,
     "expect": "valid"}, tampered)

print(json.dumps({"how": "Signed or checked with the providers' own SDKs by scripts/vectors/sdk_python.py; each case's `source` names the package@version.", "cases": cases}, indent=1))
