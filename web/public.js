// public.js - the onboarding page (index.html): install steps chosen by
// platform, the "is it installed yet?" check, the QR code's fingerprint
// compared with the page's, and the onboarding window kept live.
//
// The gateway already wrote the root's identity into the page, so nothing
// here is needed to read the fingerprint. Kept out of index.html because
// the page's Content-Security-Policy forbids inline scripts.
"use strict";

var lancaPub = {
  main: null,
  pollTimer: 0,
  tickTimer: 0,
  window: null,      // the last window state from /status.json
  windowAt: 0        // Date.now() when it came
};

function pubEl(id) {
  return document.getElementById(id);
}

// The platform whose steps to show first, from the user agent. iPadOS
// calls itself a Mac: a touch screen tells them apart.
function pubGuessPlatform(ua, touchPoints) {
  if (/iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && touchPoints > 1)) {
    return "ios";
  }
  if (/Android/.test(ua)) {
    return "android";
  }
  if (/CrOS/.test(ua)) {
    return "chromeos";
  }
  if (/Firefox\//.test(ua)) {
    return "firefox";
  }
  if (/Windows/.test(ua)) {
    return "windows";
  }
  if (/Macintosh|Mac OS X/.test(ua)) {
    return "macos";
  }
  if (/Fedora/.test(ua)) {
    return "fedora";
  }
  if (/Linux|X11/.test(ua)) {
    return "debian";
  }
  return "windows";
}

function pubShowSteps(platform) {
  var all = document.querySelectorAll(".steps");
  var i;
  for (i = 0; i < all.length; i++) {
    all[i].hidden = all[i].id !== "steps-" + platform;
  }
}

function pubInitSteps() {
  var sel = pubEl("platform");
  var guess = pubGuessPlatform(navigator.userAgent, navigator.maxTouchPoints || 0);
  sel.value = guess;
  pubEl("platform-guess").textContent = "(detected; choose another if it is wrong)";
  pubShowSteps(guess);
  sel.addEventListener("change", function () {
    pubShowSteps(sel.value);
  });
}

// "is it installed yet?": an image from the HTTPS origin loads only when
// this browser trusts the certificate that origin presents, which chains
// to the root. The plain page's CSP allows exactly that origin.
function pubTrustCheck() {
  var https = lancaPub.main.getAttribute("data-https");
  var state = pubEl("trust-state");
  var img;

  if (location.protocol === "https:") {
    state.textContent = "Trusted: this browser reached the page over HTTPS.";
    state.setAttribute("data-state", "trusted");
    return;
  }
  state.textContent = "Checking whether this browser trusts the root…";
  state.setAttribute("data-state", "checking");
  img = new Image();
  img.onload = function () {
    state.textContent = "Trusted: this browser trusts the root.";
    state.setAttribute("data-state", "trusted");
    pubEl("trust-next").hidden = false;
  };
  img.onerror = function () {
    state.textContent = "Not trusted yet: install the root as shown above, then check again.";
    state.setAttribute("data-state", "untrusted");
    pubEl("trust-next").hidden = true;
  };
  img.src = https + "/trust.svg?t=" + Date.now();
  pubEl("trust-recheck").hidden = false;
}

// A phone that scanned the QR code arrives with ?sha256=HEX: say whether
// the root this page offers is the one the administrator's screen named.
function pubQrCheck() {
  var m = /[?&]sha256=([0-9a-fA-F]{64})(&|$)/.exec(location.search);
  var out = pubEl("qr-check");
  var fp = lancaPub.main.getAttribute("data-fp").replace(/ /g, "").toLowerCase();

  if (m === null) {
    return;
  }
  out.hidden = false;
  if (m[1].toLowerCase() === fp) {
    out.textContent = "The fingerprint in the QR code you scanned matches this root.";
    out.setAttribute("data-state", "match");
  } else {
    out.textContent = "Warning: the fingerprint in the QR code you scanned is NOT this " +
      "root's. Do not install it.";
    out.setAttribute("data-state", "mismatch");
    out.className = "error";
  }
}

function pubWindowText(w, elapsed) {
  var left;
  if (w.state === "open") {
    left = Math.max(0, (w.seconds_left || 0) - elapsed);
    return "Open: " + Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2) +
      " left" + (w.count > 1 ? " (" + w.admitted + " of " + w.count + " devices admitted)" : "") + ".";
  }
  if (w.state === "overlap") {
    return "Several devices asked at once: the administrator decides which to admit.";
  }
  return "Closed.";
}

function pubWindowShow() {
  var w = lancaPub.window;
  var el = pubEl("window-state");
  if (w === null) {
    return;
  }
  el.textContent = pubWindowText(w, Math.floor((Date.now() - lancaPub.windowAt) / 1000));
  el.setAttribute("data-state", w.state);
}

// Polls /status.json: every 2 s while the window is open, every 10 s
// otherwise, never while the page is hidden. The countdown ticks locally.
function pubPoll() {
  clearTimeout(lancaPub.pollTimer);
  if (document.hidden) {
    return;
  }
  fetch("/status.json", { cache: "no-store" })
    .then(function (res) {
      if (!res.ok) {
        throw new Error("HTTP " + res.status);
      }
      return res.json();
    })
    .then(function (st) {
      lancaPub.window = st.window;
      lancaPub.windowAt = Date.now();
      pubEl("version").textContent = st.version;
      pubEl("error").hidden = true;
      pubWindowShow();
      lancaPub.pollTimer = setTimeout(pubPoll, st.window.state === "closed" ? 10000 : 2000);
    })
    .catch(function (err) {
      pubEl("error").textContent = "Cannot read the gateway's status: " + err.message;
      pubEl("error").hidden = false;
      lancaPub.pollTimer = setTimeout(pubPoll, 10000);
    });
}

function pubInit() {
  lancaPub.main = pubEl("main");
  if (location.protocol === "https:") {
    pubEl("plain-warning").hidden = true;
  }
  pubInitSteps();
  pubQrCheck();
  pubTrustCheck();
  pubEl("trust-recheck").addEventListener("click", pubTrustCheck);
  pubPoll();
  lancaPub.tickTimer = setInterval(pubWindowShow, 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      pubPoll();
    }
  });
}

document.addEventListener("DOMContentLoaded", pubInit);
