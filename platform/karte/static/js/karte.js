// Karte's own behaviour, loaded with `defer`; every page also works without it.
// Forms and buttons with data-confirm ask before they send (no inline handlers: the CSP
// forbids them).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : null;
  if (question && !window.confirm(question)) event.preventDefault();
});
