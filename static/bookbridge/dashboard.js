/* The operations dashboard refreshes itself: every data-refresh seconds it fetches data-url
   (JSON: {html, generated_at}) and replaces #bb-dashboard-body. window.bookbridgeRefreshDashboard
   refreshes at once; data-refreshed on #bb-dashboard records the last successful refresh.
   A file, not an inline script: the Content-Security-Policy allows scripts from 'self' only. */
(function () {
  "use strict";
  function start() {
    var root = document.getElementById("bb-dashboard");
    if (!root) { return; }
    var body = document.getElementById("bb-dashboard-body");
    var stamp = document.getElementById("bb-updated");
    var problem = document.getElementById("bb-refresh-error");
    var every = parseInt(root.dataset.refresh, 10) * 1000;
    function refresh() {
      return fetch(root.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (data) {
          body.innerHTML = data.html;
          stamp.textContent = data.generated_at;
          problem.textContent = "";
          root.dataset.refreshed = String(Date.now());
        })
        .catch(function (e) { problem.textContent = "(refresh failed: " + e.message + ")"; });
    }
    if (every > 0) { setInterval(refresh, every); }
    window.bookbridgeRefreshDashboard = refresh;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
