// The Mastodon API as a real Mastodon client library drives it: masto.js (the `masto` npm
// package, pinned in package.json), nobody's code here. A new user's app registers,
// sends the user through the authorization page (its forms submitted as a browser
// would: the CSRF cookie, sign-in, approval), exchanges the code with PKCE, reads the
// account and the instance; posts a picture; a second user follows the first, pages the
// home timeline through `Link`, favourites (the first hears it on the streaming socket),
// replies; the first edits (heard on the socket; the history holds both) and deletes;
// the token is revoked.
//
//   node scripts/mastodon_check.mjs http://127.0.0.1:8080
//
// Needs the service with `email.dev_outbox` on (the verification link is read there).
import { createHash, randomBytes } from "node:crypto";
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";

const base = process.argv[2];
if (!base) throw new Error("usage: mastodon_check.mjs <base url>");
const redirectUri = "https://app.example/callback";
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

/** A new account, made and verified through the native API as its user would. */
async function account(name) {
  const email = `${name}@example.com`;
  await json(
    await fetch(`${base}/api/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: name, email, password }),
    }),
    `register ${name} natively`,
  );
  const outbox = await json(await fetch(`${base}/api/dev/outbox?to=${encodeURIComponent(email)}`), "read the outbox");
  await json(await fetch(`${base}/api/auth/verify-email?token=${outbox.results[0].token}`), `verify ${email}`);
  return email;
}

/** The fields of the page's form, as a browser would send them. */
function formOf(html) {
  const fields = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    const value = match[2].replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
    fields.append(match[1], value);
  }
  return fields;
}

/** Signs `email` in on the authorization page and approves: the redirect's code. */
async function authorizeOnPage(app, email, verifier) {
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
  const submit = (fields) =>
    fetch(`${base}/oauth/authorize`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
      body: fields,
    });
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
  return back.searchParams.get("code");
}

const anonymous = createRestAPIClient({ url: base });
const oauth = createOAuthAPIClient({ url: base });

// 1. The app registers; the instance describes itself.
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

/** A signed-in masto client for a new account `name`, by the whole OAuth flow. */
async function signedIn(name) {
  const email = await account(name);
  const verifier = randomBytes(32).toString("base64url");
  const code = await authorizeOnPage(app, email, verifier);
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri,
    code,
    codeVerifier: verifier,
  });
  check(token.accessToken && token.scope === "read write follow", `masto exchanges ${name}'s code (PKCE)`);
  const client = createRestAPIClient({ url: base, accessToken: token.accessToken });
  const me = await client.v1.accounts.verifyCredentials();
  check(me.username === name && me.source.privacy === "public", `verify_credentials: @${me.acct}`);
  return { client, me, token: token.accessToken, email };
}

// 2. Two people sign in through the page.
const stamp = Date.now();
const author = await signedIn(`ann${stamp}`);
const reader = await signedIn(`ben${stamp}`);
const same = await reader.client.v1.accounts.$select(author.me.id).fetch();
check(same.id === author.me.id, "the account by id");
const found = await reader.client.v1.accounts.lookup({ acct: author.me.username });
check(found.id === author.me.id, "the account by lookup");
const verified = await author.client.v1.apps.verifyCredentials();
check(verified.name === "masto.js check", "the app by the user's token");

// 3. The reader follows the author (natively, until Mastodon's follow is served); the
// author posts three statuses; the reader pages the home timeline two at a time through
// the Link headers.
const login = await json(
  await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: reader.email, password }),
  }),
  "the reader logs in natively",
);
await json(
  await fetch(`${base}/api/users/${author.me.id}/follow`, { method: "POST", headers: { Authorization: `Bearer ${login.access}` } }),
  "the reader follows the author",
);
// The first status carries a picture: uploaded through masto (the server's own default
// avatar, a real PNG), with alternative text, and waited for until it is processed.
const png = await (await fetch(`${base}/avatars/original/missing.png`)).blob();
let media = await author.client.v2.media.create({ file: png, description: "A grey square" });
for (let tries = 0; tries < 50 && !media.url; tries += 1) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  media = await author.client.v1.media.$select(media.id).fetch();
}
check(media.type === "image" && media.url && media.description === "A grey square", "masto uploads a picture with its description");
// The author sets a display name, a note and an avatar (masto sends a multipart form).
const profile = await author.client.v1.accounts.updateCredentials({
  displayName: "Ann Author",
  note: "Writes <things>",
  avatar: png,
  source: { privacy: "public" },
});
check(
  profile.displayName === "Ann Author" &&
    profile.note === "<p>Writes &lt;things&gt;</p>" &&
    profile.source.note === "Writes <things>" &&
    !profile.avatar.endsWith("missing.png") &&
    (await fetch(profile.avatar)).ok,
  "update_credentials: display name, note and avatar",
);
const picture = await author.client.v1.statuses.create({ status: "A picture from masto.js", mediaIds: [media.id] });
check(picture.mediaAttachments[0]?.id === media.id, "a status with the picture");
const loaded = await fetch(picture.mediaAttachments[0].url);
check(loaded.ok && (await loaded.blob()).size > 0, "its URL loads");
const posted = [];
for (const i of [1, 2, 3]) {
  const status = await author.client.v1.statuses.create({ status: `Status ${i} from masto.js #mastocheck` });
  check(status.content.includes("#<span>mastocheck</span>"), `status ${i} posted, its hashtag linked`);
  posted.push(status.id);
}
let seen = [];
for (let tries = 0; tries < 50; tries += 1) {
  seen = [];
  let pages = 0;
  for await (const page of reader.client.v1.timelines.home.list({ limit: 2 })) {
    seen.push(...page.map((s) => s.id));
    pages += 1;
    if (pages > 5) break;
  }
  if (posted.every((id) => seen.includes(id))) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
check(JSON.stringify(seen.slice(0, 3)) === JSON.stringify([...posted].reverse()), "the home timeline, paged through Link, holds the three, newest first");

// 4. The author listens on the streaming socket; the reader favourites one; the author
// gets the notification live.
const streaming = createStreamingAPIClient({
  streamingApiUrl: instance.configuration.urls.streaming,
  accessToken: author.token,
  retry: false,
});
const events = streaming.user.subscribe()[Symbol.asyncIterator]();
// The socket opens when the stream is first read: the read is kept pending across waits.
let pending = events.next();
/** The next event of the user stream that `wanted` accepts, within `ms`; or null. */
async function nextEvent(wanted, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const next = await Promise.race([
      pending,
      new Promise((resolve) => setTimeout(() => resolve({ timedOut: true }), deadline - Date.now())),
    ]);
    if (next.timedOut) return null;
    if (next.done) throw new Error("failed: the streaming socket closed");
    pending = events.next();
    if (wanted(next.value)) return next.value;
  }
  return null;
}
// Live once one of the author's own new statuses streams back to them (the socket and its
// subscription are under way while the first is written, so one a second until one does).
const markers = new Set();
let heard = null;
for (let tries = 0; tries < 15 && !heard; tries += 1) {
  const marker = await author.client.v1.statuses.create({ status: `Listening ${tries}` });
  markers.add(marker.id);
  heard = await nextEvent((e) => e.event === "update" && markers.has(e.payload.id), 1000);
}
check(heard !== null, "the streaming socket is live (an own status streamed back)");
const faved = await reader.client.v1.statuses.$select(posted[0]).favourite();
check(faved.favourited === true && faved.favouritesCount === 1, "favourited");
const notification = (await nextEvent((e) => e.event === "notification", 15000))?.payload;
check(notification?.type === "favourite" && notification.status.id === posted[0] && notification.account.id === reader.me.id, "the favourite arrives on the streaming socket");
// The author edits the picture's status from its source: the socket hears status.update,
// and the history holds both versions.
const source = await author.client.v1.statuses.$select(picture.id).source.fetch();
check(source.text === "A picture from masto.js", "the source text to edit");
const edited = await author.client.v1.statuses.$select(picture.id).update({
  status: "A picture from masto.js, edited",
  mediaIds: [media.id],
});
check(edited.editedAt && edited.content.includes("edited") && edited.mediaAttachments[0]?.id === media.id, "edited, keeping the picture");
const heardEdit = (await nextEvent((e) => e.event === "status.update" && e.payload.id === picture.id, 15000))?.payload;
check(heardEdit?.content.includes("edited"), "the edit arrives on the streaming socket");
const versions = await author.client.v1.statuses.$select(picture.id).history.list();
check(versions.length === 2 && versions[0].content.includes("A picture from masto.js</p>") && versions[1].content.includes("edited"), "the history: the first version, then the edit");
streaming.close();
const reply = await reader.client.v1.statuses.create({ status: "Nice one", inReplyToId: posted[0] });
check(reply.inReplyToId === posted[0], "a reply");
const context = await author.client.v1.statuses.$select(posted[0]).context.fetch();
check(context.descendants.some((s) => s.id === reply.id), "the reply is in the context");

// 5. The author deletes a status; it is gone.
const deleted = await author.client.v1.statuses.$select(posted[2]).remove();
check(deleted.text === "Status 3 from masto.js #mastocheck", "deleted, with its text to redraft");
let gone = false;
try {
  await reader.client.v1.statuses.$select(posted[2]).fetch();
} catch (err) {
  gone = err.statusCode === 404;
}
check(gone, "a deleted status is 404");

// 6. Revoked: the token stops working.
await oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: author.token });
let refused = false;
try {
  await author.client.v1.accounts.verifyCredentials();
} catch (err) {
  refused = err.statusCode === 401;
}
check(refused, "a revoked token is refused (401)");
console.log("masto.js: every check passed");
