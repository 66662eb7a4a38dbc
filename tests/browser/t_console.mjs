// t_console.mjs - the admin console in a browser that trusts the root
// (it is in the profile's NSS store): the plain page's trust check
// saying "trusted"; login refused and accepted; the onboarding button
// with a device enrolling in the background (lanca-enroll) showing up
// without a reload; an overlap shown with what to do; pending requests
// approved and denied, and paged past 100; a POST without
// the CSRF token refused; the inventory, audit log and overview; every
// view at 360 px; logout; the headers of every kind of answer.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { env, rootSha256, launch, ok, check, equal, shot, watch, run, tabTo } from "./harness.mjs";

const FP = rootSha256.toUpperCase().match(/../g).join(":");

// lanca-enroll as a device, in the background; resolves to its exit
// status and what it printed.
function device(id) {
  const out = path.join(env.tmp, "dev-" + id);
  const gw = env.https.replace("127.0.0.1", "localhost");
  const p = spawn(env.enroll, ["enroll", "--gateway", gw, "--id", id, "--name", id + ".local",
    "--out", out, "--fingerprint", FP, "--http", env.http, "--timeout", "60"]);
  let err = "";
  p.stderr.on("data", (d) => { err += d; });
  const done = new Promise((resolve) => p.on("exit", (code) => resolve({ code, err })));
  return { done, kill: () => p.kill() };
}

async function pendingIds(page) {
  return page.evaluate(async () => {
    const r = await fetch("/api/v1/requests?state=pending", { cache: "no-store" });
    return (await r.json()).requests.map((q) => q.device_id);
  });
}

run(async () => {
  const browser = await launch(path.join(env.tmp, "home-trusted"));
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  const problems = watch(page);

  await page.goto(env.http + "/");
  await page.waitForSelector('#trust-state[data-state="trusted"]', { timeout: 10000 });
  check(await page.isVisible("#trust-next"), "a link to the secure page once trusted");
  ok("trust check with the root in the browser's NSS store: trusted, with a link to HTTPS");

  await page.goto(env.https + "/admin.html");
  await page.waitForSelector("#view-login:not([hidden])");
  check(await page.isHidden("#nav"), "no views before login");
  await page.fill("#login-user", env.user);
  await page.fill("#login-password", env.password + "-wrong");
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector("#error:not([hidden])");
  check(/Login refused/.test(await page.textContent("#error")), "wrong password: an error");
  check(await page.isHidden("#nav"), "wrong password: still logged out");
  ok("login with a wrong password refused");

  // The right password, from the keyboard alone: Tab to each field,
  // Enter to log in, then Tab to a view and Enter to open it.
  await page.reload();
  await page.waitForSelector("#view-login:not([hidden])");
  check(await tabTo(page, "#login-user"), "Tab reaches the user field");
  await page.keyboard.type(env.user);
  check(await tabTo(page, "#login-password", 3), "Tab reaches the password field");
  await page.keyboard.type(env.password);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#view-onboard:not([hidden])");
  check(await page.isVisible("#nav"), "views after login");
  check(await tabTo(page, '#nav button[data-view="audit"]'), "Tab reaches the Audit view's button");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#view-audit:not([hidden])");
  check(await tabTo(page, '#nav button[data-view="onboard"]', 80), "Tab comes round to Onboarding");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#view-onboard:not([hidden])");
  check(await tabTo(page, "#press"), "Tab reaches the button");
  const cookies = await ctx.cookies();
  const c = cookies.find((x) => x.name === "__Host-lanca_session");
  check(c && c.httpOnly && c.secure && c.sameSite === "Strict", "the session cookie: HttpOnly, Secure, Strict");
  ok("login with the right password from the keyboard alone, views opened with Tab and Enter; an HttpOnly Secure SameSite=Strict cookie");

  // The backup root's key is not confirmed stored: the console says so
  // above every view until `lanca backup-root confirm`.
  await page.waitForSelector("#backup-warning:not([hidden])", { timeout: 10000 });
  check(/not confirmed stored offline.*backup-root confirm/.test(await page.textContent("#backup-warning")),
    "the warning says what to do");
  equal(spawnSync(env.lanca, ["backup-root", "confirm", "--dir", env.state]).status, 0, "backup-root confirm");
  await page.reload();
  await page.waitForSelector("#view-onboard:not([hidden])");
  await page.waitForFunction(() => document.getElementById("backup-warning").hidden, null, { timeout: 10000 });
  ok("the console warns of the unconfirmed backup root until `lanca backup-root confirm`");

  // A state-changing request without the token is refused; the same with it passes.
  const csrf = await page.evaluate(async () => {
    const bare = await fetch("/api/v1/press", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: '{"seconds": 5}' });
    const forged = await fetch("/api/v1/press", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": "0".repeat(64) },
      body: '{"seconds": 5}' });
    return [bare.status, forged.status];
  });
  equal(csrf.join(","), "403,403", "POST /api/v1/press without / with a wrong CSRF token");
  ok("a POST without the CSRF token (or with a wrong one) is refused: 403");

  // The button, then a device in the background appearing without a reload.
  await page.fill("#press-seconds", "60");
  await page.fill("#press-count", "1");
  await page.click("#press");
  await page.waitForSelector('#window[data-state="open"]');
  check(/\d:\d\d/.test(await page.textContent("#countdown")), "a countdown");
  const a = device("kettle");
  await page.waitForSelector('#admitted li:has-text("kettle")', { timeout: 30000 });
  equal((await a.done).code, 0, "lanca-enroll kettle's exit status");
  await page.waitForSelector('#window[data-state="closed"]', { timeout: 10000 });
  ok("the button opens the window with a countdown; kettle enrolls and shows up without a reload");

  // Two devices with the window closed: both wait for the admin.
  const b = device("plug");
  const d = device("camera");
  await page.click('#nav button[data-view="pending"]');
  await page.waitForSelector('#pending-rows tr:has-text("plug")', { timeout: 30000 });
  await page.waitForSelector('#pending-rows tr:has-text("camera")', { timeout: 30000 });
  equal((await page.textContent('#pending-rows tr:has-text("plug") td.door')).trim(), "API",
    "plug's door before any press");

  // A press with both waiting: an overlap, which admits neither. The
  // console says so, with what to do, and each row names the window.
  await page.click('#nav button[data-view="onboard"]');
  await page.fill("#press-seconds", "20");
  await page.fill("#press-count", "1");
  await page.click("#press");
  await page.waitForSelector('#window[data-state="overlap"]', { timeout: 10000 });
  check(/Overlap: 2 devices/.test(await page.textContent("#window")),
    `the window names the overlap: ${await page.textContent("#window")}`);
  check(await page.isVisible("#overlap-help"), "what to do about an overlap is shown");
  check(await page.isHidden("#contested-help"), "no contested help for an overlap");
  await page.click('#nav button[data-view="pending"]');
  await page.waitForSelector('#pending-rows tr:has-text("plug") td.door:has-text("window (overlap)")',
    { timeout: 10000 });
  await page.waitForSelector('#pending-rows tr:has-text("camera") td.door:has-text("window (overlap)")');
  check(/session overlap/.test(await page.textContent('#pending-rows tr:has-text("plug") .why')),
    "the overlap note is shown in the row");
  await shot(page, "console-pending.png");
  ok("a press with two devices waiting: overlap shown with what to do; the rows name the window");

  const row = page.locator('#pending-rows tr:has-text("plug")');
  await row.locator("button.approve").click();
  await page.waitForSelector('#notice:has-text("Approved")');
  equal((await b.done).code, 0, "lanca-enroll plug's exit status after approval");
  ok("a pending request approved from the console: the device gets its certificate");

  const row2 = page.locator('#pending-rows tr:has-text("camera")');
  await row2.locator("input").fill("not ours");
  await row2.locator("button.deny").click();
  await page.waitForSelector('#notice:has-text("Denied")');
  const dd = await d.done;
  check(dd.code !== 0, `lanca-enroll camera exits non-zero after the denial (${dd.code})`);
  await page.waitForFunction(() => !document.querySelector("#pending-rows tr"), null, { timeout: 10000 });
  equal((await pendingIds(page)).join(","), "", "nothing left pending");
  const denied = await page.evaluate(async () => {
    const r = await fetch("/api/v1/requests?state=denied", { cache: "no-store" });
    return (await r.json()).requests.map((q) => q.device_id).join(",");
  });
  equal(denied, "camera", "denied requests");
  ok("a pending request denied with a reason: the device is refused, the list empties without a reload");

  // The inventory, the audit log and the overview.
  await page.click('#nav button[data-view="inventory"]');
  await page.waitForSelector('#inv-rows tr:has-text("kettle")');
  await page.fill("#inv-q", "plug");
  await page.click('#inv-form button[type="submit"]');
  await page.waitForFunction(() => [...document.querySelectorAll("#inv-rows tr")]
    .every((tr) => /plug/.test(tr.textContent)) && document.querySelector("#inv-rows tr"));
  await shot(page, "console-inventory.png");
  await page.click('#inv-rows tr:has-text("plug") button');
  await page.waitForSelector("#cert-detail:not([hidden])");
  check(/BEGIN CERTIFICATE/.test(await page.textContent("#cert-pem")), "the detail shows the PEM");
  // The reason is a labelled choice of RFC 5280's; the comment is free.
  equal(await page.evaluate(() => document.querySelector('label[for="revoke-reason"]').textContent),
    "Reason for revoking", "the reason's label");
  await page.selectOption("#revoke-reason", "keyCompromise");
  await page.fill("#revoke-comment", "lost");
  await page.click("#revoke");
  await page.waitForSelector('#notice:has-text("revoked (keyCompromise); CRL")');
  await page.waitForSelector('#inv-rows tr:has-text("plug"):has-text("revoked")');
  await page.waitForSelector('#cert-fields dd:has-text("keyCompromise: lost")');
  ok("inventory: search, detail with the PEM, revoke with a reason code and a comment, on the CRL");
  await page.click('#nav button[data-view="audit"]');
  await page.waitForSelector('#audit-rows tr:has-text("approve")');
  ok("audit log: the approval is listed");
  await page.click('#nav button[data-view="overview"]');
  // The first days have no enrollment: their bars are 0 high, never
  // visible; today's (the devices enrolled above) is.
  await page.waitForSelector('#chart-enrolled svg rect.bar:not([height="0"])');
  const cells = await page.locator("#chart-enrolled table td").count();
  equal(cells, 60, "the enrollments table: 30 days, two cells each");
  await shot(page, "console-overview.png");
  ok("overview: SVG bars and the same numbers as a table");

  // More pending requests than a page: "More" follows the cursor.
  const made = spawnSync("sh", ["-c", `
    set -e
    for i in $(seq -w 1 101); do
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/CN=bulk-$i" -outform der -out "$T/bulk.der" 2>/dev/null
      curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$ROOT" -H 'Content-Type: application/pkcs10' \
        --data-binary @"$T/bulk.der" "$URL/api/v1/enroll"
    done`], { env: { ...process.env, T: env.tmp, ROOT: process.env.LANCA_ROOT_PEM,
    URL: env.https.replace("127.0.0.1", "localhost") }, encoding: "utf8" });
  equal(made.status, 0, `making 101 pending requests: ${made.stderr}`);
  equal(made.stdout.split("\n").filter((c) => c === "202").length, 101, "101 answered 202");
  await page.click('#nav button[data-view="pending"]');
  await page.waitForFunction(() => document.querySelectorAll("#pending-rows tr").length === 100,
    null, { timeout: 10000 });
  check(await page.isVisible("#pending-more"), "More is offered past the first 100");
  equal(await page.textContent("#pending-count"), "(100+)", "the count says there are more");
  await page.click("#pending-more");
  await page.waitForFunction(() => document.querySelectorAll("#pending-rows tr").length === 101,
    null, { timeout: 10000 });
  check(await page.isHidden("#pending-more"), "no More once every request is shown");
  equal(await page.textContent("#pending-count"), "(101)", "the count of every pending request");
  ok("pending requests past a page: More follows the cursor to the 101st");
  // Denied, through the admin API as a script would: waiting keys would
  // turn the next press (t_public's) into another overlap.
  const refused = await page.evaluate(async () => {
    const r = await fetch("/api/v1/requests?state=pending&limit=1000", { cache: "no-store" });
    const codes = [];
    for (const q of (await r.json()).requests) {
      const d = await fetch(`/api/v1/requests/${q.id}/deny`, { method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": lanca.csrf },
        body: '{"reason": "test clean-up"}' });
      codes.push(d.status);
    }
    return codes;
  });
  check(refused.length === 101 && refused.every((c) => c === 200), `denied: ${refused.join(",")}`);

  // Every view, logged in, at a phone's width: no sideways scrolling, and
  // every control has a label (a <label>, or a button's own text).
  await page.setViewportSize({ width: 360, height: 740 });
  for (const v of ["onboard", "pending", "inventory", "audit", "overview", "password"]) {
    await page.click(`#nav button[data-view="${v}"]`);
    await page.waitForSelector(`#view-${v}:not([hidden])`);
    const r = await page.evaluate((view) => {
      const root = document.getElementById("view-" + view);
      const unlabelled = [...root.querySelectorAll("select, input, textarea, button")]
        .filter((c) => !c.labels || c.labels.length === 0)
        .filter((c) => c.tagName !== "BUTTON" || !c.textContent.trim())
        .filter((c) => !c.getAttribute("aria-label"))
        .map((c) => c.id || c.name || c.tagName);
      const wide = [...document.querySelectorAll("body *")]
        .filter((el) => !el.closest(".table-wrap, pre") &&
          (el.getBoundingClientRect().right > 361 || el.scrollWidth > el.clientWidth + 1))
        .slice(0, 4).map((el) => el.tagName + (el.id ? "#" + el.id : "") + "." + el.className +
          "@" + Math.round(el.getBoundingClientRect().right));
      return { width: document.documentElement.scrollWidth, unlabelled, wide };
    }, v);
    check(r.width <= 360, `the ${v} view at 360 px is ${r.width} px wide (${r.wide.join(", ")})`);
    equal(r.unlabelled.join(","), "", `unlabelled controls in the ${v} view`);
  }
  await page.setViewportSize({ width: 1100, height: 900 });
  ok("every console view at 360 px: no sideways scrolling, every control labelled");

  await page.click("#logout");
  await page.waitForSelector("#view-login:not([hidden])");
  const after = await page.evaluate(async () => (await fetch("/api/v1/requests")).status);
  equal(after, 401, "the API after logout");
  ok("logout: back to the login form, the API answers 401");

  // The headers of every kind of answer the console gets, not only the
  // public page's: its HTML, script and style, a 404 and a 401.
  // (Read with the page's own fetch: same-origin answers show every header.)
  const answers = await page.evaluate(async (paths) => {
    const out = [];
    for (const p of paths) {
      const r = await fetch(p, { cache: "no-store" });
      out.push({ p, status: r.status, csp: r.headers.get("content-security-policy") || "",
                 nosniff: r.headers.get("x-content-type-options"),
                 referrer: r.headers.get("referrer-policy"),
                 hsts: r.headers.get("strict-transport-security") || "" });
    }
    return out;
  }, ["/admin.html", "/admin.js", "/style.css", "/no-such-file", "/api/v1/requests"]);
  equal(answers[3].status, 404, "a missing file");
  equal(answers[4].status, 401, "the API after logout");
  for (const a of answers) {
    check(/frame-ancestors 'none'/.test(a.csp) && !/unsafe-inline/.test(a.csp), `${a.p}: CSP ${a.csp}`);
    equal(a.nosniff, "nosniff", `${a.p}: nosniff`);
    equal(a.referrer, "no-referrer", `${a.p}: Referrer-Policy`);
    check(/max-age=\d+/.test(a.hsts), `${a.p}: HSTS`);
  }
  ok("console, script, style, 404 and 401 answers: CSP without 'unsafe-inline' and with frame-ancestors 'none', nosniff, no-referrer, HSTS");

  await page.setViewportSize({ width: 360, height: 740 });
  await page.reload();
  await page.waitForSelector("#view-login:not([hidden])");
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  check(w <= 360, `the console's login at 360 px (${w} px wide)`);
  ok("the console at 360 px: no sideways scrolling");

  equal(problems.join("\n"), "", "CSP refusals or script errors in the console");
  ok("no CSP refusal or script error in the console");
  a.kill(); b.kill(); d.kill();
  await browser.close();
});
