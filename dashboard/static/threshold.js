// Threshold's pages work without this file; it only enhances them.
// window.threshold.api(method, path, body) calls the hub's API as any client does, signed by the page's session
// cookie and carrying its CSRF token on every change.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (method !== "GET" && method !== "HEAD") {
      headers["X-CSRF-Token"] = csrfToken;
    }
    var options = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options);
  }

  // A page that opens on an error moves focus to it, so keyboard and screen reader users hear it first.
  function focusError() {
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusError);
  } else {
    focusError();
  }

  window.threshold = Object.freeze({ csrfToken: csrfToken, api: api });
})();
