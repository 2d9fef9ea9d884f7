// Phones (docs/ui-mobile.md): a list's filters fold into a sheet. Without JavaScript the
// filters simply stay open, as on a wide screen.
(function () {
  const phone = window.matchMedia("(max-width: 640px)");
  function fold() {
    const fields = document.querySelector("#list-filters .list-filter-fields");
    if (!fields || fields.parentElement.classList.contains("filter-sheet")) return;
    const sheet = document.createElement("details");
    sheet.className = "filter-sheet";
    const summary = document.createElement("summary");
    const active = Array.from(fields.querySelectorAll("select, input"))
      .filter((input) => input.value).length;
    const menu = document.querySelector(".navmenu");
    const label = (menu && menu.dataset.filtersLabel) || "Filters";
    summary.textContent = active ? label + " (" + active + ")" : label;
    sheet.appendChild(summary);
    fields.parentElement.insertBefore(sheet, fields);
    sheet.appendChild(fields);
    sheet.open = !phone.matches;
    phone.addEventListener("change", (event) => { sheet.open = !event.matches || sheet.open; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fold);
  else fold();
})();
