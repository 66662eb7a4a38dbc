// harness.mjs - what every browser test shares: Debian's chromium driven
// by playwright-core, the daemon's addresses and files from the
// environment t_browser.sh sets, assertions, and screenshots.
//
// playwright-core is installed by t_browser.sh into the build tree
// ($LANCA_NODE_MODULES), not next to these files, so it is loaded from
// there by path.
import { createRequire } from "node:module";
import { readFileSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";

function need(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run through tests/integration/t_browser.sh`);
  }
  return v;
}

const require = createRequire(path.join(need("LANCA_NODE_MODULES"), "node_modules", "x.js"));
const { chromium } = require("playwright-core");

export const env = {
  http: need("LANCA_HTTP_URL"),     // http://127.0.0.1:PORT
  https: need("LANCA_HTTPS_URL"),   // https://127.0.0.1:PORT
  rootPem: readFileSync(need("LANCA_ROOT_PEM")),
  backupPem: readFileSync(need("LANCA_BACKUP_PEM")),
  state: need("LANCA_STATE"),
  lanca: need("LANCA"),
  enroll: need("LANCA_ENROLL"),
  user: need("LANCA_ADMIN_USER"),
  password: need("LANCA_ADMIN_PASSWORD"),
  artifacts: need("LANCA_ARTIFACTS"),
  tmp: need("LANCA_TMP"),
};
mkdirSync(env.artifacts, { recursive: true });

// The root's DER and its SHA-256, worked out here from root.pem rather
// than taken from the daemon.
export const rootDer = Buffer.from(
  env.rootPem.toString("ascii").replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
export const rootSha256 = createHash("sha256").update(rootDer).digest("hex");
export const rootFp4 = rootSha256.toUpperCase().match(/.{4}/g).join(" ");
export const backupFp4 = createHash("sha256").update(Buffer.from(
  env.backupPem.toString("ascii").replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64"))
  .digest("hex").toUpperCase().match(/.{4}/g).join(" ");

// Launches chromium with HOME set to home, whose ~/.pki/nssdb is the only
// certificate store this browser adds to the built-in roots.
export async function launch(home) {
  return chromium.launch({
    executablePath: process.env.LANCA_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
    env: { ...process.env, HOME: home },
    timeout: 30000,
  });
}

let n = 0;
export function ok(what) {
  n += 1;
  console.log(`ok ${n} - ${what}`);
}

export function check(cond, what) {
  if (!cond) {
    throw new Error(`assertion failed: ${what}`);
  }
}

export function equal(got, want, what) {
  if (got !== want) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

export async function shot(page, name) {
  const file = path.join(env.artifacts, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot ${file}`);
}

// Presses Tab until the focused element matches selector (at most max
// times): whether it got there, as a keyboard user would.
export async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => !!document.activeElement && document.activeElement.matches(s),
      selector)) {
      return true;
    }
  }
  return false;
}

// Records what the page's policy refused and what its scripts threw:
// a page that needs 'unsafe-inline' shows up here.
export function watch(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`script error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  return problems;
}

// Runs main and exits non-zero on any failure, with the reason.
export function run(main) {
  main().then(() => process.exit(0), (e) => {
    console.error(`not ok - ${e.stack || e}`);
    process.exit(1);
  });
}
