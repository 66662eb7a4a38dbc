// setup_flow.mjs - the first visit on a gateway with no administrator yet
// (t_browser.sh runs it against a daemon of its own, after the t_*.mjs
// tests): the console offers the setup form; a wrong setup code is
// refused; the code `lanca init` printed makes the account and logs in; a
// reload keeps the session (GET /api/v1/session gives the CSRF token
// back); and a password change ends the user's other sessions, here one
// in a second browser context.
import path from "node:path";
import { env, launch, ok, check, equal, shot, watch, run } from "./harness.mjs";

const code = process.env.LANCA_SETUP_CODE;
const USER = "firstadmin";
const PW1 = "Setup-flow:first-9c2e";
const PW2 = "Setup-flow:second-41ab";

// The status of GET /api/v1/session as page's browser context sees it.
async function sessionStatus(page) {
  return page.evaluate(async () => (await fetch("/api/v1/session", { cache: "no-store" })).status);
}

run(async () => {
  check(code && /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(code), `a setup code from lanca init (${code})`);
  const browser = await launch(path.join(env.tmp, "home-trusted"));
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  const problems = watch(page);

  await page.goto(env.https + "/admin.html");
  await page.waitForSelector("#view-setup:not([hidden])");
  check(await page.isHidden("#view-login"), "no login form before an administrator exists");
  await shot(page, "console-setup.png");

  await page.fill("#setup-code", "AAAA-BBBB-CCCC-DDDD");
  await page.fill("#setup-user", USER);
  await page.fill("#setup-password", PW1);
  await page.click('#setup-form button[type="submit"]');
  await page.waitForSelector("#error:not([hidden])");
  check(/Setup refused/.test(await page.textContent("#error")), "a wrong code: an error");
  check(await page.isHidden("#nav"), "a wrong code: still no console");
  ok("first visit: the setup form; a wrong setup code refused");

  // The code as a person might type it: lower case, no dashes.
  await page.fill("#setup-code", code.toLowerCase().replace(/-/g, ""));
  await page.fill("#setup-user", USER);
  await page.fill("#setup-password", PW1);
  await page.click('#setup-form button[type="submit"]');
  await page.waitForSelector("#view-onboard:not([hidden])");
  check(await page.isVisible("#nav"), "the console after setup");
  ok("the setup code from lanca init makes the account and logs in");

  await page.reload();
  await page.waitForSelector("#view-onboard:not([hidden])");
  check(await page.isHidden("#view-login"), "a reload keeps the session");
  equal(await sessionStatus(page), 200, "GET /api/v1/session after a reload");
  ok("a reload keeps the session (the CSRF token comes back from /api/v1/session)");

  // A second session of the same user, in a context of its own.
  const ctx2 = await browser.newContext();
  const other = await ctx2.newPage();
  await other.goto(env.https + "/admin.html");
  await other.waitForSelector("#view-login:not([hidden])");
  await other.fill("#login-user", USER);
  await other.fill("#login-password", PW1);
  await other.click('#login-form button[type="submit"]');
  await other.waitForSelector("#view-onboard:not([hidden])");
  equal(await sessionStatus(other), 200, "the second session before the change");

  await page.click('#nav button[data-view="password"]');
  await page.waitForSelector("#view-password:not([hidden])");
  await page.fill("#pw-old", PW1);
  await page.fill("#pw-new", PW2);
  await page.click('#password-form button[type="submit"]');
  await page.waitForFunction(() => /Password changed/.test(document.getElementById("notice").textContent),
    null, { timeout: 10000 });
  equal(await sessionStatus(page), 200, "the changing session goes on (a new one)");
  equal(await sessionStatus(other), 401, "the other session after the change");
  await other.reload();
  await other.waitForSelector("#view-login:not([hidden])");
  ok("a password change ends the user's other session (401, back to the login form)");

  equal(problems.length, 0, `CSP refusals or script errors: ${problems.join("; ")}`);
  await browser.close();
});
