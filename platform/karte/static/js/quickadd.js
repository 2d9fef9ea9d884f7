// Quick-add on the card (templates/_partials/timeline_panel.html): htmx posts the form
// and swaps the timeline panel. A refused item answers 422 with the panel showing what
// was typed and what is wrong: swap it too (htmx drops 4xx answers by default), then put
// the focus on the first field to fix, or on the "Added" message after a success.
// Without JavaScript the form posts and the card comes back.
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (event.detail.xhr.status === 422 && target && target.id === "timeline-panel") {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

document.addEventListener("htmx:afterSwap", () => {
  const panel = document.getElementById("timeline-panel");
  if (!panel) return;
  const focus = panel.querySelector("[aria-invalid=true]") || panel.querySelector(".quick-added");
  if (focus && !panel.contains(document.activeElement)) focus.focus();
});
