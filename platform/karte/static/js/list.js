// List pages (every feature also works without this file): the "select all on this page"
// box, and list errors (HTTP 400, e.g. a filter value that does not fit) shown in place of
// the rows instead of being dropped by htmx.
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box.matches || !box.matches("[data-select-all]")) return;
  const form = box.closest("form");
  if (!form) return;
  form.querySelectorAll('input[type=checkbox][name="ids"]').forEach((item) => {
    item.checked = box.checked;
  });
});

document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (event.detail.xhr.status === 400 && target && target.id === "list-rows") {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A button with data-confirm (the bulk bar's "Delete selected") asks before its form is
// sent; the bulk form's other button ("Set on selected") does not.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset ? button.dataset.confirm : null;
  if (question && !window.confirm(question)) event.preventDefault();
});
