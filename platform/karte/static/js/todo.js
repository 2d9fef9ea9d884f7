// To-do ticks (web/todo.py): htmx posts the tick and swaps in the ticked control with
// "Undo". On home, a ticked row stays a few seconds (crossed out, with Undo), then leaves;
// elsewhere the Undo button goes after the same time and the box stays ticked. Undo
// within that time brings the row back as it was. Without this file the tick still
// works: htmx swaps the control, or, without htmx, the form posts and the page reloads.
(() => {
  const STAY = 6000;
  const timers = new WeakMap();

  // htmx:load fires on each element htmx puts in the page: here, a swapped-in control.
  document.addEventListener("htmx:load", (event) => {
    const swapped = event.detail.elt;
    if (!swapped || !swapped.matches || !swapped.matches(".todo-tick")) return;
    const row = swapped.closest(".todo-row");
    if (row) {
      const old = timers.get(row);
      if (old) window.clearTimeout(old);
      row.classList.remove("is-leaving");
    }
    if (swapped.dataset.done === "1") {
      if (row) row.classList.add("is-done");
      const later = window.setTimeout(() => {
        if (row && row.closest("[data-todo-list]")) {
          row.classList.add("is-leaving");
          window.setTimeout(() => row.remove(), 400);
        } else {
          swapped.querySelectorAll(".undo, .todo-said").forEach((n) => n.remove());
          swapped.classList.remove("just-done");
        }
      }, STAY);
      if (row) timers.set(row, later);
    } else if (row) {
      row.classList.remove("is-done");
    }
  });
})();
