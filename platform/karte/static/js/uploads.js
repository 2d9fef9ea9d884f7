// Uploads with script on (karte/web/form_files.py, _partials/card_files.html): drop files
// on a file area ([data-upload]) instead of browsing for them, and watch a progress bar
// while a form with chosen files is sent. Without script the same forms post as plain
// multipart forms; every listener sits on the document, so a page drawn again after a
// refused upload keeps working.
(() => {
  const area = (event) => event.target.closest && event.target.closest("[data-upload]");

  document.addEventListener("dragover", (event) => {
    const found = area(event);
    if (!found || !event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
    event.preventDefault();
    found.classList.add("is-dragging");
  });

  document.addEventListener("dragleave", (event) => {
    const found = area(event);
    if (found && !found.contains(event.relatedTarget)) found.classList.remove("is-dragging");
  });

  document.addEventListener("drop", (event) => {
    const found = area(event);
    if (!found || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    found.classList.remove("is-dragging");
    const input = found.querySelector("input[type=file]");
    if (!input) return;
    const chosen = new DataTransfer();
    const dropped = Array.from(event.dataTransfer.files);
    (input.multiple ? dropped : dropped.slice(0, 1)).forEach((file) => chosen.items.add(file));
    input.files = chosen.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  const chosenFiles = (form) =>
    Array.from(form.querySelectorAll("input[type=file]")).some((input) => input.files.length);

  const progressFor = (form) => {
    const bar = document.createElement("progress");
    bar.className = "upload-progress";
    bar.max = 100;
    bar.value = 0;
    const status = document.createElement("p");
    status.className = "upload-status muted";
    status.setAttribute("role", "status");
    const place = form.querySelector("[data-upload]") || form;
    place.append(bar, status);
    return { bar, status };
  };

  // The answer: a save names the page to open (X-Karte-Location, asked for with
  // X-Karte-Upload: a followed 303 would use up its "Saved" message), which is then loaded
  // as any page; a refusal (422, 409) is the page the server drew for the same address, put
  // in place of this one's body.
  const show = (xhr) => {
    const next = xhr.getResponseHeader("X-Karte-Location");
    if (next) {
      const target = new URL(next, window.location.href);
      if (target.pathname + target.search !== window.location.pathname + window.location.search) {
        window.location.assign(target.href);
      } else {   // the card it was sent from: only its #fragment differs, so load it again
        window.history.replaceState(null, "", target.href);
        window.location.reload();
      }
      return;
    }
    const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    document.title = page.title;
    document.body.replaceWith(document.adoptNode(page.body));
    if (window.htmx) window.htmx.process(document.body);
    window.scrollTo(0, 0);
  };

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if (form.enctype !== "multipart/form-data" || !chosenFiles(form)) return;
    event.preventDefault();
    const data = new FormData(form, event.submitter || undefined);
    // a button's formAction reads as the page's address when it has no formaction of its own
    const own = event.submitter && event.submitter.getAttribute("formaction");
    const url = new URL(own || form.action, window.location.href).href;
    const { bar, status } = progressFor(form);
    form.querySelectorAll("button").forEach((button) => { button.disabled = true; });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.addEventListener("progress", (progress) => {
      if (!progress.lengthComputable) return;
      bar.value = Math.round((progress.loaded / progress.total) * 100);
      status.textContent = `${bar.value}%`;
    });
    xhr.setRequestHeader("X-Karte-Upload", "1");
    xhr.addEventListener("load", () => show(xhr));
    xhr.addEventListener("error", () => {
      form.querySelectorAll("button").forEach((button) => { button.disabled = false; });
      const place = form.querySelector("[data-upload]") || form;
      status.textContent = place.dataset.uploadFailed || "Upload failed: check the connection and try again.";
    });
    xhr.send(data);
  });
})();
