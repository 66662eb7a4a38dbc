// lanca onboarding page (placeholder): fills in the root's identity from
// /api/v1/status. Kept out of index.html because the page's CSP is
// default-src 'self', which forbids inline scripts.
"use strict";

function lancaSet(id, text) {
  var el = document.getElementById(id);
  if (el) {
    el.textContent = text;
  }
}

// "ab12cd..." -> "AB:12:CD:...", the form people compare by eye.
function lancaColons(hex) {
  return (hex.toUpperCase().match(/../g) || []).join(":");
}

function lancaLoad() {
  fetch("/api/v1/status", { cache: "no-store" })
    .then(function (res) {
      if (!res.ok) {
        throw new Error("status request failed: HTTP " + res.status);
      }
      return res.json();
    })
    .then(function (st) {
      lancaSet("root-subject", st.root.subject);
      lancaSet("root-fp", lancaColons(st.root.sha256));
      lancaSet("root-until", st.root.not_after);
      lancaSet("window-state", st.window.state);
      lancaSet("version", st.version);
    })
    .catch(function (err) {
      var el = document.getElementById("error");
      el.textContent = "Cannot read the gateway's status: " + err.message;
      el.hidden = false;
    });
}

document.addEventListener("DOMContentLoaded", lancaLoad);
