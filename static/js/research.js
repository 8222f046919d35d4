// The optimisation results page: click a column heading of a table.sortable to sort its rows by that
// column (numbers by value, empty cells last); a second click reverses. The live progress arrives over the
// page's websocket (bots.live); when the run finishes the fragment links to the results.
(function () {
  "use strict";
  function value(cell) {
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null || raw === "" || raw === "None") return null;
    var number = parseFloat(raw);
    return isNaN(number) ? raw : number;
  }
  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    // The first click sorts largest first, except where the heading asks otherwise (the rank: 1 first).
    var current = th.getAttribute("aria-sort");
    var first = th.getAttribute("data-sort-first") || "descending";
    var descending = current ? current !== "descending" : first === "descending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a.cells[column]), y = value(b.cells[column]);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.addEventListener("click", function (evt) {
    var th = evt.target.closest("table.sortable th[data-sort]");
    if (!th) return;
    sortBy(th.closest("table"), th.cellIndex, th);
  });
})();
