// A real Mastodon web client against Rookery: Phanpy (https://github.com/cheeaun/phanpy),
// built from its own source and served over HTTPS, driven in headless Chromium through
// Playwright. Two new users sign in through Rookery's OAuth page; the first posts a
// photo; the second follows the first and favourites the photo; the first sees the
// notification arrive live. Screenshots of each step go to the output folder.
//
//   node scripts/webclient_check.mjs <service> <client> <instance> <out>
//   e.g. node scripts/webclient_check.mjs http://127.0.0.1:8080 https://phanpy.test \
//        rookery.test docs/mastodon
//
// <service> is the service itself (this script registers the two users there, through the
// native API, reading the verification links from the development outbox); <instance>
// is its public host, which the browser reaches over TLS (docs/MASTODON.md says how it
// was set up). PLAYWRIGHT_CORE may name where `playwright-core` is installed;
// CHROMIUM the browser (default /usr/bin/chromium); RESOLVE extra host mappings for
// Chromium's --host-resolver-rules (e.g. "MAP rookery.test 127.0.0.1").
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

const [service, client, instance, out] = process.argv.slice(2);
if (!out) throw new Error("usage: webclient_check.mjs <service> <client> <instance> <out>");
mkdirSync(out, { recursive: true });
const { chromium } = await import(process.env.PLAYWRIGHT_CORE ?? "playwright-core");
const password = `Phanpy-${randomBytes(6).toString("hex")}`;
const suffix = randomBytes(2).toString("hex");

function check(ok, what) {
  if (!ok) throw new Error(`failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function json(response, what) {
  const text = await response.text();
  if (!response.ok) throw new Error(`failed: ${what} (${response.status} ${text.slice(0, 300)})`);
  return text ? JSON.parse(text) : null;
}

/** A new verified account, made through the native API. */
async function account(username, fullName) {
  const email = `${username}@example.com`;
  await json(
    await fetch(`${service}/api/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, email, password, full_name: fullName }),
    }),
    `register ${username}`,
  );
  const outbox = await json(await fetch(`${service}/api/dev/outbox?to=${encodeURIComponent(email)}`), "the outbox");
  await json(await fetch(`${service}/api/auth/verify-email?token=${outbox.results[0].token}`), `verify ${email}`);
  check(true, `${username} registered and verified`);
  return { username, email };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    ...(process.env.RESOLVE ? [`--host-resolver-rules=${process.env.RESOLVE}`] : []),
  ],
});

let shots = 0;
async function shot(page, name) {
  shots += 1;
  await page.screenshot({ path: `${out}/${String(shots).padStart(2, "0")}-${name}.png` });
}

/** Signs `user` in to the client in a browser of their own: Phanpy's login form, then
 * Rookery's authorization page (sign in, authorize), then back to Phanpy's home. */
async function signIn(user, { screenshots }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 820 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => console.log(`[${user.username}] page error: ${err.message}`));
  page.on("dialog", (d) => {
    console.log(`[${user.username}] dialog: ${d.message()}`);
    d.accept();
  });
  page.on("response", (r) => {
    if (r.url().includes(instance) && r.status() >= 400) console.log(`[${user.username}] ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  await page.goto(`${client}/#/login`);
  await page.fill("#instanceURL", instance);
  if (screenshots) await shot(page, "phanpy-login");
  // Phanpy opens the authorization page in a popup (or, if that is blocked, in place).
  const popupOrSelf = Promise.race([
    page.waitForEvent("popup", { timeout: 20000 }),
    page.waitForURL(/\/oauth\/authorize/, { timeout: 20000 }).then(() => page),
  ]);
  await page.getByRole("button", { name: `Continue with ${instance}` }).click();
  const auth = await popupOrSelf;
  await auth.waitForSelector("input[name=email]");
  await auth.setViewportSize({ width: 1200, height: 820 });
  await auth.fill("input[name=email]", user.email);
  await auth.fill("input[name=password]", password);
  if (screenshots) await shot(auth, "rookery-oauth-sign-in");
  await auth.click("button[type=submit]");
  await auth.waitForSelector("button[value=approve]");
  if (screenshots) await shot(auth, "rookery-oauth-authorize");
  await auth.click("button[value=approve]");
  // Back in Phanpy, signed in: its home timeline with the compose button.
  await page.waitForSelector("#compose-button, button.compose-button, [title='Compose']", { timeout: 30000 });
  check(true, `${user.username} signed in to Phanpy through Rookery's OAuth page`);
  return { context, page };
}

/** A colourful 800×600 JPEG made by FFmpeg (its Mandelbrot source): the photo to post. */
function photo() {
  const path = `${out}/.photo.jpg`;
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "mandelbrot=size=800x600", "-frames:v", "1", path]);
  return path;
}

async function lookup(username) {
  return json(await fetch(`${service}/api/v1/accounts/lookup?acct=${username}`), `look ${username} up`);
}

try {
  const ana = await account(`ana${suffix}`, "Ana Lima");
  const ben = await account(`ben${suffix}`, "Ben Okafor");
  const a = await signIn(ana, { screenshots: true });
  await shot(a.page, "phanpy-home");
  // Ana's Phanpy listens for notifications on the streaming socket: its frames are read
  // as they arrive.
  let heardLive = false;
  a.page.on("websocket", (socket) => {
    socket.on("framereceived", ({ payload }) => {
      try {
        if (JSON.parse(payload).event === "notification") heardLive = true;
      } catch {}
    });
  });

  // 1. Ana posts a photo with a caption and alternative text.
  await a.page.click("#compose-button");
  await a.page.waitForSelector("textarea.compose-field");
  await a.page.fill("textarea.compose-field", "Evening light over the estuary #photography");
  await a.page.setInputFiles("input[type=file]", photo());
  await a.page.waitForSelector(".media-attachment textarea, .media-preview", { timeout: 30000 });
  const alt = a.page.locator(".media-attachment textarea");
  if (await alt.count()) {
    await alt.first().click();
    await alt.first().pressSequentially("Swirls of blue and orange");
    await alt.first().press("Tab");
    await a.page.waitForTimeout(1000); // Phanpy keeps the description after a debounce
  }
  await shot(a.page, "phanpy-compose-photo");
  const posted = a.page.waitForResponse((r) => r.url().endsWith("/api/v1/statuses") && r.request().method() === "POST", { timeout: 30000 });
  await a.page.getByRole("button", { name: "Post", exact: true }).click();
  const created = await (await posted).json();
  check(created.media_attachments?.length === 1, "Ana posted a photo from Phanpy");
  check(created.media_attachments[0].description === "Swirls of blue and orange", "with its alternative text");
  // Ana's own profile in Phanpy shows it.
  await a.page.goto(`${client}/#/${instance}/a/${created.account.id}`);
  await a.page.waitForSelector("text=Evening light over the estuary", { timeout: 30000 });
  await a.page.waitForTimeout(2000);
  await shot(a.page, "phanpy-posted");
  // Ana goes back to her home timeline (the page stays loaded: its socket stays open).
  await a.page.goto(`${client}/#/`);
  await a.page.waitForSelector(".notifications-button", { timeout: 30000 });

  // 2. Ben signs in, opens Ana's profile and follows her.
  const b = await signIn(ben, { screenshots: false });
  const anaAccount = await lookup(ana.username);
  await b.page.goto(`${client}/#/${instance}/a/${anaAccount.id}`);
  const follow = b.page.getByRole("button", { name: "Follow", exact: true });
  await follow.first().waitFor({ timeout: 30000 });
  await follow.first().click();
  await b.page.getByRole("button", { name: /Following|Unfollow/ }).first().waitFor({ timeout: 30000 });
  const relation = await json(await fetch(`${service}/api/users/${ana.username}`), "Ana's profile");
  check(relation.followers_count === 1, "Ben follows Ana from Phanpy");
  await b.page.waitForTimeout(1000);
  await shot(b.page, "phanpy-followed");
  // Her photo is in his home timeline now (the follow copies her recent posts into it).
  let inHome = false;
  for (let tries = 0; tries < 15 && !inHome; tries += 1) {
    await b.page.goto(`${client}/#/`);
    await b.page.reload();
    inHome = await b.page
      .waitForSelector("text=Evening light over the estuary", { timeout: 2000 })
      .then(() => true)
      .catch(() => false);
  }
  check(inHome, "Ana's photo is in Ben's home timeline");
  await b.page.waitForTimeout(1500);
  await shot(b.page, "phanpy-home-following");

  // 3. Ben favourites the photo from the status's page; Ana's Phanpy hears it live.
  await b.page.goto(`${client}/#/${instance}/s/${created.id}`);
  const like = b.page.locator(".favourite-button").first();
  await like.waitFor({ timeout: 30000 });
  await like.click();
  await b.page.waitForSelector(".favourite-button.checked, .favourite-button[aria-pressed=true]", { timeout: 30000 }).catch(() => {});
  await b.page.waitForTimeout(1000);
  await shot(b.page, "phanpy-favourited");
  await a.page.waitForSelector(".notifications-button.has-badge", { timeout: 30000 });
  check(heardLive, "Ana's Phanpy got the favourite on the streaming socket (no reload)");
  await shot(a.page, "phanpy-live-notification");
  await a.page.goto(`${client}/#/notifications`);
  await a.page.waitForSelector("text=Ben Okafor", { timeout: 30000 });
  await a.page.waitForTimeout(1500);
  await shot(a.page, "phanpy-notifications");
} finally {
  await browser.close();
}
console.log("web client: every check passed");
