// admin.js - the administrator console (admin.html): first-visit setup,
// login, the onboarding button, pending requests and ACME accounts
// waiting for approval, the inventory, the audit log and the overview, all through the documented admin API
// (docs/api.md), so that a script can do everything the console does.
//
// The CSRF token lives in this page's memory only; after a reload
// GET /api/v1/session gives it back. Nothing is written into the page
// as HTML: every value goes in as text.
"use strict";

var lanca = {
  user: "",
  csrf: "",
  view: "",
  pollTimer: 0,
  tickTimer: 0,
  window: null,
  windowAt: 0,
  pendingPages: 1,
  pendingN: 0,        // pending requests shown, and whether more follow
  pendingMore: false,
  acmeN: 0,           // ACME accounts waiting
  acmeKey: null,      // their ids as last rendered (null: not rendered)
  invNext: null,
  auditNext: null,
  detailSerial: ""
};

var WINDOW_OPEN_NOTE = "The onboarding window is open.";
var VIEWS = ["setup", "login", "onboard", "pending", "inventory", "audit", "overview", "password"];
var POLL_MS = 2000;  // never faster than once a second (issue 10)

function $(id) {
  return document.getElementById(id);
}

// el("td", {class: "key"}, "text", child...): an element with text only.
function el(tag, attrs) {
  var e = document.createElement(tag);
  var k, i, c;
  for (k in attrs || {}) {
    if (Object.prototype.hasOwnProperty.call(attrs, k)) {
      e.setAttribute(k, attrs[k]);
    }
  }
  for (i = 2; i < arguments.length; i++) {
    c = arguments[i];
    if (c === null || c === undefined) {
      continue;
    }
    e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return e;
}

function clear(node) {
  while (node.firstChild) {
    node.removeChild(node.firstChild);
  }
}

function when(t) {
  if (typeof t !== "number" || t <= 0) {
    return "";
  }
  return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

function showError(msg) {
  $("error").textContent = msg;
  $("error").hidden = !msg;
}

function notice(msg) {
  $("notice").textContent = msg;
}

// One call to the admin API. Resolves to {status, body}; a 401 on any call
// but the login itself means the session is gone: back to the login form.
function api(method, path, body, background) {
  var opts = { method: method, credentials: "same-origin", cache: "no-store", headers: {} };
  // The page's own refreshes are not someone using the console: they
  // must not keep an idle session from ending (docs/web.md).
  if (background) {
    opts.headers["X-Lanca-Background"] = "1";
  }
  if (method !== "GET") {
    if (lanca.csrf) {
      opts.headers["X-CSRF-Token"] = lanca.csrf;
    }
    // Some actions take no body at all (their routes refuse one).
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
  }
  return fetch(path, opts).then(function (res) {
    return res.text().then(function (text) {
      var j = null;
      try {
        j = text ? JSON.parse(text) : null;
      } catch (e) {
        j = null;
      }
      if (res.status === 401 && lanca.user && path !== "/api/v1/login") {
        loggedOut("Your session has ended: log in again.");
      }
      return { status: res.status, body: j };
    });
  });
}

function apiMessage(r) {
  return r.body && r.body.message ? r.body.message : "HTTP " + r.status;
}

// A page of a listing, whichever spelling it uses ("requests" and "next"
// on GET /api/v1/requests, "items" and "next_cursor" on the newer lists).
function page(body) {
  return {
    items: (body && (body.items || body.requests)) || [],
    next: (body && (body.next_cursor || body.next)) || null
  };
}

function show(view) {
  var i;
  var buttons = document.querySelectorAll("#nav button");
  lanca.view = view;
  for (i = 0; i < VIEWS.length; i++) {
    $("view-" + VIEWS[i]).hidden = VIEWS[i] !== view;
  }
  for (i = 0; i < buttons.length; i++) {
    if (buttons[i].getAttribute("data-view") === view) {
      buttons[i].setAttribute("aria-current", "page");
    } else {
      buttons[i].removeAttribute("aria-current");
    }
  }
  clearTimeout(lanca.pollTimer);
  showError("");
  if (view === "onboard" || view === "pending") {
    poll();
  } else if (view === "inventory") {
    loadInventory(false);
  } else if (view === "audit") {
    loadAudit(false);
  } else if (view === "overview") {
    loadOverview();
  }
}

function loggedIn(j) {
  lanca.user = j.user;
  lanca.csrf = j.csrf;
  $("who-name").textContent = "Logged in as " + j.user;
  $("who").hidden = false;
  $("nav").hidden = false;
  show("onboard");
  backupWarning();
}

// The backup root's warning (none made, or its key not confirmed stored
// offline), shown above every view until `lanca backup-root confirm`.
// Scheduled backups that fail (lanca serve --backup-dir) get a warning of
// their own: the reason is in `lanca status` and the daemon's log.
function backupWarning() {
  api("GET", "/api/v1/status", undefined, true).then(function (r) {
    var b = r.status === 200 && r.body ? r.body.backup_root : null;
    var s = r.status === 200 && r.body ? r.body.scheduled_backups : null;
    var w = $("backup-warning");
    var sw = $("schedule-warning");
    if (b && b.warning) {
      w.textContent = "Backup root: " + b.warning;
      w.hidden = false;
    } else {
      w.hidden = true;
    }
    if (s && s.failing) {
      sw.textContent = "Scheduled backups are failing since " +
        new Date(s.last_failure * 1000).toISOString() +
        (s.last_success ? " (last good one " + new Date(s.last_success * 1000).toISOString() + ")" : " (none made yet)") +
        ": see `lanca status` or the daemon's log.";
      sw.hidden = false;
    } else {
      sw.hidden = true;
    }
  });
}

function loggedOut(msg) {
  lanca.user = "";
  lanca.csrf = "";
  lanca.acmeKey = null;
  clearTimeout(lanca.pollTimer);
  $("who").hidden = true;
  $("nav").hidden = true;
  $("backup-warning").hidden = true;
  $("schedule-warning").hidden = true;
  show("login");
  if (msg) {
    showError(msg);
  }
}

// ---- setup, login, logout, password ----

function boot() {
  api("GET", "/api/v1/session").then(function (r) {
    if (r.status === 200 && r.body && r.body.csrf) {
      loggedIn(r.body);
      return;
    }
    return api("GET", "/api/v1/setup").then(function (s) {
      show(s.status === 200 && s.body && s.body.needed === true ? "setup" : "login");
    });
  });
}

function onSetup(ev) {
  ev.preventDefault();
  api("POST", "/api/v1/setup", {
    code: $("setup-code").value.trim(),
    user: $("setup-user").value,
    password: $("setup-password").value
  }).then(function (r) {
    $("setup-password").value = "";
    if (r.status === 200) {
      loggedIn(r.body);
      notice("The administrator account is ready.");
    } else {
      showError("Setup refused: " + apiMessage(r));
    }
  });
}

function onLogin(ev) {
  ev.preventDefault();
  api("POST", "/api/v1/login", {
    user: $("login-user").value,
    password: $("login-password").value
  }).then(function (r) {
    $("login-password").value = "";
    if (r.status === 200) {
      loggedIn(r.body);
    } else {
      showError("Login refused: " + apiMessage(r));
    }
  });
}

function onLogout() {
  api("POST", "/api/v1/logout").then(function () {
    loggedOut("");
    notice("Logged out.");
  });
}

function onPassword(ev) {
  ev.preventDefault();
  api("POST", "/api/v1/password", { old: $("pw-old").value, new: $("pw-new").value })
    .then(function (r) {
      $("pw-old").value = "";
      $("pw-new").value = "";
      if (r.status !== 200) {
        showError("Password not changed: " + apiMessage(r));
        return;
      }
      // The old session ended with the change; the answer is the new one.
      if (r.body && r.body.csrf) {
        lanca.csrf = r.body.csrf;
        notice("Password changed; your other sessions have ended.");
      } else {
        api("GET", "/api/v1/session").then(function (s) {
          if (s.status === 200 && s.body) {
            lanca.csrf = s.body.csrf;
          }
        });
        notice("Password changed; your other sessions have ended.");
      }
    });
}

// ---- the onboarding window and pending requests ----

function windowText(w, elapsed) {
  var left;
  if (!w) {
    return "";
  }
  if (w.state === "open") {
    left = Math.max(0, (w.seconds_left || 0) - elapsed);
    return "Open: " + w.admitted + " of " + w.count + " admitted, " + left + " s left.";
  }
  if (w.state === "overlap") {
    return "Overlap: " + (w.overlap_keys || "several") + " devices asked at once; none was admitted.";
  }
  return "Closed." + (w.contested ? " The last admission was contested: check Pending." : "");
}

function showWindow() {
  var w = lanca.window;
  var elapsed = Math.floor((Date.now() - lanca.windowAt) / 1000);
  var left;
  if (!w) {
    return;
  }
  $("window").textContent = windowText(w, elapsed);
  $("window").setAttribute("data-state", w.state);
  left = Math.max(0, (w.seconds_left || 0) - elapsed);
  $("countdown").textContent = w.state === "open" ?
    Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2) : "";
  $("overlap-help").hidden = w.state !== "overlap";
  $("contested-help").hidden = !w.contested || w.state === "overlap";
  // "The window is open" was true when said; not once it has closed.
  if (w.state !== "open" && $("notice").textContent === WINDOW_OPEN_NOTE) {
    notice("");
  }
  $("press").disabled = w.state === "open";
}

function setWindow(w) {
  lanca.window = w;
  lanca.windowAt = Date.now();
  showWindow();
}

function onPress(ev) {
  ev.preventDefault();
  api("POST", "/api/v1/press", {
    seconds: parseInt($("press-seconds").value, 10),
    count: parseInt($("press-count").value, 10)
  }).then(function (r) {
    if (r.status === 200) {
      setWindow(r.body.window);
      notice(WINDOW_OPEN_NOTE);
      poll();
    } else {
      showError("Cannot open the window: " + apiMessage(r));
    }
  });
}

function keyCell(q) {
  var id = q.key_id || q.key || "";
  // The whole SHA-256 of the key: what an admin compares with the
  // device's, so none of it hides behind a tooltip.
  return el("td", { class: "key" }, q.key_type ? q.key_type + " " : "", el("code", {}, id));
}

function names(q) {
  return (q.names || []).join(", ");
}

var DOORS = { api: "API", est: "EST" };
var WAYS = { window: "window (overlap)", vendor: "vendor", preauth: "pre-authorised",
             renewal: "renewal", admin: "admin" };

// The door a request came through and the way it is being decided:
// "EST · window (overlap)".
function doorText(q) {
  var door = DOORS[q.door] || q.door || "API";
  return WAYS[q.via] ? door + " \u00b7 " + WAYS[q.via] : door;
}

function pendingRow(q) {
  var reasonId = "deny-reason-" + q.id;
  var approve = el("button", { type: "button", "data-id": q.id, class: "approve" }, "Approve");
  var reason = el("input", { id: reasonId, placeholder: "reason (optional)" });
  var deny = el("button", { type: "button", "data-id": q.id, class: "danger deny" }, "Deny");
  var tr;
  approve.addEventListener("click", function () {
    decide(q.id, "approve", null);
  });
  deny.addEventListener("click", function () {
    decide(q.id, "deny", reason.value);
  });
  tr = el("tr", { "data-id": q.id },
    el("td", {}, q.device_id || "(no id)",
      q.reason ? el("div", { class: "why" }, q.reason) : ""),
    el("td", {}, names(q)),
    keyCell(q),
    el("td", {}, q.source || ""),
    el("td", {}, "first " + when(q.created_at), el("br"), "last " + when(q.last_seen)),
    el("td", { class: "door" }, doorText(q)),
    el("td", {}, el("div", { class: "row-actions" }, approve,
      el("label", { for: reasonId, class: "sr-only" }, "Reason for denying " + (q.device_id || q.id)),
      reason, deny)));
  return tr;
}

function decide(id, what, reason) {
  api("POST", "/api/v1/requests/" + encodeURIComponent(id) + "/" + what,
      what === "deny" ? (reason ? { reason: reason } : {}) : undefined)
    .then(function (r) {
      if (r.status === 200) {
        notice(what === "approve" ? "Approved: certificate " + r.body.serial + " issued." :
               "Denied.");
        showError("");
      } else {
        showError("Not done: " + apiMessage(r));
      }
      poll();
    });
}

function renderPending(items, more) {
  var body = $("pending-rows");
  var i;
  lanca.pendingN = items.length;
  lanca.pendingMore = more;
  // Keep a reason being typed: re-rendering would lose it.
  if (document.activeElement && document.activeElement.tagName === "INPUT" &&
      body.contains(document.activeElement)) {
    return;
  }
  clear(body);
  for (i = 0; i < items.length; i++) {
    body.appendChild(pendingRow(items[i]));
  }
  $("pending-empty").hidden = items.length > 0;
  $("pending-more").hidden = !more;
}

// The Pending button's count: the requests and the ACME accounts waiting.
function renderCount() {
  var n = lanca.pendingN + lanca.acmeN;
  $("pending-count").textContent = n ? "(" + n + (lanca.pendingMore ? "+" : "") + ")" : "";
}

// ---- ACME accounts waiting for an admin (docs/acme.md, "Accounts") ----

function acmeContact(a) {
  var c = (a.contact || []).map(function (u) {
    return String(u).replace(/^mailto:/, "");
  }).join(", ");
  return c || "none given";
}

function acmeRow(a) {
  var approve = el("button", { type: "button", "data-id": a.id, class: "approve" }, "Approve");
  // Once only, but the button stays focusable: disabling it would drop
  // the focus of a keyboard user to the page's start.
  approve.addEventListener("click", function () {
    if (approve.getAttribute("aria-disabled") === "true") {
      return;
    }
    approve.setAttribute("aria-disabled", "true");
    approveAcme(a.id);
  });
  return el("tr", { "data-id": a.id },
    el("td", { class: "key" }, el("code", {}, a.id)),
    el("td", {}, a.source || ""),
    el("td", {}, acmeContact(a)),
    el("td", {}, when(a.created_at)),
    el("td", {}, el("div", { class: "row-actions" }, approve)));
}

function approveAcme(id) {
  api("POST", "/api/v1/acme/accounts/" + encodeURIComponent(id) + "/approve").then(function (r) {
    if (r.status === 200) {
      notice("ACME account " + id + " approved: it may order certificates now.");
      showError("");
    } else {
      showError("Not approved: " + apiMessage(r));
      lanca.acmeKey = null;  // its button comes back with the next refresh
    }
    poll();
  });
}

// r: the answer of GET /api/v1/acme/accounts?approved=waiting; a 404 means
// the daemon runs without ACME (serve --no-acme): no section then. The rows
// are rebuilt only when the accounts changed, so a refresh does not take
// the focus from an Approve button reached with the keyboard; when the
// focused row goes, the focus moves to the next Approve or the heading.
function renderAcme(r) {
  var body = $("acme-rows");
  var items, key, i, had, next;
  if (r.status === 404) {
    lanca.acmeN = 0;
    lanca.acmeKey = null;
    clear(body);
    $("acme-section").hidden = true;
    return;
  }
  if (r.status !== 200) {
    return;
  }
  items = page(r.body).items;
  lanca.acmeN = items.length;
  $("acme-section").hidden = false;
  key = items.map(function (a) {
    return a.id;
  }).join(",");
  if (key === lanca.acmeKey) {
    return;
  }
  lanca.acmeKey = key;
  had = !!document.activeElement && body.contains(document.activeElement);
  clear(body);
  for (i = 0; i < items.length; i++) {
    body.appendChild(acmeRow(items[i]));
  }
  $("acme-empty").hidden = items.length > 0;
  if (had) {
    next = body.querySelector("button.approve");
    (next || $("h-acme")).focus();
  }
}

function renderAdmitted(items) {
  var ul = $("admitted");
  var i;
  clear(ul);
  for (i = 0; i < items.length; i++) {
    ul.appendChild(el("li", { "data-id": items[i].id },
      (items[i].device_id || items[i].id) + " — " + when(items[i].last_seen || items[i].created_at) +
      (items[i].contested ? " (contested: check it)" : "")));
  }
}

// The first n pages of pending requests, one after the other (each
// page's cursor asks for the next): {status, window, items, next}.
function fetchPending(n) {
  var got = { status: 0, window: null, items: [], next: null };
  function one(cursor, left) {
    return api("GET", "/api/v1/requests?state=pending&limit=100" +
               (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""), undefined, true)
      .then(function (r) {
        var p;
        got.status = r.status;
        if (r.status !== 200) {
          return got;
        }
        p = page(r.body);
        got.window = r.body.window;
        got.items = got.items.concat(p.items);
        got.next = p.next;
        return p.next && left > 1 ? one(p.next, left - 1) : got;
      });
  }
  return one(null, n);
}

// While Onboarding or Pending is shown: the pending list (with the
// window), the latest issued requests and the ACME accounts waiting (for
// the Pending count on either view), every POLL_MS.
function poll() {
  var view = lanca.view;
  clearTimeout(lanca.pollTimer);
  if (!lanca.user || (view !== "onboard" && view !== "pending")) {
    return;
  }
  Promise.all([
    fetchPending(lanca.pendingPages),
    api("GET", "/api/v1/requests?state=issued&limit=5", undefined, true),
    api("GET", "/api/v1/acme/accounts?approved=waiting", undefined, true)
  ]).then(function (rs) {
    if (rs[0].status === 200) {
      setWindow(rs[0].window);
      renderPending(rs[0].items, !!rs[0].next);
    }
    if (rs[1].status === 200) {
      renderAdmitted(page(rs[1].body).items);
    }
    renderAcme(rs[2]);
    renderCount();
    if (lanca.user && lanca.view === view && !document.hidden) {
      lanca.pollTimer = setTimeout(poll, POLL_MS);
    }
  });
}

// ---- the inventory ----

function invQuery(cursor) {
  var q = "?limit=50&sort=" + encodeURIComponent($("inv-sort").value) +
    "&order=" + encodeURIComponent($("inv-order").value);
  if ($("inv-q").value) {
    q += "&q=" + encodeURIComponent($("inv-q").value);
  }
  if ($("inv-status").value) {
    q += "&status=" + encodeURIComponent($("inv-status").value);
  }
  if (cursor) {
    q += "&cursor=" + encodeURIComponent(cursor);
  }
  return q;
}

function loadInventory(more) {
  api("GET", "/api/v1/certificates" + invQuery(more ? lanca.invNext : null)).then(function (r) {
    var p, i, c, link;
    if (r.status !== 200) {
      showError("Cannot list certificates: " + apiMessage(r));
      return;
    }
    p = page(r.body);
    if (!more) {
      clear($("inv-rows"));
    }
    for (i = 0; i < p.items.length; i++) {
      c = p.items[i];
      link = el("button", { type: "button", class: "secondary", "data-serial": c.serial },
                c.device_id || "(no id)");
      link.addEventListener("click", showDetail.bind(null, c.serial));
      $("inv-rows").appendChild(el("tr", { "data-serial": c.serial },
        el("td", {}, link), el("td", {}, names(c)), el("td", { class: "key" }, c.serial),
        el("td", {}, when(c.issued_at)), el("td", {}, when(c.not_after)),
        el("td", {}, c.status)));
    }
    lanca.invNext = p.next;
    $("inv-more").hidden = !p.next;
  });
}

function showDetail(serial) {
  api("GET", "/api/v1/certificates/" + encodeURIComponent(serial)).then(function (r) {
    var c = r.body;
    var dl = $("cert-fields");
    var fields = [["Device", c && c.device_id], ["Subject", c && c.subject],
      ["Names", c && names(c)], ["Serial", serial], ["Status", c && c.status],
      ["Valid from", c && when(c.not_before)], ["Valid until", c && when(c.not_after)],
      ["Revoked", c && c.revoked_at ? when(c.revoked_at) + " (" + (c.revoke_reason || "") +
        (c.revoke_comment ? ": " + c.revoke_comment : "") + ")" : ""],
      ["Request", c && c.request_id]];
    var i;
    if (r.status !== 200) {
      showError("Cannot read certificate " + serial + ": " + apiMessage(r));
      return;
    }
    lanca.detailSerial = serial;
    clear(dl);
    for (i = 0; i < fields.length; i++) {
      if (fields[i][1]) {
        dl.appendChild(el("dt", {}, fields[i][0]));
        dl.appendChild(el("dd", {}, fields[i][1]));
      }
    }
    $("cert-pem").textContent = c.pem || "";
    clear($("cert-history"));
    for (i = 0; i < (c.history || []).length; i++) {
      $("cert-history").appendChild(el("li", {}, when(c.history[i].at) + " " +
        c.history[i].event + " by " + c.history[i].actor +
        (c.history[i].detail ? ": " + JSON.stringify(c.history[i].detail) : "")));
    }
    $("revoke-form").hidden = c.status === "revoked";
    $("cert-title").textContent = "Certificate " + serial;
    $("cert-detail").hidden = false;
    $("cert-title").focus();
  });
}

function onRevoke(ev) {
  var serial = lanca.detailSerial;
  var body = { reason: $("revoke-reason").value };
  ev.preventDefault();
  if ($("revoke-comment").value) {
    body.comment = $("revoke-comment").value;
  }
  api("POST", "/api/v1/certificates/" + encodeURIComponent(serial) + "/revoke",
      body).then(function (r) {
    if (r.status === 200) {
      notice("Certificate " + serial + " revoked (" + r.body.reason + ")" +
        (r.body.crl_number ? "; CRL " + r.body.crl_number + " lists it." : "."));
      $("revoke-reason").value = "unspecified";
      $("revoke-comment").value = "";
      showDetail(serial);
      loadInventory(false);
    } else {
      showError("Not revoked: " + apiMessage(r));
    }
  });
}

// ---- the audit log ----

function loadAudit(more) {
  var q = "?limit=50";
  if ($("audit-event").value) {
    q += "&event=" + encodeURIComponent($("audit-event").value);
  }
  if ($("audit-device").value) {
    q += "&device=" + encodeURIComponent($("audit-device").value);
  }
  if (more && lanca.auditNext) {
    q += "&cursor=" + encodeURIComponent(lanca.auditNext);
  }
  api("GET", "/api/v1/audit" + q).then(function (r) {
    var p, i, a;
    if (r.status !== 200) {
      showError("Cannot read the audit log: " + apiMessage(r));
      return;
    }
    p = page(r.body);
    if (!more) {
      clear($("audit-rows"));
    }
    for (i = 0; i < p.items.length; i++) {
      a = p.items[i];
      $("audit-rows").appendChild(el("tr", {}, el("td", {}, when(a.at)), el("td", {}, a.actor),
        el("td", {}, a.event), el("td", {}, a.subject || ""),
        el("td", { class: "key" }, a.detail ? JSON.stringify(a.detail) : "")));
    }
    lanca.auditNext = p.next;
    $("audit-more").hidden = !p.next;
  });
}

// ---- the overview: SVG bars drawn here, and the numbers as a table ----

var SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  var e = document.createElementNS(SVG_NS, tag);
  var k;
  for (k in attrs) {
    if (Object.prototype.hasOwnProperty.call(attrs, k)) {
      e.setAttribute(k, attrs[k]);
    }
  }
  return e;
}

// A bar chart of rows [{label, count}] into box, with a table of the same
// numbers for screen readers (the picture is hidden from them).
function chart(box, rows, titleId, labelName) {
  var w = 600, h = 160, pad = 20;
  var max = 1, i, bw, bh, s, g, t, table, tbody;
  for (i = 0; i < rows.length; i++) {
    max = Math.max(max, rows[i].count);
  }
  clear(box);
  s = svg("svg", { viewBox: "0 0 " + w + " " + (h + pad), class: "chart", "aria-hidden": "true",
                   focusable: "false" });
  bw = (w - pad) / Math.max(1, rows.length);
  for (i = 0; i < rows.length; i++) {
    bh = Math.round((h - pad) * rows[i].count / max);
    g = svg("rect", { class: "bar", x: pad + i * bw + 1, y: h - bh, width: Math.max(1, bw - 2),
                      height: bh });
    s.appendChild(g);
    if (rows[i].count > 0) {
      t = svg("text", { x: pad + i * bw + bw / 2, y: h - bh - 3, "text-anchor": "middle" });
      t.textContent = String(rows[i].count);
      s.appendChild(t);
    }
  }
  t = svg("text", { x: 0, y: pad - 8 });
  t.textContent = "max " + max;
  s.appendChild(t);
  box.appendChild(s);
  tbody = el("tbody");
  for (i = 0; i < rows.length; i++) {
    tbody.appendChild(el("tr", {}, el("td", {}, rows[i].label), el("td", {}, rows[i].count)));
  }
  table = el("table", { class: "sr-only", "aria-labelledby": titleId },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, labelName),
                       el("th", { scope: "col" }, "count"))), tbody);
  box.appendChild(table);
}

function day(t) {
  return new Date(t * 1000).toISOString().slice(0, 10);
}

function loadOverview() {
  api("GET", "/api/v1/overview").then(function (r) {
    var o = r.body;
    if (r.status !== 200) {
      showError("Cannot read the overview: " + apiMessage(r));
      return;
    }
    $("totals").textContent = o.totals.valid + " valid, " + o.totals.revoked + " revoked, " +
      o.totals.pending + " pending.";
    chart($("chart-expiring"), o.expiring_per_week.map(function (x) {
      return { label: "week of " + day(x.week_start), count: x.count };
    }), "h-expiring", "week");
    chart($("chart-enrolled"), o.enrollments_per_day.map(function (x) {
      return { label: day(x.day), count: x.count };
    }), "h-enrolled", "day");
  });
}

// ---- wiring ----

function init() {
  var buttons = document.querySelectorAll("#nav button");
  var i;
  for (i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (ev) {
      show(ev.currentTarget.getAttribute("data-view"));
    });
  }
  $("setup-form").addEventListener("submit", onSetup);
  $("login-form").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", onLogout);
  $("password-form").addEventListener("submit", onPassword);
  $("press-form").addEventListener("submit", onPress);
  $("inv-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    loadInventory(false);
  });
  $("inv-more").addEventListener("click", function () {
    loadInventory(true);
  });
  $("pending-more").addEventListener("click", function () {
    lanca.pendingPages += 1;
    poll();
  });
  $("revoke-form").addEventListener("submit", onRevoke);
  $("audit-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    loadAudit(false);
  });
  $("audit-more").addEventListener("click", function () {
    loadAudit(true);
  });
  $("cert-title").setAttribute("tabindex", "-1");
  $("h-acme").setAttribute("tabindex", "-1");
  lanca.tickTimer = setInterval(showWindow, 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      poll();
    }
  });
  boot();
}

document.addEventListener("DOMContentLoaded", init);
