// backup_warning.mjs - the console's warning about scheduled backups
// (t_browser.sh runs it against a daemon of its own with --backup-dir and
// a 5 s period, after the t_*.mjs tests): none while they succeed; once
// the backup directory is gone, the next failure is shown above every
// view with when it began and where to look, without a reload of the
// daemon, and the public status it comes from names no file and no reason.
import { rmSync } from "node:fs";
import path from "node:path";
import { env, launch, ok, check, watch, run, equal } from "./harness.mjs";

const dir = process.env.LANCA_BACKUP_DIR;

run(async () => {
  check(dir, "LANCA_BACKUP_DIR");
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
  // The first backup is made at the start: by now it has succeeded.
  const first = await page.evaluate(async () =>
    (await (await fetch("/api/v1/status", { cache: "no-store" })).json()).scheduled_backups);
  check(first && first.successes >= 1 && !first.failing, `backups succeed: ${JSON.stringify(first)}`);
  check(!("file" in first) && !("error" in first), "the public status names no file and no reason");
  check(await page.isHidden("#schedule-warning"), "no warning while backups succeed");
  ok("scheduled backups that succeed: no warning; the public status has times and counts only");

  rmSync(dir, { recursive: true, force: true });
  let shown = false;
  for (let i = 0; i < 30 && !shown; i++) {
    await page.waitForTimeout(1000);
    await page.reload();
    await page.waitForSelector("#view-onboard:not([hidden])");
    await page.waitForTimeout(300);
    shown = await page.isVisible("#schedule-warning");
  }
  check(shown, "the warning appeared within 30 s of the directory's loss");
  const text = await page.textContent("#schedule-warning");
  check(/^Scheduled backups are failing since \d{4}-\d\d-\d\dT.*last good one .*lanca status/.test(text),
    `the warning says since when and where to look: ${text}`);
  equal(await page.getAttribute("#schedule-warning", "role"), "alert", "the warning's role");
  equal(problems.join("\n"), "", "CSP refusals or script errors");
  ok("a backup directory gone: the console warns that scheduled backups fail, since when, where to look");
  await browser.close();
});
