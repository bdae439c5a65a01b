// Linkage console: makes the alert board (and the responder's list) live. Pages work
// without it; it only refreshes what is already there. No libraries, nothing from elsewhere.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var mine = document.getElementById("my-alerts");
  var status = document.getElementById("live-status");
  function say(text) { if (status) { status.textContent = text; } }

  function refreshBoard(announce) {
    fetch(board.dataset.fragment, { credentials: "same-origin", headers: { "Accept": "text/html-fragment" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { window.location.assign("/login?next=/console"); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null || html === undefined) { return; }
        var before = {};
        board.querySelectorAll("tr[data-alert]").forEach(function (tr) { before[tr.dataset.alert] = true; });
        var hadFocus = document.activeElement && board.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
        board.innerHTML = html;
        var fresh = 0;
        board.querySelectorAll("tr[data-alert]").forEach(function (tr) {
          if (!before[tr.dataset.alert]) { tr.classList.add("fresh"); fresh += 1; }
        });
        if (hadFocus) { var el = board.querySelector('a[href="' + hadFocus + '"]'); if (el) { el.focus(); } }
        var table = board.querySelector("table");
        if (announce && fresh && table) {
          say(fresh + " new alert" + (fresh === 1 ? "" : "s") + ". " + table.dataset.count + " open, " + table.dataset.p1 + " at P1.");
        } else {
          say("Live: updated " + new Date().toLocaleTimeString("en-GB"));
        }
      })
      .catch(function () { say("Connection lost; retrying…"); });
  }

  function listen(url, onChange) {
    if (!window.EventSource) { setInterval(onChange, 5000); return; }
    var es = new EventSource(url);
    es.addEventListener("hello", function () { say("Live: connected"); onChange(); });
    es.addEventListener("alerts", function () { onChange(true); });
    es.onerror = function () { say("Live updates interrupted; reconnecting…"); };
  }

  if (board) {
    listen(board.dataset.events, refreshBoard);
    setInterval(function () { refreshBoard(false); }, 30000); // keep ages right
  }
  if (mine) {
    listen(mine.dataset.events, function (changed) { if (changed) { window.location.reload(); } });
  }
})();
