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
} else if (sdk === "@linear/sdk") {
  // The SDK only verifies: sign with node's crypto, and let the SDK's own
  // verify (which throws unless it accepts, at the current time) pass it first.
  const { createHmac } = await import("node:crypto");
  const { LinearWebhookClient } = await import("@linear/sdk/webhooks");
  const signature = createHmac("sha256", secret).update(body).digest("hex");
  new LinearWebhookClient(secret).verify(Buffer.from(body), signature);
  process.stdout.write(signature);
} else {
  throw new Error(`unknown sdk ${sdk}`);
}
