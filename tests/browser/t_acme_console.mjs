// t_acme_console.mjs - ACME accounts waiting for an admin, in the console
// (trusting profile): an account made with a signed newAccount request
// (tests/integration/acme_newacct.py) shows under Pending with its id,
// address, contact and creation time, and is counted on the Pending
// button; Approve approves it (the row goes; the admin API and `lanca acme
// accounts --json` say "admin"); a second account made while the view is
// open appears without a reload and is approved from the keyboard; no CSP
// refusal or script error. It leaves no account waiting, so the pending
// counts t_console.mjs checks are the devices' alone.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { env, launch, ok, check, equal, shot, watch, run } from "./harness.mjs";

const NEWACCT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "integration",
  "acme_newacct.py");

// A new ACME account from this machine; its id.
function newAccount(contact) {
  const r = spawnSync("python3", [NEWACCT, env.https, process.env.LANCA_ROOT_PEM, contact],
    { encoding: "utf8", timeout: 30000 });
  equal(r.status, 0, `acme_newacct.py: ${r.stderr}`);
  const id = r.stdout.trim();
  check(/^[A-Za-z0-9_-]{22}$/.test(id), `an account id: ${id}`);
  return id;
}

// How `lanca acme accounts --json` sees account id.
function cliApproval(id) {
  const r = spawnSync(env.lanca, ["acme", "accounts", "--dir", env.state, "--json"],
    { encoding: "utf8" });
  equal(r.status, 0, `lanca acme accounts --json: ${r.stderr}`);
  const a = JSON.parse(r.stdout).find((x) => x.id === id);
  return a ? a.approved : "(absent)";
}

// How the admin API sees account id, through the page's session.
async function apiApproval(page, id) {
  return page.evaluate(async (want) => {
    const r = await fetch("/api/v1/acme/accounts", { cache: "no-store" });
    const a = (await r.json()).items.find((x) => x.id === want);
    return a ? a.approved : "(absent)";
  }, id);
}

run(async () => {
  const first = newAccount("mailto:printer@example.org");
  equal(cliApproval(first), "waiting", "the new account before the console");

  const browser = await launch(path.join(env.tmp, "home-trusted"));
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  const problems = watch(page);

  await page.goto(env.https + "/admin.html");
  await page.waitForSelector("#view-login:not([hidden])");
  await page.fill("#login-user", env.user);
  await page.fill("#login-password", env.password);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector("#view-onboard:not([hidden])");

  await page.click('#nav button[data-view="pending"]');
  const row = page.locator(`#acme-rows tr[data-id="${first}"]`);
  await row.waitFor({ timeout: 10000 });
  const cells = await row.locator("td").allTextContents();
  equal(cells[0], first, "the account's id");
  equal(cells[1], "127.0.0.1", "the address it came from");
  equal(cells[2], "printer@example.org", "its contact");
  check(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/.test(cells[3]), `its creation time: ${cells[3]}`);
  check(await page.isVisible("#h-acme"), "the section's heading");
  check(await page.isHidden("#acme-empty"), "no 'none waiting' with one waiting");
  const devices = await page.evaluate(async () => {
    const r = await fetch("/api/v1/requests?state=pending", { cache: "no-store" });
    return (await r.json()).requests.length;
  });
  await page.waitForFunction((want) => document.getElementById("pending-count").textContent === want,
    `(${devices + 1})`, { timeout: 10000 });
  await shot(page, "console-acme.png");
  ok("a waiting ACME account under Pending: id, address, contact, created; counted on the Pending button");

  await row.locator("button.approve").click();
  await page.waitForSelector(`#notice:has-text("ACME account ${first} approved")`, { timeout: 10000 });
  await row.waitFor({ state: "detached", timeout: 10000 });
  await page.waitForSelector("#acme-empty:not([hidden])");
  equal(await apiApproval(page, first), "admin", "the admin API after Approve");
  equal(cliApproval(first), "admin", "lanca acme accounts --json after Approve");
  await page.waitForFunction((want) => document.getElementById("pending-count").textContent === want,
    devices ? `(${devices})` : "", { timeout: 10000 });
  ok("Approve: the row goes, the count drops; the API and lanca acme accounts --json say admin");

  // A second account while the view is open: the poll shows it, and it is
  // approved from the keyboard alone.
  const second = newAccount("mailto:nas@example.org");
  const row2 = page.locator(`#acme-rows tr[data-id="${second}"]`);
  await row2.waitFor({ timeout: 10000 });
  check(await page.isHidden("#acme-empty"), "'none waiting' gone again");
  await row2.locator("button.approve").focus();
  // A refresh or two must leave the focus where it is.
  await page.waitForTimeout(4500);
  check(await page.evaluate((id) => document.activeElement &&
    document.activeElement.getAttribute("data-id") === id, second),
    "the Approve button keeps the focus across refreshes");
  await page.keyboard.press("Enter");
  await row2.waitFor({ state: "detached", timeout: 10000 });
  equal(await apiApproval(page, second), "admin", "the second account after Enter on Approve");
  check(await page.evaluate(() => document.activeElement && document.activeElement.id === "h-acme"),
    "the focus goes to the section's heading once the last row is gone");
  ok("a second account appears without a reload, and is approved with the keyboard; the focus is kept");

  // Nothing waits any more.
  const waiting = await page.evaluate(async () => {
    const r = await fetch("/api/v1/acme/accounts?approved=waiting", { cache: "no-store" });
    return (await r.json()).items.length;
  });
  equal(waiting, 0, "ACME accounts still waiting");
  equal(problems.join("\n"), "", "CSP refusals or script errors in the console");
  ok("no ACME account left waiting; no CSP refusal or script error");
  await browser.close();
});
