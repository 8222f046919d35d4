// The page's language (<html lang>, set by the server from the user's choice) as the locale of every date and
// number the page's scripts format. Dates stay in the Gregorian calendar in every language: a th-TH browser
// would otherwise show Buddhist-era years (2569 for 2026). Digits stay Latin.
(function () {
  "use strict";
  function tag() {
    var lang = (document.documentElement.getAttribute("lang") || "en").trim();
    if (lang.toLowerCase() === "zh-hans") return "zh-Hans";
    return lang || "en";
  }
  function withExtensions(locale) {
    try {
      return Intl.getCanonicalLocales(locale + "-u-ca-gregory-nu-latn")[0];
    } catch (e) { return "en-u-ca-gregory-nu-latn"; }
  }
  function dateTimeFormat(options) {
    var opts = {};
    for (var key in options || {}) opts[key] = options[key];
    opts.calendar = "gregory";
    opts.numberingSystem = "latn";
    return new Intl.DateTimeFormat(withExtensions(tag()), opts);
  }
  function number(value, options) {
    return Number(value).toLocaleString(withExtensions(tag()), options);
  }
  window.tradingbotLocale = { tag: tag, locale: function () { return withExtensions(tag()); },
    dateTimeFormat: dateTimeFormat, number: number };
})();
