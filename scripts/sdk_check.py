#!/usr/bin/env python3
"""Signs deliveries with the providers' own SDKs and feeds them to the
example receiver over 127.0.0.1.

Usage: sdk_check.py RECEIVER_BINARY NODE_DIR

NODE_DIR holds node_modules with @octokit/webhooks-methods, stripe and
@linear/sdk, and a copy of sdk_sign.mjs; this Python must have standardwebhooks, svix,
slack_sdk, twilio, hubspot-api-client, squareup and polar-sdk. scripts/sdk-check.sh sets all of that up. For every provider:
a valid delivery is answered 200 and handled once, its redelivery is
acknowledged as a duplicate and not handled again, a tampered body and a
delivery signed with another key are refused with 401 and never handled.
"""

import base64
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "tests", "fixtures", "samples")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What URL-signed schemes sign: the receiver's PUBLIC_URL, as the sender
# calls it (the requests themselves go to 127.0.0.1).
PUBLIC_URLS = {
    "twilio": "https://hooks.example.com/webhooks",
    "square": "https://hooks.example.com/webhooks",
    "hubspot": "https://hooks.example.com/webhooks",
}


def sample(name):
    with open(os.path.join(SAMPLES, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """The example receiver for one scheme, on a free loopback port."""

    def __init__(self, binary, scheme, secret):
        self.port = free_port()
        env = dict(os.environ, WEBHOOK_SCHEME=scheme, WEBHOOK_SECRET=secret, PORT=str(self.port),
                   BIND="127.0.0.1", RUST_LOG="info", NO_COLOR="1")
        if scheme in PUBLIC_URLS:
            env["PUBLIC_URL"] = PUBLIC_URLS[scheme]
        self.lines = []
        self.proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace")
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + 20
        while not any("receiving webhooks" in line for line in self.lines):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{scheme}: receiver did not start:\n" + "".join(self.lines))
            time.sleep(0.05)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(ANSI.sub("", line))

    def handled(self, event_id):
        return sum(1 for line in list(self.lines) if " handled " in line and f'event_id="{event_id}"' in line)

    def handled_soon(self, event_id, timeout=5.0):
        # The receiver writes its line before it answers, but the thread
        # reading its output may not have read it yet: wait for it.
        deadline = time.monotonic() + timeout
        while self.handled(event_id) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.handled(event_id)

    def post(self, headers, body):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/webhooks", data=body.encode(),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def node_sign(node_dir, sdk, secret, body, timestamp):
    payload = json.dumps({"sdk": sdk, "secret": secret, "body": body, "timestamp": timestamp})
    out = subprocess.run(["node", os.path.join(node_dir, "sdk_sign.mjs")], input=payload, capture_output=True,
                         text=True, timeout=30, cwd=node_dir, check=True)
    return out.stdout.strip()


def providers(node_dir):
    """Each provider: scheme, secret, sample, the id the receiver logs, and a
    signer (secret, body, id) -> headers made by the provider's own SDK."""
    from slack_sdk.signature import SignatureVerifier
    from standardwebhooks.webhooks import Webhook as StandardWebhook
    from svix.webhooks import Webhook as SvixWebhook

    def now():
        return int(time.time())

    def standard(cls, prefix):
        def sign(secret, body, event_id, headers):
            ts = now()
            when = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
            return dict(headers, **{f"{prefix}-id": event_id, f"{prefix}-timestamp": str(ts),
                                    f"{prefix}-signature": cls(secret).sign(event_id, when, body)})
        return sign

    def github(secret, body, event_id, headers):
        signature = node_sign(node_dir, "@octokit/webhooks-methods", secret, body, 0)
        return dict(headers, **{"X-Hub-Signature-256": signature, "X-GitHub-Delivery": event_id})

    def stripe(secret, body, _event_id, headers):
        signature = node_sign(node_dir, "stripe", secret, body, now())
        return dict(headers, **{"Stripe-Signature": signature})

    def slack(secret, body, _event_id, headers):
        ts = str(now())
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        return dict(headers, **{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature})

    def more():
        return more_providers(node_dir, standard, StandardWebhook, SvixWebhook, now)

    return [
        ("standard", "standardwebhooks (PyPI)", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
         "whsec_c2RrLWNoZWNrLW90aGVyLWtleS0wMTIzNDU2Nzg5", sample("standard_webhooks"),
         "msg_sdk_check_standard", standard(StandardWebhook, "webhook")),
        ("svix", "svix (PyPI)", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
         "whsec_c2RrLWNoZWNrLW90aGVyLWtleS0wMTIzNDU2Nzg5", sample("svix"), "msg_sdk_check_svix",
         standard(SvixWebhook, "svix")),
        ("github", "@octokit/webhooks-methods (npm)", "github-sdk-check-secret-0123456789",
         "github-sdk-check-other-secret-012", sample("github_ping"), "d3f1a6f0-sdk-check-github", github),
        ("stripe", "stripe (npm)", "whsec_stripe_sdk_check_secret_0123456789",
         "whsec_stripe_sdk_check_other_secret_01", sample("stripe_setup_intent_created"),
         "evt_1NG8Du2eZvKYlo2CUI79vXWy", stripe),
        ("slack", "slack_sdk (PyPI)", "slack-sdk-check-signing-secret-01", "slack-sdk-check-other-secret-0123",
         sample("slack_event_callback"), "Ev08MFMKH6", slack),
    ] + more()


def inline(body, headers=None):
    return {"body": body, "headers": headers or {}}


def more_providers(node_dir, standard, StandardWebhook, SvixWebhook, now):
    """Clerk, Resend, Replicate (Svix / Standard Webhooks SDKs), Twilio and
    HubSpot (their SDKs sign), Polar, Square and Linear (their SDKs only
    verify: the delivery is signed here and must pass the SDK's own check
    first)."""
    import hashlib
    import hmac
    import urllib.parse
    from unittest import mock

    import polar.webhooks as polar_webhooks
    from hubspot.utils.signature import Signature as HubSpotSignature
    from square.utils.webhooks_helper import verify_signature as square_verify
    from twilio.request_validator import RequestValidator

    def polar(secret, body, event_id, headers):
        ts = now()
        content = f"{event_id}.{ts}.{body}".encode()
        sig = "v1," + base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()
        signed = {"webhook-id": event_id, "webhook-timestamp": str(ts), "webhook-signature": sig}
        with mock.patch("time.time", return_value=ts):
            polar_webhooks._verify_signature(body, signed, secret)  # raises unless polar-sdk accepts it
        return dict(headers, **signed)

    def square(secret, body, _event_id, headers):
        url = PUBLIC_URLS["square"]
        sig = base64.b64encode(hmac.new(secret.encode(), (url + body).encode(), hashlib.sha256).digest()).decode()
        if not square_verify(request_body=body, signature_header=sig, signature_key=secret, notification_url=url):
            raise RuntimeError("squareup refuses its own kind of signature")
        return dict(headers, **{"x-square-hmacsha256-signature": sig})

    def twilio(secret, body, event_id, headers):
        params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        sig = RequestValidator(secret).compute_signature(PUBLIC_URLS["twilio"], params)
        return dict(headers, **{"X-Twilio-Signature": sig, "I-Twilio-Idempotency-Token": event_id})

    def linear(secret, body, event_id, headers):
        # @linear/sdk's LinearWebhookClient.verify accepts it first (sdk_sign.mjs).
        sig = node_sign(node_dir, "@linear/sdk", secret, body, 0)
        return dict(headers, **{"Linear-Signature": sig, "Linear-Delivery": event_id})

    def linear_delivery():
        # Linear's documented Comment delivery, byte for byte but for its
        # webhookTimestamp: Linear's window is 60 s, so the signed time is
        # taken when Linear's turn comes, not when this list is built.
        documented = sample("linear_comment_create")
        stale = json.loads(documented["body"])["webhookTimestamp"]
        body = documented["body"].replace(str(stale), str(int(time.time() * 1000)), 1)
        return inline(body, {"Content-Type": documented["headers"]["Content-Type"]})

    stamps = {}

    def hubspot(secret, body, event_id, headers):
        # One timestamp per delivery, so the redelivery carries the same signature.
        ts = stamps.setdefault((secret, event_id), str(now() * 1000))
        sig = HubSpotSignature.get_signature(secret, body, "v3", PUBLIC_URLS["hubspot"], "POST", ts)
        return dict(headers, **{"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": ts})

    other = "whsec_c2RrLWNoZWNrLW90aGVyLWtleS0wMTIzNDU2Nzg5"
    resend_body = '{"type":"email.delivered","created_at":"2025-12-01T08:00:00.000Z","data":{"email_id":"4ef9a417"}}'
    replicate_body = '{"id":"ufawqhfynnddngldkgtslldrkq","status":"succeeded","output":["hello"]}'
    polar_body = '{"type":"order.paid","timestamp":"2025-12-01T08:00:00Z","data":{"id":"ord_01"}}'
    twilio_body = ("AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&ApiVersion=2010-04-01&CallSid=CA1234567890ABCDE"
                   "&CallStatus=ringing&From=%2B14158675310&To=%2B18005551212")
    hubspot_secret = "hubspot-sdk-check-client-secret-0"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        ("clerk", "svix (PyPI)", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", other, sample("clerk_user_created"),
         "msg_sdk_check_clerk", standard(SvixWebhook, "svix")),
        ("resend", "svix (PyPI)", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", other, inline(resend_body),
         "msg_sdk_check_resend", standard(SvixWebhook, "svix")),
        ("replicate", "standardwebhooks (PyPI)", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", other,
         inline(replicate_body), "msg_sdk_check_replicate", standard(StandardWebhook, "webhook")),
        ("polar", "polar-sdk (PyPI) verifies", "polar_whs_sdkCheckSecret0123456789abcdefABCDEF",
         "polar_whs_sdkCheckOtherSecret0123456789abcdef", inline(polar_body), "msg_sdk_check_polar", polar),
        ("square", "squareup (PyPI) verifies", "square-sdk-check-signature-key-01", "square-sdk-check-other-key-0123",
         sample("square_test_notification"), "ac3ac95b-f97d-458c-a6e6-18981597e05f", square),
        ("twilio", "twilio (PyPI)", "twilio-sdk-check-auth-token-0123", "twilio-sdk-check-other-token-01",
         inline(twilio_body, form), "idem-sdk-check-twilio", twilio),
        ("hubspot", "hubspot-api-client (PyPI)", hubspot_secret, "hubspot-sdk-check-other-secret-01",
         sample("hubspot_contact_creation"), None, hubspot),
        ("linear", "@linear/sdk (npm) verifies", "lin_wh_sdk_check_secret_0123456789",
         "lin_wh_sdk_check_other_secret_01234", linear_delivery, "234d1a4e-sdk-check-linear", linear),
    ]


def main():
    binary, node_dir = sys.argv[1], sys.argv[2]
    passed, failed = 0, 0

    def check(what, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {what}")
        else:
            failed += 1
            print(f"FAIL {what} {detail}")

    for scheme, sdk, secret, other_secret, fixture, event_id, sign in providers(node_dir):
        receiver = Receiver(binary, scheme, secret)
        try:
            if callable(fixture):
                fixture = fixture()
            body = fixture["body"]
            headers = {k: v for k, v in fixture["headers"].items() if k.lower() != "content-length"}
            headers.setdefault("Content-Type", "application/json")
            signed_as = event_id or scheme
            signed = sign(secret, body, signed_as, headers)
            if event_id is None:
                # Keyed on the signature (HubSpot): `sig:` and the MAC in hex.
                mac = signed.get("X-HubSpot-Signature-v3", "")
                event_id = "sig:" + base64.b64decode(mac).hex()
            status, answer = receiver.post(signed, body)
            check(f"{scheme}: {sdk} signature accepted", status == 200, f"{status} {answer!r}")
            check(f"{scheme}: handled once", receiver.handled_soon(event_id) == 1, "".join(receiver.lines[-5:]))
            status, answer = receiver.post(sign(secret, body, signed_as, headers), body)
            check(f"{scheme}: redelivery acknowledged", (status, answer) == (200, b'{"duplicate":true}'),
                  f"{status} {answer!r}")
            tampered = body.replace("e", "E", 1)
            status, _ = receiver.post(sign(secret, body, event_id + "-t", headers), tampered)
            check(f"{scheme}: tampered body refused", status == 401, str(status))
            status, _ = receiver.post(sign(other_secret, body, event_id + "-k", headers), body)
            check(f"{scheme}: another key refused", status == 401, str(status))
            time.sleep(0.2)
            check(f"{scheme}: still handled once", receiver.handled(event_id) == 1, "")
        finally:
            receiver.stop()
    print(f"sdk-check: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
