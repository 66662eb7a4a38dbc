// t_public.mjs - the public onboarding page in a fresh browser profile
// (no root installed): at 360 px, the fingerprint, the downloads compared
// byte for byte with the CA's root, install steps by platform, the trust
// check saying "not trusted", the QR code's fingerprint check, the window
// going live without a reload, and the headers.
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { env, rootDer, rootSha256, rootFp4, backupFp4, launch, ok, check, equal, shot, watch, run, tabTo } from "./harness.mjs";

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 " +
  "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/126.0 Safari/537.36";

run(async () => {
  const browser = await launch(path.join(env.tmp, "home-fresh"));
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const problems = watch(page);

  const res = await page.goto(env.http + "/");
  equal(res.status(), 200, "plain GET /");
  const h = await res.allHeaders();
  const httpsOrigin = env.https;
  equal(h["content-security-policy"],
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
    `img-src 'self' ${httpsOrigin}`, "the plain page's CSP");
  check(!/unsafe-inline/.test(h["content-security-policy"]), "no 'unsafe-inline'");
  equal(h["x-content-type-options"], "nosniff", "nosniff");
  equal(h["referrer-policy"], "no-referrer", "Referrer-Policy");
  ok("plain page: CSP allows images from exactly the HTTPS origin, frame-ancestors 'none', nosniff, no-referrer");

  equal((await page.textContent("#root-fp")).trim(), rootFp4, "fingerprint in groups of four");
  check(await page.isVisible("#plain-warning"), "the plain-HTTP warning is shown");
  check(/compare the fingerprint/i.test(await page.textContent("#plain-warning")), "the warning says to compare");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 360, `no horizontal scrolling at 360 px (page is ${width} px wide)`);
  ok("plain page at 360 px: the root's fingerprint in groups of four, the warning, no sideways scrolling");

  await page.waitForSelector('#trust-state[data-state="untrusted"]', { timeout: 10000 });
  check(await page.isHidden("#trust-next"), "no link to the secure page while untrusted");
  ok("trust check in a fresh profile: not trusted");

  for (const [sel, want, name] of [["#dl-crt", rootDer, "lanca-root.crt"],
                                   ["#dl-pem", env.rootPem, "lanca-root.pem"],
                                   ["#dl-backup-pem", env.backupPem, "lanca-backup-root.pem"]]) {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click(sel)]);
    equal(dl.suggestedFilename(), name, `${sel} file name`);
    const got = readFileSync(await dl.path());
    check(Buffer.compare(got, want) === 0, `${name} is byte for byte the CA's certificate`);
  }
  ok("downloads: lanca-root.crt is the root's DER, lanca-root.pem its PEM, lanca-backup-root.pem the backup root's, byte for byte");

  // The backup root, beside the root: its fingerprint and in the bundle.
  check(await page.isVisible("#backup"), "the backup root's part is shown");
  equal((await page.textContent("#backup-fp")).trim(), backupFp4, "backup fingerprint in groups of four");
  const [bdl] = await Promise.all([page.waitForEvent("download"), page.click("#dl-bundle")]);
  equal(bdl.suggestedFilename(), "lanca-trust-bundle.pem", "#dl-bundle file name");
  const bundle = readFileSync(await bdl.path());
  check(bundle.subarray(0, env.rootPem.length).equals(env.rootPem), "the bundle starts with the root");
  check(bundle.includes(env.backupPem), "the bundle holds the backup root");
  ok("the backup root's fingerprint in groups of four; the trust bundle holds the root first, then the backup root");

  // For IT departments: the page's policy files are `lanca export
  // policy`'s, byte for byte, and carry both roots.
  const polDir = path.join(env.tmp, "policy-export");
  execFileSync(env.lanca, ["export", "policy", "--dir", env.state, "--format", "all", "--out", polDir]);
  for (const [sel, fmt, name] of [["#pol-apple", "apple", "lanca.mobileconfig"],
                                  ["#pol-chrome", "chrome", "lanca.json"],
                                  ["#pol-windows-pol", "windows", "Registry.pol"],
                                  ["#pol-linux", "linux", "install-lanca-roots.sh"],
                                  ["#pol-firefox", "firefox", "policies.json"],
                                  ["#pol-firefox-linux", "firefox", "policies-linux.json"]]) {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click(sel)]);
    equal(dl.suggestedFilename(), name, `${sel} file name`);
    const got = readFileSync(await dl.path());
    check(got.equals(readFileSync(path.join(polDir, fmt, name))), `${name} from the page is lanca export policy's`);
  }
  const pem2 = (b) => b.toString("latin1").split("-----BEGIN CERTIFICATE-----").length - 1;
  const installer = readFileSync(path.join(polDir, "linux", "install-lanca-roots.sh"));
  equal(pem2(installer), 2, "the Linux installer carries two roots (the root and the backup root)");
  const ff = JSON.parse(readFileSync(path.join(polDir, "firefox", "policies.json"), "utf8"));
  equal(ff.policies.Certificates.Install.length, 2, "the Firefox policy installs two roots (the root and the backup root)");
  ok("For IT departments: the Apple, Chrome, Windows, Linux and Firefox files from the page are lanca export policy's, byte for byte, with both roots");

  // Keyboard: the platform choice is reachable with Tab and works from the keyboard.
  check(await tabTo(page, "#platform", 20), "Tab reaches the platform choice");
  await page.selectOption("#platform", "fedora");
  check(await page.isVisible("#steps-fedora"), "Fedora's steps shown when chosen");
  check(await page.isHidden("#steps-debian"), "the other steps hidden");
  const labels = await page.evaluate(() => [...document.querySelectorAll("select, input, button")]
    .filter((c) => !c.labels || c.labels.length === 0)
    .filter((c) => c.tagName !== "BUTTON" || !c.textContent.trim()).map((c) => c.id));
  equal(labels.join(","), "", "controls without a label");
  ok("install steps: reachable by keyboard, switchable by hand, every control labelled");

  // Each platform's steps say where to compare the fingerprint.
  const silent = await page.evaluate(() => [...document.querySelectorAll(".steps")]
    .filter((s) => !/SHA-256|fingerprint/i.test(s.textContent)).map((s) => s.id));
  equal(silent.join(","), "", "install steps that never mention the fingerprint");
  check((await page.locator(".steps").count()) === 8, "steps for eight platforms");
  ok("every platform's steps say where to compare the SHA-256 fingerprint");

  await shot(page, "public-360.png");

  // The platform guessed from the user agent.
  for (const [ua, want] of [[IPHONE, "ios"], [WINDOWS, "windows"]]) {
    const c2 = await browser.newContext({ userAgent: ua, viewport: { width: 390, height: 800 } });
    const p2 = await c2.newPage();
    await p2.goto(env.http + "/");
    equal(await p2.inputValue("#platform"), want, `platform guessed for ${want}`);
    check(await p2.isVisible(`#steps-${want}`), `${want} steps visible`);
    if (want === "ios") {
      check(/Certificate Trust\s+Settings/.test(await p2.textContent("#steps-ios")),
        "the iOS steps name Certificate Trust Settings");
    }
    await c2.close();
  }
  ok("install steps chosen from the user agent (iPhone: iOS with Certificate Trust Settings; Windows)");

  // The QR code: an SVG made on the gateway, holding the plain page's
  // address with the fingerprint; qrencode's own rendering of the same
  // text must give the same modules.
  const qr = await page.request.get(env.http + "/qr.svg");
  equal(qr.headers()["content-type"], "image/svg+xml", "/qr.svg type");
  const svg = await qr.text();
  const want = `${env.http}/?sha256=${rootSha256}`;
  // qrencode's text rendering (its default: the text as 8-bit data with
  // the same encoder call as the gateway's): "##" per dark module, margin included.
  const ref = execFileSync("qrencode", ["-l", "M", "-m", "4", "-t", "ASCII", "-o", "-", want])
    .toString().split("\n");
  const refCells = [];
  ref.forEach((line, y) => {
    for (let x = 0; 2 * x < line.length; x++) {
      if (line[2 * x] === "#") refCells.push(`${x},${y}`);
    }
  });
  const cells = new Set();
  for (const m of svg.matchAll(/M(\d+) (\d+)h(\d+)/g)) {
    for (let i = 0; i < Number(m[3]); i++) cells.add(`${Number(m[1]) + i},${m[2]}`);
  }
  check(refCells.length > 100, "qrencode drew a code");
  const diff = refCells.filter((c) => !cells.has(c)).length + cells.size - refCells.filter((c) => cells.has(c)).length;
  equal(diff, 0, `modules differing from qrencode's (of ${refCells.length}) for ${want}`);
  check(await page.evaluate(() => document.getElementById("qr").naturalWidth > 0), "the QR image loads");
  ok("QR code: an SVG of " + want + ", the same modules qrencode draws");
  await page.goto(`${env.http}/?sha256=${rootSha256}`);
  await page.waitForSelector('#qr-check[data-state="match"]');
  await page.goto(`${env.http}/?sha256=${"0".repeat(64)}`);
  await page.waitForSelector('#qr-check[data-state="mismatch"]');
  ok("a scanned fingerprint is compared with the page's root: match and mismatch");

  // The window, live: pressed at the gateway, the open page follows.
  // Before it, the window is closed, or in overlap when the console's
  // test left it so: the page says which, as /status.json does.
  await page.goto(env.http + "/");
  await page.waitForSelector('#window-state[data-state="closed"], #window-state[data-state="overlap"]');
  const before = await page.evaluate(async () => (await (await fetch("/status.json")).json()).window.state);
  equal(await page.getAttribute("#window-state", "data-state"), before, "the window state before a press");
  execFileSync(env.lanca, ["press", "--dir", env.state, "--seconds", "30"], { stdio: "ignore" });
  await page.waitForSelector('#window-state[data-state="open"]', { timeout: 15000 });
  const t1 = await page.textContent("#window-state");
  await page.waitForTimeout(2100);
  const t2 = await page.textContent("#window-state");
  check(/left/.test(t1) && t1 !== t2, `the countdown moves (${t1} then ${t2})`);
  ok("window state shown live: open with a countdown after a press, without a reload");

  // HTTPS: the same page, HSTS, the frame-ancestors policy; no warning.
  const ctx3 = await browser.newContext({ ignoreHTTPSErrors: true });
  const p3 = await ctx3.newPage();
  const r3 = await p3.goto(env.https + "/");
  const h3 = await r3.allHeaders();
  check(/^max-age=\d+/.test(h3["strict-transport-security"] || ""), "HSTS on HTTPS");
  check(/frame-ancestors 'none'/.test(h3["content-security-policy"]) &&
        !/img-src/.test(h3["content-security-policy"]), "HTTPS page CSP: " + h3["content-security-policy"]);
  check(await p3.isHidden("#plain-warning"), "no plain-HTTP warning on HTTPS");
  equal((await p3.textContent("#root-fp")).trim(), rootFp4, "fingerprint on HTTPS");
  await ctx3.close();
  ok("HTTPS page: HSTS, CSP without img-src exceptions, no plain-HTTP warning");

  equal(problems.join("\n"), "", "CSP refusals or script errors on the public page");
  ok("no CSP refusal or script error on the public page");
  await browser.close();
});
