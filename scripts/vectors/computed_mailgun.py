#!/usr/bin/env python3
# Writes tests/fixtures/providers/mailgun.json: computed vectors for Mailgun's
# JSON webhooks (Mailgun publishes none with its key, and no SDK of its own
# signs deliveries; mailgun-go and mailgun.js only verify).
# Run: python3 scripts/vectors/computed_mailgun.py | python3 scripts/vectors/split_fixture.py
import hashlib, hmac, json

SRC = ("COMPUTED with Python 3 hmac/hashlib by scripts/vectors/computed_mailgun.py: hex HMAC-SHA256 "
       "of timestamp + token under the HTTP webhook signing key, as "
       "https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks describes")
KEY = "mailgun signing key"
TOKEN = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"  # the docs' example token
TS = "1700000000"
NOW = 1700000030
cases = []

def sig(key, ts, token):
    return hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()

def body(ts, token, signature, event="delivered", ts_json=None):
    ts_text = ts_json if ts_json is not None else json.dumps(ts)
    return ('{"signature":{"timestamp":%s,"token":"%s","signature":"%s"},'
            '"event-data":{"event":"%s","id":"CPgfbmQMTCKtHW6uIWtuVe"}}' % (ts_text, token, signature, event))

def add(id, b, expect, note, now=NOW, secret=KEY):
    cases.append({"id": id, "scheme": "mailgun", "source": SRC, "secret": secret, "headers": {},
                  "body": b, "now": now, "expect": expect, "note": note})

good = sig(KEY, TS, TOKEN)
add("mailgun-computed-1", body(TS, TOKEN, good), "valid", "timestamp as a JSON string, as Mailgun's docs show it")
add("mailgun-computed-number-timestamp", body(TS, TOKEN, good, ts_json=TS), "valid",
    "the same timestamp as a JSON number (the docs' parameter table calls it an int)")
add("mailgun-computed-event-data-unsigned", body(TS, TOKEN, good, event="failed"), "valid",
    "event-data changed after signing still verifies: Mailgun signs only timestamp and token "
    "(the token is the replay key, so a captured signature serves one delivery)")
add("mailgun-computed-wrong-key", body(TS, TOKEN, sig("another key", TS, TOKEN)), "invalid", "signed with another key")
add("mailgun-computed-token-changed", body(TS, TOKEN[:-1] + "1", good), "invalid", "token changed after signing")
add("mailgun-computed-timestamp-changed", body("1700000001", TOKEN, good), "invalid", "timestamp changed after signing")
add("mailgun-computed-reversed", body(TS, TOKEN, sig(KEY, TOKEN, TS)), "invalid", "HMAC of token + timestamp: the wrong order")
add("mailgun-computed-stale", body(TS, TOKEN, good), "invalid", "verified 301 s after its timestamp (the default tolerance is 300 s)", now=1700000301)
add("mailgun-computed-no-signature", '{"event-data":{"event":"delivered"}}', "invalid", "no signature block")
print(json.dumps({"how": SRC, "cases": cases}, indent=2))
