"""Checks tests/fixtures/providers/{workos,paystack}.json with the providers' Python SDKs.

pip install workos==10.8.0 pypaystack2==3.4.0, then run from the repository root.
"""
import json

from pypaystack2 import PaystackClient
from workos.webhooks._verification import verify_header


def case(name):
    with open(f"tests/fixtures/providers/{name}.json") as f:
        return json.load(f)["cases"][0]


w = case("workos")
# The tolerance is wide because the vector was signed at a fixed past time.
verify_header(event_body=w["body"].encode(), event_signature=w["headers"]["WorkOS-Signature"], secret=w["secret"], tolerance=10**10)
try:
    verify_header(event_body=(w["body"] + " ").encode(), event_signature=w["headers"]["WorkOS-Signature"], secret=w["secret"], tolerance=10**10)
    raise SystemExit("workos accepted a changed body")
except ValueError:
    pass
p = case("paystack")
client = PaystackClient(secret_key=p["secret"])
assert client.is_verified_webhook_payload(p["body"].encode(), p["headers"]["x-paystack-signature"])
assert not client.is_verified_webhook_payload((p["body"] + " ").encode(), p["headers"]["x-paystack-signature"])
print("workos and paystack fixtures verified by workos 10.8.0 and pypaystack2 3.4.0")
