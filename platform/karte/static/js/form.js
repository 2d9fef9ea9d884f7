// Record forms (loaded with `defer`; every form also works without it).
// No inline handlers: the CSP forbids them.
(() => {
  // "Update form" re-renders the fields without saving for browsers without scripts;
  // with scripts the fields update by themselves.
  const hideNoScript = () => {
    document.querySelectorAll(".no-script").forEach((element) => { element.hidden = true; });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", hideNoScript);
  else hideNoScript();

  // Link pickers (type-ahead comboboxes) are static/js/typeahead.js, loaded on every page.
})();
