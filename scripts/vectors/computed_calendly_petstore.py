#!/usr/bin/env python3
# Writes tests/fixtures/providers/{calendly,petstore}.json: computed vectors
# for Calendly (which publishes none and has no SDK of its own that signs) and
# for the source article's Petstore scheme (its event verbatim, signed as the
# article's Node code signs it; the signature is cross-checked by
# tests/real_senders.rs against Node 20's crypto.createHmac).
# Run: python3 scripts/vectors/computed_calendly_petstore.py | python3 scripts/vectors/split_fixture.py
import hashlib, hmac, json

CAL_SRC = ("COMPUTED with Python 3 hmac/hashlib by scripts/vectors/computed_calendly_petstore.py: "
           "Calendly-Webhook-Signature t=<unix>,v1=<hex HMAC-SHA256 of '<t>.' + body>, as "
           "https://developer.calendly.com/docs/webhooks/overview describes (Calendly publishes no vector)")
PET_SRC = ("COMPUTED with Python 3 hmac/hashlib by scripts/vectors/computed_calendly_petstore.py: "
           "X-Petstore-Signature = hex HMAC-SHA256 of the raw body, as the source article's "
           "crypto.createHmac('sha256', secret).update(body).digest('hex')")
KEY = "calendly signing key"
T = 1700000000
BODY = ('{"created_at":"2020-11-23T17:51:19.000000Z","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA",'
        '"event":"invitee.created","payload":{"uri":"https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA"}}')
cases = []

def cal(key, t, body):
    return hmac.new(key.encode(), ("%d." % t).encode() + body.encode(), hashlib.sha256).hexdigest()

def add_cal(id, header, expect, note, now=T + 5, body=BODY, secret=KEY):
    cases.append({"id": id, "scheme": "calendly", "source": CAL_SRC, "secret": secret,
                  "headers": {"Calendly-Webhook-Signature": header}, "body": body, "now": now,
                  "expect": expect, "note": note})

good = cal(KEY, T, BODY)
add_cal("calendly-computed-1", "t=%d,v1=%s" % (T, good), "valid", "the doctest's delivery, 5 s after t")
add_cal("calendly-computed-two-v1", "t=%d,v1=%s,v1=%s" % (T, cal("old key", T, BODY), good), "valid",
        "two v1 entries, the second by our key: any one matching passes")
add_cal("calendly-computed-tampered", "t=%d,v1=%s" % (T, good), "invalid", "body changed after signing",
        body=BODY.replace("invitee.created", "invitee.canceled"))
add_cal("calendly-computed-wrong-key", "t=%d,v1=%s" % (T, cal("another key", T, BODY)), "invalid", "signed with another key")
add_cal("calendly-computed-t-changed", "t=%d,v1=%s" % (T + 1, good), "invalid", "t changed after signing")
add_cal("calendly-computed-stale", "t=%d,v1=%s" % (T, good), "invalid",
        "verified 301 s after t (the preset's default tolerance is 300 s)", now=T + 301)
add_cal("calendly-computed-body-only", "t=%d,v1=%s" % (T, hmac.new(KEY.encode(), BODY.encode(), hashlib.sha256).hexdigest()),
        "invalid", "HMAC of the body alone, without '<t>.'")

ARTICLE = ('{"id":"evt_123","type":"order.completed","created":1710331200,'
           '"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}')
PET_KEY = "petstore-article-secret-0123456789"

def pet(key, body):
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()

def add_pet(id, sig, expect, note, body=ARTICLE, secret=PET_KEY):
    cases.append({"id": id, "scheme": "petstore", "source": PET_SRC, "secret": secret,
                  "headers": {"X-Petstore-Signature": sig, "X-Petstore-Event": "order.completed"},
                  "body": body, "now": 1710331200, "expect": expect, "note": note})

add_pet("petstore-article-1", pet(PET_KEY, ARTICLE), "valid",
        "the article's event verbatim; the same signature tests/real_senders.rs records from Node 20")
add_pet("petstore-article-uppercase-hex", pet(PET_KEY, ARTICLE).upper(), "valid", "the same signature in upper-case hex")
add_pet("petstore-article-reserialized", pet(PET_KEY, json.dumps(json.loads(ARTICLE))), "invalid",
        "signed over the event re-serialized with spaces (Python's json.dumps), delivered as the article's bytes")
add_pet("petstore-article-wrong-key", pet("another petstore secret 0123", ARTICLE), "invalid", "signed with another key")
print(json.dumps({"how": "Computed with Python 3 hmac/hashlib by scripts/vectors/computed_calendly_petstore.py; each case's `source` says how.", "cases": cases}, indent=1))
