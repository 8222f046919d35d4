// Tell the server the browser's time zone (a cookie the TimezoneMiddleware reads) and show every
// <time datetime> in that zone, including fragments the worker rendered in UTC and htmx swapped in.
(function () {
  "use strict";
  var zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* old browser */ }
  // Zone names (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+3) are cookie-safe as they are.
  if (/^[A-Za-z0-9_\/+-]+$/.test(zone) && document.cookie.indexOf("tz=" + zone) === -1) {
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
  }
  // The page's locale, in the Gregorian calendar whatever the language (static/js/locale.js).
  var options = {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
  };
  var parts = window.tradingbotLocale ? window.tradingbotLocale.dateTimeFormat(options)
    : new Intl.DateTimeFormat("en-GB-u-ca-gregory", options);
  function format(date) {
    var p = {};
    parts.formatToParts(date).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
  }
  function localise(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localised === zone) return;
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      el.textContent = format(date);
      el.title = zone;
      el.dataset.localised = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSettle", function () { localise(document); });
  document.addEventListener("htmx:wsAfterMessage", function () { localise(document); });
  window.tradingbotLocaliseTimes = localise;
})();
