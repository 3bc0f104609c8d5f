// The Mastodon API as a real Mastodon client library drives it: masto.js (the `masto` npm
// package, pinned in package.json), nobody's code here. A new user's app registers,
// sends the user through the authorization page (its forms submitted as a browser
// would: the CSRF cookie, sign-in, approval), exchanges the code with PKCE, reads the
// account and the instance, refreshes, and revokes the token.
//
//   node scripts/mastodon_check.mjs http://127.0.0.1:8080
//
// Needs the service with `email.dev_outbox` on (the verification link is read there).
import { createHash, randomBytes } from "node:crypto";
import { createOAuthAPIClient, createRestAPIClient } from "masto";

const base = process.argv[2];
if (!base) throw new Error("usage: mastodon_check.mjs <base url>");
const redirectUri = "https://app.example/callback";
const name = `masto${Date.now()}`;
const email = `${name}@example.com`;
const password = `Masto-${randomBytes(6).toString("hex")}`;

function check(ok, what) {
  if (!ok) throw new Error(`failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function json(response, what) {
  const text = await response.text();
  if (!response.ok) throw new Error(`failed: ${what} (${response.status} ${text.slice(0, 300)})`);
  console.log(`ok - ${what}`);
  return text ? JSON.parse(text) : null;
}

// The account, made and verified through the native API as its user would.
await json(
  await fetch(`${base}/api/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: name, email, password }),
  }),
  "register natively",
);
const outbox = await json(await fetch(`${base}/api/dev/outbox?to=${encodeURIComponent(email)}`), "read the outbox");
await json(await fetch(`${base}/api/auth/verify-email?token=${outbox.results[0].token}`), "verify the address");

// 1. The app registers.
const anonymous = createRestAPIClient({ url: base });
const app = await anonymous.v1.apps.create({
  clientName: "masto.js check",
  redirectUris: redirectUri,
  scopes: "read write follow",
  website: "https://app.example",
});
check(app.clientId && app.clientSecret, "masto registers an app");

const instance = await anonymous.v2.instance.fetch();
check(instance.version.includes("compatible; Rookery"), `v2 instance: ${instance.version}`);
check(instance.configuration.urls.streaming.startsWith("ws"), "the streaming URL");

// 2. The authorization page, as a browser submits it.
const verifier = randomBytes(32).toString("base64url");
const challenge = createHash("sha256").update(verifier).digest("base64url");
const state = randomBytes(8).toString("hex");
const authorize = new URL(`${base}/oauth/authorize`);
for (const [k, v] of Object.entries({
  response_type: "code",
  client_id: app.clientId,
  redirect_uri: redirectUri,
  scope: "read write follow",
  state,
  code_challenge: challenge,
  code_challenge_method: "S256",
})) {
  authorize.searchParams.set(k, v);
}
const page = await fetch(authorize);
check(page.status === 200, "the authorization page opens");
const cookie = page.headers.get("set-cookie").split(";")[0];

/** The fields of the page's form, as a browser would send them. */
function formOf(html) {
  const fields = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    const value = match[2].replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
    fields.append(match[1], value);
  }
  return fields;
}

async function submit(fields) {
  return fetch(`${base}/oauth/authorize`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
    body: fields,
  });
}

const signIn = formOf(await page.text());
signIn.set("step", "sign_in");
signIn.set("email", email);
signIn.set("password", password);
const approval = await submit(signIn);
const approvalHtml = await approval.text();
check(approval.status === 200 && approvalHtml.includes("Authorize"), "sign-in shows the approval page");
const approve = formOf(approvalHtml);
approve.set("step", "approve");
const redirected = await submit(approve);
check(redirected.status === 303, "approving redirects to the app");
const back = new URL(redirected.headers.get("location"));
check(back.origin + back.pathname === redirectUri && back.searchParams.get("state") === state, "back at the redirect URI with the state");
const code = back.searchParams.get("code");

// 3. The code for a token, with PKCE, through masto's OAuth client.
const oauth = createOAuthAPIClient({ url: base });
const token = await oauth.token.create({
  grantType: "authorization_code",
  clientId: app.clientId,
  clientSecret: app.clientSecret,
  redirectUri,
  code,
  codeVerifier: verifier,
});
check(token.accessToken && token.scope === "read write follow", "masto exchanges the code (PKCE)");

// 4. Signed in.
const masto = createRestAPIClient({ url: base, accessToken: token.accessToken });
const me = await masto.v1.accounts.verifyCredentials();
check(me.username === name && me.source.privacy === "public", `verify_credentials: @${me.acct}`);
const same = await masto.v1.accounts.$select(me.id).fetch();
check(same.id === me.id, "the account by id");
const found = await masto.v1.accounts.lookup({ acct: name });
check(found.id === me.id, "the account by lookup");
const verified = await masto.v1.apps.verifyCredentials();
check(verified.name === "masto.js check", "the app by the user's token");

// 5. Revoked: the token stops working.
await oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: token.accessToken });
let refused = false;
try {
  await masto.v1.accounts.verifyCredentials();
} catch (err) {
  refused = err.statusCode === 401;
}
check(refused, "a revoked token is refused (401)");
console.log("masto.js: every check passed");
