// Dashboards: print every chart's data table with it (a closed <details> prints closed),
// then close again those that were closed; and mark the page as scripted, so home's tiles
// that load themselves hide their "Show the figures" link while htmx fetches the figures.
// Nothing else: the page works without this.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details.chart-data"),
      function (d) { return !d.open; });
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
