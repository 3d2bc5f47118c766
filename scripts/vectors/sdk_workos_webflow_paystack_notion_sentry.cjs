// Writes tests/fixtures/providers/{workos,webflow,paystack,notion,sentry}.json, one fixture per provider, read by
// tests/providers/. Run from the repository root after
//   npm install @workos-inc/node@8.13.0 webflow-api@3.3.4
// then check them with the Python SDKs: scripts/vectors/sdk_workos_paystack_check.py.
const crypto = require("node:crypto");
const fs = require("node:fs");
const hmac = (alg, key, msg, enc = "hex") => crypto.createHmac(alg, key).update(msg).digest(enc);
const write = (name, how, cases) =>
  fs.writeFileSync(`tests/fixtures/providers/${name}.json`, JSON.stringify({ how, cases }, null, 2) + "\n");

(async () => {
  // WorkOS: the SDK's own Webhooks.computeSignature (it JSON.stringifies the payload object: that string is the body).
  const { WorkOS } = require("@workos-inc/node");
  const workos = new WorkOS("sk_test_unused");
  const wSecret = "workos-webhook-secret-0123456789";
  const wPayload = {
    id: "event_01JASJ7ZK8N7Z5VZ1Y1C2R3X4V",
    event: "user.created",
    data: { object: "user", id: "user_01E4ZCR3C56J083X43JQXF3JK5", email: "marcelina.davis@example.com", email_verified: true, created_at: "2021-06-25T19:07:33.155Z" },
    created_at: "2021-06-25T19:07:33.155Z",
  };
  const wT = 1700000000123;
  const wSig = await workos.webhooks.computeSignature(wT, wPayload, wSecret);
  const wHeader = `t=${wT}, v1=${wSig}`;
  await workos.webhooks.verifyHeader({ payload: wPayload, sigHeader: wHeader, secret: wSecret, tolerance: Date.now() });
  write("workos", "Signed by @workos-inc/node@8.13.0 Webhooks.computeSignature (node 20) and accepted by its verifyHeader; scripts/vectors/sdk_workos_webflow_paystack_notion_sentry.cjs.", [
    { id: "workos-sdk-1", scheme: "workos", source: "@workos-inc/node@8.13.0 webhooks.computeSignature", secret: wSecret,
      headers: { "WorkOS-Signature": wHeader }, body: JSON.stringify(wPayload), now: 1700000010, expect: "valid", expect_id: wPayload.id, expect_type: "user.created" },
  ]);

  // Webflow: signed with node crypto as Webflow's docs say; accepted by the SDK's webhooks.verifySignature.
  const { WebflowClient } = require("webflow-api");
  const webflow = new WebflowClient({ accessToken: "unused" });
  const fSecret = "webflow-client-secret-0123456789";
  const fBody = JSON.stringify({
    triggerType: "form_submission",
    payload: { name: "Contact Us", siteId: "65427cf400e02b306eaa049c", data: { "First Name": "Zaphod", email: "zaphod@heartofgold.ai" },
      submittedAt: "2022-09-14T12:35:16.117Z", id: "6321ca84df3949bfc6752327", formId: "65429eadebe8a9f3a30f62d0" },
  });
  const fT = "1700000000456";
  const fSig = hmac("sha256", fSecret, `${fT}:${fBody}`);
  const fHeaders = { "x-webflow-timestamp": fT, "x-webflow-signature": fSig };
  if (!(await webflow.webhooks.verifySignature({ headers: fHeaders, body: fBody, secret: fSecret }))) throw new Error("webflow SDK refused");
  if (await webflow.webhooks.verifySignature({ headers: fHeaders, body: fBody + " ", secret: fSecret })) throw new Error("webflow SDK accepted a changed body");
  write("webflow", "Signed with node 20's crypto (HMAC-SHA256 of `timestamp:body`, Webflow's docs) and accepted by webflow-api@3.3.4 webhooks.verifySignature, which refused the body with one byte appended; scripts/vectors/sdk_workos_webflow_paystack_notion_sentry.cjs.", [
    { id: "webflow-sdk-1", scheme: "webflow", source: "webflow-api@3.3.4 webhooks.verifySignature accepted it (signed with node crypto)", secret: fSecret,
      headers: { "X-Webflow-Timestamp": fT, "X-Webflow-Signature": fSig }, body: fBody, now: 1700000030, expect: "valid", expect_id: `sig:${fSig}`, expect_type: "form_submission" },
  ]);

  // Paystack: HMAC-SHA512 of the body with node crypto, as Paystack's docs' snippet; checked by pypaystack2 (sdk_workos_paystack_check.py).
  const pSecret = "sk_test_0123456789abcdef0123456789abcdef01234567";
  const pBody = JSON.stringify({
    event: "charge.success",
    data: { id: 302961, domain: "live", status: "success", reference: "qTPrJoy9Bx", amount: 10000, currency: "NGN", paid_at: "2016-09-30T21:10:19.000Z", channel: "card", customer: { id: 68324, email: "bojack@horsinaround.com" } },
  });
  const pSig = hmac("sha512", pSecret, pBody);
  write("paystack", "Signed with node 20's crypto (HMAC-SHA512 of the body keyed with the secret key, as Paystack's docs' snippet); accepted by pypaystack2 3.4.0 (community SDK) is_verified_webhook_payload in scripts/vectors/sdk_workos_paystack_check.py; scripts/vectors/sdk_workos_webflow_paystack_notion_sentry.cjs.", [
    { id: "paystack-1", scheme: "paystack", source: "node crypto per paystack.com/docs/payments/webhooks, checked by pypaystack2 3.4.0", secret: pSecret,
      headers: { "x-paystack-signature": pSig }, body: pBody, now: 1700000000, expect: "valid", expect_id: `sig:${pSig}`, expect_type: "charge.success" },
  ]);

  // Notion: HMAC-SHA256 of the body keyed with the verification token, as the snippet in Notion's docs (no SDK verifies).
  const nToken = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
  const nBody = JSON.stringify({
    id: "367cba44-b6f3-4c92-81e7-6a2e9659efd4", timestamp: "2024-12-05T23:55:34.285Z", workspace_id: "13950b26-c203-4f3b-b97d-93ec06319565",
    workspace_name: "Quantify Labs", subscription_id: "29d75c0d-5546-4414-8459-7b7a92f1fc4b", integration_id: "0ef2e755-4912-8096-91c1-00376a88a5ca",
    authors: [{ id: "c7c11cca-1d73-471d-9b6e-bdef51470190", type: "person" }], attempt_number: 1,
    entity: { id: "153104cd-477e-809d-8dc4-ff2d96ae3090", type: "page" }, type: "page.created",
    data: { parent: { id: "13950b26-c203-4f3b-b97d-93ec06319565", type: "space" } },
  });
  write("notion", "Signed with node 20's crypto as the snippet in Notion's docs (`sha256=` + hex HMAC-SHA256 of the body keyed with the verification token); @notionhq/client has no verifier; scripts/vectors/sdk_workos_webflow_paystack_notion_sentry.cjs.", [
    { id: "notion-1", scheme: "notion", source: "node crypto per developers.notion.com/reference/webhooks", secret: nToken,
      headers: { "X-Notion-Signature": `sha256=${hmac("sha256", nToken, nBody)}` }, body: nBody, now: 1733442934, expect: "valid", expect_id: "367cba44-b6f3-4c92-81e7-6a2e9659efd4", expect_type: "page.created" },
  ]);

  // Sentry: hex HMAC-SHA256 of the body keyed with the integration's client secret, as the snippet in Sentry's docs (no SDK verifies).
  const sSecret = "sentry-client-secret-0123456789abcdef";
  const sBody = JSON.stringify({
    action: "created", installation: { uuid: "7a485448-a9e2-4c85-8a3c-4f44175783c9" },
    data: { issue: { id: "1170820242", shortId: "SENTRY-1", title: "Error: hello", status: "unresolved" } },
    actor: { type: "application", id: "sentry", name: "Sentry" },
  });
  write("sentry", "Signed with node 20's crypto as the snippet in Sentry's docs (hex HMAC-SHA256 of the body keyed with the client secret); no Sentry SDK verifies; scripts/vectors/sdk_workos_webflow_paystack_notion_sentry.cjs.", [
    { id: "sentry-1", scheme: "sentry", source: "node crypto per docs.sentry.io integration-platform webhooks", secret: sSecret,
      headers: { "Sentry-Hook-Signature": hmac("sha256", sSecret, sBody), "Sentry-Hook-Resource": "issue", "Sentry-Hook-Timestamp": "1700000000", "Request-ID": "5f3c8ba1-5b6b-4a3a-a5f0-1b2c3d4e5f60" },
      body: sBody, now: 1700000000, expect: "valid", expect_id: "5f3c8ba1-5b6b-4a3a-a5f0-1b2c3d4e5f60", expect_type: "issue" },
  ]);
})().catch((e) => { console.error(e); process.exit(1); });
