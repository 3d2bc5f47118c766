#!/usr/bin/env python3
"""Signs deliveries with the providers' own SDKs and feeds them to the
example receiver over 127.0.0.1.

Usage: sdk_check.py RECEIVER_BINARY NODE_DIR

NODE_DIR holds node_modules with @octokit/webhooks-methods and stripe, and a
copy of sdk_sign.mjs; this Python must have standardwebhooks, svix and
slack_sdk. scripts/sdk-check.sh sets all of that up. For every provider:
a valid delivery is answered 200 and handled once, its redelivery is
acknowledged as a duplicate and not handled again, a tampered body and a
delivery signed with another key are refused with 401 and never handled.
"""

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
            body = fixture["body"]
            headers = {k: v for k, v in fixture["headers"].items() if k.lower() != "content-length"}
            headers.setdefault("Content-Type", "application/json")
            status, answer = receiver.post(sign(secret, body, event_id, headers), body)
            check(f"{scheme}: {sdk} signature accepted", status == 200, f"{status} {answer!r}")
            check(f"{scheme}: handled once", receiver.handled(event_id) == 1, "".join(receiver.lines[-5:]))
            status, answer = receiver.post(sign(secret, body, event_id, headers), body)
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
