// Live updates over the htmx websocket extension, with catch-up after a reconnect and no duplicates.
// Each message starts with <div id="live-cursor" data-live-id="N">: the last N applied is sent back as
// ?after=N when the socket (re)connects, so the server replays what the page missed meanwhile.
(function () {
  "use strict";
  // Django's JavaScript catalogue (/i18n/js/, domain djangojs) defines gettext; without it, English.
  var _ = window.gettext || function (text) { return text; };
  var last = 0;
  var seen = [];
  var closedOnPurpose = false;

  function startingCursor() {
    var el = document.querySelector("[data-live-after]");
    return el ? parseInt(el.getAttribute("data-live-after"), 10) || 0 : 0;
  }

  htmx.createWebSocket = function (url) {
    last = Math.max(last, startingCursor());
    var target = new URL(url, window.location.href);
    target.searchParams.set("after", String(last));
    return new WebSocket(target.toString());
  };

  function setState(text, css) {
    document.documentElement.setAttribute("data-live", css);  // pages without a badge say it here
    var el = document.getElementById("live-state");
    if (!el) return;
    el.textContent = text;
    el.className = "badge live-" + css;
  }

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var match = /data-live-id="(\d+)"/.exec(evt.detail.message);
    if (!match) return;
    var id = parseInt(match[1], 10);
    if (seen.indexOf(id) !== -1) { evt.preventDefault(); return; }  // catch-up and live raced
    seen.push(id);
    if (seen.length > 2000) seen.shift();
    if (id > last) last = id;
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    var el = document.querySelector("[data-live-after]");
    if (el) el.setAttribute("data-live-after", String(last));
  });
  // "updating", not "live": next to a replay or paper bot the badge must not read as live trading.
  document.addEventListener("htmx:wsOpen", function () { setState(_("updating"), "on"); });
  document.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail.event.code;
    if (code === 4401 || code === 4403) { setState(_("not allowed: reload the page"), "off"); return; }
    setState(_("updates paused: reconnecting…"), "off");
    // The extension itself retries after abnormal closes (1006, 1011-1013); a server that shut down
    // cleanly (1000, 1001) is retried here, so a restarted server resumes the page without a reload.
    if (!closedOnPurpose && (code === 1000 || code === 1001)) {
      setTimeout(function () { evt.detail.socketWrapper.reconnect(); }, 1000);
    }
  });
  window.addEventListener("beforeunload", function () { closedOnPurpose = true; });
  // A bot created after the dashboard was rendered has no row to replace yet: its first update adds it.
  document.addEventListener("htmx:oobErrorNoTarget", function (evt) {
    var row = evt.detail.content;
    var list = document.getElementById("dash-bots");
    if (row && list && row.id && row.id.indexOf("dash-bot-") === 0) {
      list.appendChild(row);
      htmx.process(row);
    }
  });
})();
