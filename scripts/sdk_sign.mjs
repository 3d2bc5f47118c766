// Signs one delivery with a provider's own npm SDK; run by scripts/sdk_check.py.
// Reads {"sdk", "secret", "body", "timestamp"} as JSON on stdin and writes
// the signature header's value on stdout.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { sdk, secret, body, timestamp } = JSON.parse(readFileSync(0, "utf8"));

if (sdk === "@octokit/webhooks-methods") {
  const { sign } = await import("@octokit/webhooks-methods");
  process.stdout.write(await sign(secret, body));
} else if (sdk === "stripe") {
  const Stripe = require("stripe");
  const stripe = new Stripe("sk_test_unused");
  process.stdout.write(stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }));
} else {
  throw new Error(`unknown sdk ${sdk}`);
}
