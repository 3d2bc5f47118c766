// Writes tests/fixtures/providers/linear.json (through scripts/vectors/split_fixture.py): Linear deliveries
// whose outcome is what @linear/sdk 98.0.0 says, at a fixed clock.
//
// Run: npm install @linear/sdk@98.0.0 in DIR, then
//   node scripts/vectors/sdk_linear.mjs DIR | python3 scripts/vectors/split_fixture.py
//
// The SDK has no signing helper: each delivery is signed with node's crypto
// (hex HMAC-SHA256 of the raw body), then given to the SDK twice, to
// `new LinearWebhookClient(secret).verify(rawBody, signature, timestamp)` and
// to `createHandler()` as a fetch `Request` (the path that reads the
// `linear-timestamp` header), with `Date.now` fixed at the case's `now_ms`.
// A case is `valid` only when both accept it; the script stops if they
// disagree.
import crypto from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.argv[2];
if (!dir) throw new Error("usage: sdk_linear.mjs DIR (where @linear/sdk@98.0.0 is installed)");
const require = createRequire(join(dir, "package.json"));
const { version } = require("@linear/sdk/package.json");
if (version !== "98.0.0") throw new Error(`@linear/sdk ${version} installed, 98.0.0 expected`);
const { LinearWebhookClient } = await import(pathToFileURL(require.resolve("@linear/sdk/webhooks")).href);

const SECRET = "lin_wh_secret_sdk_vectors_0123456789";
const OTHER = "lin_wh_other_secret_sdk_vectors_0123";
const T = 1700000000000; // the body's webhookTimestamp, ms
const DELIVERY = "7d4f5c1e-3b2a-4e8f-9a6b-1c2d3e4f5a6b";
const SOURCE = "@linear/sdk@98.0.0 (npm) LinearWebhookClient.verify and createHandler(); signed with node crypto";

const body = (ts) =>
  JSON.stringify({
    action: "create",
    type: "Issue",
    data: { id: "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9", title: "SDK vector" },
    createdAt: "2023-11-14T22:13:20.000Z",
    ...(ts === undefined ? {} : { webhookTimestamp: ts }),
    webhookId: "000042e3-d123-4980-b49f-8e140eef9329",
  });
const sign = (secret, raw) => crypto.createHmac("sha256", secret).update(raw).digest("hex");

const realNow = Date.now;
async function sdkSays({ raw, signature, header, nowMs }) {
  Date.now = () => nowMs;
  try {
    const client = new LinearWebhookClient(SECRET);
    let verify;
    try {
      verify = client.verify(Buffer.from(raw), signature, header) === true ? "true" : "false";
    } catch (e) {
      verify = `threw ${e.message}`;
    }
    const headers = { "content-type": "application/json", "linear-signature": signature, "linear-delivery": DELIVERY };
    if (header !== undefined) headers["linear-timestamp"] = header;
    const response = await client.createHandler()(new Request("https://example.com/hooks", { method: "POST", headers, body: raw }));
    return { verify, handler: response.status };
  } finally {
    Date.now = realNow;
  }
}

const cases = [
  { id: "linear-sdk-valid", ts: T, nowMs: T + 10_000, note: "webhookTimestamp 10 s old" },
  { id: "linear-sdk-edge-60s", ts: T, nowMs: T + 60_000, note: "webhookTimestamp exactly 60 s old" },
  { id: "linear-sdk-tampered", ts: T, nowMs: T + 10_000, tamper: true, note: "body changed after signing" },
  { id: "linear-sdk-wrong-secret", ts: T, nowMs: T + 10_000, secret: OTHER, note: "signed with another secret" },
  { id: "linear-sdk-stale", ts: T, nowMs: T + 61_000, note: "webhookTimestamp 61 s old" },
  { id: "linear-sdk-future", ts: T, nowMs: T - 61_000, note: "webhookTimestamp 61 s ahead" },
  {
    id: "linear-sdk-header-only",
    ts: undefined,
    nowMs: T,
    header: String(T),
    note: "no webhookTimestamp in the body, a fresh linear-timestamp header",
  },
  {
    id: "linear-sdk-stale-body-fresh-header",
    ts: T,
    nowMs: T + 600_000,
    header: String(T + 600_000),
    note: "webhookTimestamp 10 min old, a fresh linear-timestamp header",
  },
  {
    id: "linear-sdk-fresh-body-stale-header",
    ts: T,
    nowMs: T + 10_000,
    header: String(T - 600_000),
    note: "webhookTimestamp 10 s old, a linear-timestamp header 10 min old",
  },
];

const out = [];
for (const c of cases) {
  const signed = body(c.ts);
  const raw = c.tamper ? signed.replace("SDK vector", "SDK vectoR") : signed;
  const signature = sign(c.secret ?? SECRET, signed);
  const says = await sdkSays({ raw, signature, header: c.header, nowMs: c.nowMs });
  const accepted = says.verify === "true";
  if (accepted !== (says.handler === 200)) throw new Error(`${c.id}: verify and the handler disagree: ${JSON.stringify(says)}`);
  const headers = { "Linear-Signature": signature, "Linear-Delivery": DELIVERY };
  if (c.header !== undefined) headers["linear-timestamp"] = c.header;
  out.push({
    id: c.id,
    scheme: "linear",
    source: SOURCE,
    secret: SECRET,
    headers,
    body: raw,
    now_ms: c.nowMs,
    expect: accepted ? "valid" : "invalid",
    note: `${c.note}; verify: ${says.verify}; handler: ${says.handler}`,
  });
}

const how =
  "Generated by scripts/vectors/sdk_linear.mjs (node " +
  process.versions.node +
  ", npm install @linear/sdk@98.0.0). Linear's SDK has no signing helper: each body is signed with node's crypto " +
  "(hex HMAC-SHA256 of the raw body), and `expect` is what @linear/sdk 98.0.0 says with Date.now fixed at now_ms: " +
  "`valid` when `new LinearWebhookClient(secret).verify(rawBody, signature, timestamp)` returned true and " +
  "`createHandler()` answered 200, `invalid` when both refused (the note gives the SDK's words). Read by tests/vectors.rs and tests/providers/.";
process.stdout.write(JSON.stringify({ how, cases: out }, null, 2) + "\n");
