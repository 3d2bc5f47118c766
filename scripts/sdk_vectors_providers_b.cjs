// Writes tests/fixtures/sdk_vectors_providers_b.json's cases (stdout) with the providers' npm SDKs:
// npm install razorpay@2.9.8 @mux/mux-node@15.3.0 @paddle/paddle-node-sdk@3.10.0, then node this file.
const crypto = require("node:crypto");
const out = [];
const hmac = (k, m) => crypto.createHmac("sha256", k).update(m).digest("hex");
(async () => {
  // Mux: the SDK's own signing function, Webhooks.computeSignature.
  const { default: Mux } = await import("@mux/mux-node");
  const mux = new Mux({ tokenId: "x", tokenSecret: "y", webhookSecret: "mux-sdk-secret-0123456789" });
  const muxBody = JSON.stringify({ type: "video.asset.ready", id: "3a56ac3d-33da-4366-855b-f592d898409d", data: { id: "asset1" } });
  const t = 1700000000;
  const sig = await mux.webhooks.computeSignature(`${t}.${muxBody}`, "mux-sdk-secret-0123456789");
  out.push({ id: "mux-sdk-1", scheme: "mux", source: "@mux/mux-node@15.3.0 Webhooks.computeSignature", secret: "mux-sdk-secret-0123456789", headers: { "Mux-Signature": `t=${t},v1=${sig}` }, body: muxBody, now: t + 10, expect: "valid", expect_id: "3a56ac3d-33da-4366-855b-f592d898409d" });
  // Paddle: signed with node crypto at the current time, accepted by the SDK's Webhooks.isSignatureValid.
  const { Paddle } = require("@paddle/paddle-node-sdk");
  const paddle = new Paddle("pdl_sdbx_apikey_unused");
  const pSecret = "pdl_ntfset_01sdkcheck_0123456789abcdef";
  const pBody = JSON.stringify({ event_id: "evt_01sdk", event_type: "transaction.paid", occurred_at: "2023-11-14T22:13:20Z", data: { id: "txn_1" } });
  const ts = Math.floor(Date.now() / 1000);
  const pHeader = `ts=${ts};h1=${hmac(pSecret, `${ts}:${pBody}`)}`;
  if (!(await paddle.webhooks.isSignatureValid(pBody, pSecret, pHeader))) throw new Error("paddle SDK refused");
  out.push({ id: "paddle-sdk-1", scheme: "paddle-billing", source: "@paddle/paddle-node-sdk@3.10.0 paddle.webhooks.isSignatureValid accepted it (signed with node crypto)", secret: pSecret, headers: { "Paddle-Signature": pHeader }, body: pBody, now: ts, expect: "valid", expect_id: "evt_01sdk" });
  // Razorpay: signed with node crypto, accepted by the SDK's validateWebhookSignature.
  const Razorpay = require("razorpay");
  const rSecret = "razorpay-sdk-webhook-secret";
  const rBody = JSON.stringify({ entity: "event", event: "payment.captured", payload: { payment: { entity: { id: "pay_1" } } }, created_at: 1700000000 });
  const rSig = hmac(rSecret, rBody);
  if (!Razorpay.validateWebhookSignature(rBody, rSig, rSecret)) throw new Error("razorpay SDK refused");
  if (Razorpay.validateWebhookSignature(rBody + " ", rSig, rSecret)) throw new Error("razorpay SDK accepted a changed body");
  out.push({ id: "razorpay-sdk-1", scheme: "razorpay", source: "razorpay@2.9.8 validateWebhookSignature accepted it (signed with node crypto)", secret: rSecret, headers: { "X-Razorpay-Signature": rSig, "x-razorpay-event-id": "evt_sdk_1" }, body: rBody, expect: "valid", expect_id: "evt_sdk_1" });
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
})().catch((e) => { console.error(e); process.exit(1); });
