// The order ticket (limit price shown only for limit orders, the amount's unit explained), confirmation
// countdowns, and dismissing notifications. Event delegation only: it works for fragments htmx swaps in,
// and the pages carry no inline script (the Content-Security-Policy allows none).
(function () {
  "use strict";
  var _ = window.gettext || function (text) { return text; };  // the djangojs catalogue (/i18n/js/)
  var UNIT_HELP = {
    quote: _("How much to spend (buy) or receive (sell), in the quote currency."),
    base: _("How many coins to buy or sell."),
    percent: _("A share of your free balance: of the quote currency for a buy, of the coin for a sell.")
  };

  function ticketOf(el) { return el.closest("form.ticket"); }

  function syncTicket(form) {
    if (!form) return;
    var type = form.querySelector("[data-ticket-type]");
    var price = form.querySelector("[data-ticket-price]");
    if (type && price) {
      var limit = type.value === "limit";
      price.hidden = !limit;
      var input = price.querySelector("input");
      if (input) input.required = limit;
    }
    var unit = form.querySelector("[data-ticket-unit]");
    var help = form.querySelector("[data-unit-help]");
    if (unit && help && UNIT_HELP[unit.value]) help.textContent = UNIT_HELP[unit.value];
  }

  document.addEventListener("change", function (evt) {
    if (evt.target.matches("[data-ticket-type], [data-ticket-unit]")) syncTicket(ticketOf(evt.target));
  });
  document.addEventListener("click", function (evt) {
    var close = evt.target.closest("[data-dismiss]");
    if (close) {
      var toast = close.closest(".toast");
      if (toast) toast.remove();
    }
  });

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-expires]").forEach(function (el) {
      var expires = Date.parse(el.getAttribute("data-expires"));
      if (isNaN(expires)) return;
      var left = Math.round((expires - now) / 1000);
      var box = el.closest(".outcome");
      if (left <= 0) {
        el.textContent = "Expired: nothing was sent.";
        if (box) box.querySelectorAll("button.confirm").forEach(function (b) { b.disabled = true; });
        el.removeAttribute("data-expires");
        return;
      }
      el.textContent = "Expires in " + Math.floor(left / 60) + ":" + pad(left % 60) + ".";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.ticket").forEach(syncTicket);
    tick();
  });
  document.addEventListener("htmx:afterSettle", function (evt) {
    var root = evt.target && evt.target.querySelectorAll ? evt.target : document;
    root.querySelectorAll("form.ticket").forEach(syncTicket);
    tick();
  });
  window.setInterval(tick, 1000);
})();
