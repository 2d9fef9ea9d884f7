// The grid of lines on a record form (SPEC §3.5). Without this script the grid works by
// full pages: empty rows, "Add rows", "Up"/"Down" buttons and a "Remove" box per row.
// With it: "Add rows" adds one empty row in place, Up/Down move the row in the page,
// "Remove" takes the row away, rows can be dragged (Sortable), and every change asks the
// server for the derived values (hx-post on the grid). The order of the rows in the page
// is the order of the lines: nothing is renumbered, the server reads the order on submit.
// No inline handlers: the CSP forbids them.
(() => {
  "use strict";

  const changed = (grid) => grid.dispatchEvent(new Event("change", { bubbles: true }));

  const renumber = (grid) => {
    let number = 0;
    grid.querySelectorAll("tbody[data-rows] > tr.line-row").forEach((row, i, rows) => {
      const up = row.querySelector(".move-up");
      const down = row.querySelector(".move-down");
      if (up) up.disabled = i === 0;
      if (down) down.disabled = i === rows.length - 1;
      const label = row.querySelector(".line-number");
      if (label && label.textContent.trim() !== "") label.textContent = String(++number);
    });
  };

  // A copy of the last row, emptied, with its inputs named for a new index.
  const emptyRow = (grid) => {
    const rows = grid.querySelectorAll("tbody[data-rows] > tr.line-row");
    const model = rows[rows.length - 1];
    if (!model) return null;
    const index = Number(grid.dataset.next || rows.length);
    grid.dataset.next = String(index + 1);
    const from = `${grid.dataset.grid}-${model.dataset.index}-`;
    const to = `${grid.dataset.grid}-${index}-`;
    const row = model.cloneNode(true);
    row.dataset.index = String(index);
    row.classList.remove("row-has-error", "is-removed");
    row.querySelectorAll(".field-errors").forEach((list) => list.remove());
    row.querySelectorAll(".has-error").forEach((cell) => cell.classList.remove("has-error"));
    row.querySelectorAll("*").forEach((element) => {
      for (const attribute of ["name", "id", "for", "aria-controls", "aria-describedby", "hx-target", "value"]) {
        const value = element.getAttribute(attribute);
        if (value && value.includes(from) && (attribute !== "value" || element.name === "_grid")) {
          element.setAttribute(attribute, value.split(from).join(to));
        }
      }
      element.removeAttribute("aria-invalid");
    });
    row.querySelectorAll("input, select, textarea").forEach((input) => {
      delete input.dataset.fetched;
      if (input.name === "_grid") return;
      if (input.type === "checkbox") input.checked = false;
      else if (input.type === "hidden" && input.name.endsWith("-id")) input.value = "";
      else if (input.type === "hidden" && input.value === "0") return;
      else if (input.tagName === "SELECT") input.selectedIndex = 0;
      else input.value = "";
    });
    row.querySelectorAll("output.readonly").forEach((output) => { output.textContent = "—"; });
    row.querySelectorAll(".picker-options").forEach((list) => list.replaceChildren());
    const number = row.querySelector(".line-number");
    if (number) number.textContent = "";
    return row;
  };

  const addRow = (grid) => {
    const row = emptyRow(grid);
    if (!row) return;
    grid.querySelector("tbody[data-rows]").append(row);
    if (window.htmx) window.htmx.process(row);
    renumber(grid);
    const first = row.querySelector("td.cell input:not([type=hidden]), td.cell select");
    if (first) first.focus();
  };

  const move = (row, up) => {
    const other = up ? row.previousElementSibling : row.nextElementSibling;
    if (!other) return;
    if (up) other.before(row);
    else other.after(row);
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest ? event.target.closest(".lines-grid button[name=_grid]") : null;
    if (!button) return;
    const grid = button.closest(".lines-grid");
    event.preventDefault();
    if (button.classList.contains("add-rows")) {
      addRow(grid);
      return;
    }
    move(button.closest("tr"), button.classList.contains("move-up"));
    renumber(grid);
    button.focus();
    changed(grid);
  });

  // "Remove" with the script: the row leaves the page (a stored line left out is deleted
  // on save); the last row is emptied instead so the grid keeps a row to type in.
  document.addEventListener("change", (event) => {
    const box = event.target;
    if (!box.matches || !box.matches(".lines-grid .remove-row input")) return;
    const row = box.closest("tr");
    const grid = box.closest(".lines-grid");
    if (grid.querySelectorAll("tbody[data-rows] > tr.line-row").length === 1) {
      const fresh = emptyRow(grid);
      if (fresh) row.after(fresh);
    }
    row.remove();
    renumber(grid);
    changed(grid);
  });

  // Fetch (SPEC §3.6): picking a row's product fills the cells that copy from it
  // (`GET /<part>/fetch/<link>?id=` answers their text), never over a value typed here: a
  // cell is filled when empty or still showing what was filled last. The server then
  // recomputes the row (the change event the grid posts to lines.preview).
  const fetchInto = async (grid, row, link, id) => {
    const prefix = `${grid.dataset.grid}-${row.dataset.index}-`;
    let response;
    try {
      response = await fetch(`${grid.dataset.fetchUrl}${link}?id=${encodeURIComponent(id)}`,
                             { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (error) {
      return;
    }
    if (!response.ok) return;
    const values = await response.json();
    let filled = false;
    for (const [name, text] of Object.entries(values)) {
      const cell = row.querySelector(`[name="${prefix}${name}"]`);
      if (!cell || cell.type === "hidden" || cell.type === "checkbox") continue;
      if (cell.value.trim() === "" || cell.value === (cell.dataset.fetched || "")) {
        cell.value = text;
        cell.dataset.fetched = text;
        filled = true;
      }
    }
    if (filled) changed(grid);
  };

  document.addEventListener("change", (event) => {
    const input = event.target;
    const grid = input.closest ? input.closest(".lines-grid[data-fetch-links]") : null;
    const row = grid ? input.closest("tr.line-row") : null;
    if (!row || !input.name || !input.value) return;
    const prefix = `${grid.dataset.grid}-${row.dataset.index}-`;
    const link = input.name.startsWith(prefix) ? input.name.slice(prefix.length) : "";
    if (grid.dataset.fetchLinks.split(" ").includes(link)) fetchInto(grid, row, link, input.value);
  });

  // A row nothing was typed in (no stored line, no text, nothing chosen, no error).
  const blank = (row) => !row.classList.contains("row-has-error")
    && Array.from(row.querySelectorAll("td.cell input, td.cell select, td.cell textarea, td.row-no input"))
      .every((input) => {
        if (input.type === "hidden") return !input.name.endsWith("-id") || input.value === "";
        if (input.type === "checkbox") return !input.checked;
        return input.value.trim() === "";
      });

  // With the script "Add a row" adds rows one at a time: one empty row is enough.
  const trim = (grid) => {
    const rows = Array.from(grid.querySelectorAll("tbody[data-rows] > tr.line-row"));
    let first = rows.length;
    while (first > 0 && blank(rows[first - 1])) first -= 1;
    rows.slice(first + 1).forEach((row) => row.remove());   // the first empty row stays
  };

  const start = () => {
    document.querySelectorAll(".lines-grid").forEach((grid) => {
      grid.classList.add("lines-js");
      trim(grid);
      renumber(grid);
      // a stored line's cells show what was fetched for it: a new pick may replace them
      grid.querySelectorAll("tr.line-row").forEach((row) => {
        const id = row.querySelector("td.row-no input[type=hidden]");
        if (!id || !id.value) return;
        row.querySelectorAll("td.cell input:not([type=hidden]):not([type=checkbox])").forEach((cell) => {
          cell.dataset.fetched = cell.value;
        });
      });
      const button = grid.querySelector(".add-rows");
      if (button) button.textContent = button.dataset.one || button.textContent;
      if (typeof window.Sortable === "undefined") return;
      window.Sortable.create(grid.querySelector("tbody[data-rows]"), {
        handle: ".drag-handle",
        draggable: "tr.line-row",
        animation: 150,
        chosenClass: "is-dragging",
        onEnd: () => { renumber(grid); changed(grid); },
      });
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
