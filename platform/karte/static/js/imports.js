// The import wizard (templates/imports/, web/imports.py); every step also works without
// this file. A step answered with 409, 413 or 422 (a file that cannot be read, a wrong
// mapping choice, a refused revert) is the same step again with the message: htmx drops
// error answers unless told to swap them.
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  const status = event.detail.xhr.status;
  if (target && target.id === "import-step" && [409, 413, 422].includes(status)) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
