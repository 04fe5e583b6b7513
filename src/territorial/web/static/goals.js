// Sortable tables (class "sortable"): click a header to sort by it, again to reverse.
// Cells carry their sort value in data-value; headers with data-type="text" sort as text.
"use strict";
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, column) {
    th.classList.add("sort");
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var text = th.getAttribute("data-type") === "text";
      var down = th.getAttribute("aria-sort") !== "descending";
      table.querySelectorAll("thead th").forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", down ? "descending" : "ascending");
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-value") || "";
        var y = b.cells[column].getAttribute("data-value") || "";
        var order = text ? x.localeCompare(y) : (parseFloat(x) || 0) - (parseFloat(y) || 0);
        return down ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
