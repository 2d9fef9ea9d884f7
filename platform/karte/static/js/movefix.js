// Fixing a refused move in place (issue 12). A refused move answers 409 with the move
// prompt (templates/_partials/move_prompt.html): when every reason is a field of the
// record, a form asking for exactly those fields; otherwise the reasons and a link to the
// record. This file shows that prompt in ONE <dialog>, sends the form (the server saves
// the values and completes the move in one transaction), shows the prompt again while the
// values are refused (what was typed is kept), and reports the outcome to its caller:
// `done(answer)` after the move, `cancel()` when the dialog is closed without it.
// The board (board.js) calls `KarteMoveFix.open` for a drag; the card's stage bars and the
// board cards' "Move to…" forms are handled here.
// Without JavaScript the same prompt is a page of its own (the no-JS move page).
(() => {
  "use strict";

  const token = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", body, credentials: "same-origin",
      headers: {"X-CSRFToken": token(), "HX-Request": "true"},
    });
    return {status: response.status, ok: response.ok, html: await response.text(),
            redirect: response.headers.get("HX-Redirect")};
  }

  function theDialog() {
    let dialog = document.getElementById("move-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "move-dialog";
      dialog.className = "move-dialog";
      const body = document.createElement("div");
      body.className = "move-dialog-body";
      dialog.append(body);
      document.body.append(dialog);
    }
    if (!dialog.dataset.bound) {
      dialog.dataset.bound = "1";
      dialog.addEventListener("click", onClick);
      dialog.addEventListener("submit", onSubmit);
      dialog.addEventListener("close", onClose);
    }
    return dialog;
  }

  let pending = null;   // {url, send, done, cancel, finished}: the move the dialog completes

  function open(fragment, handlers) {
    const dialog = theDialog();
    pending = {...handlers, finished: false};
    dialog.querySelector(".move-dialog-body").replaceChildren(fragment);
    const title = dialog.querySelector("#move-prompt-title");
    if (title) dialog.setAttribute("aria-labelledby", title.id);
    if (!dialog.open) dialog.showModal();
    const wrong = dialog.querySelector(".has-error input, .has-error select, .has-error textarea");
    const first = wrong || dialog.querySelector(
      "form[data-prompt] input:not([type=hidden]), form[data-prompt] select, " +
      "form[data-prompt] textarea, .move-prompt a.button");
    if (first) first.focus();
  }

  function failed(message) {
    const fragment = document.createDocumentFragment();
    const text = document.createElement("p");
    text.className = "problems";
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.dataset.cancel = "";
    close.textContent = theDialog().dataset.ok || "OK";
    fragment.append(text, close);
    return fragment;
  }

  function onClick(event) {
    if (event.target.closest("[data-cancel]")) {
      event.preventDefault();
      event.currentTarget.close();
    }
  }

  function onClose() {
    const was = pending;
    pending = null;
    if (was && !was.finished && was.cancel) was.cancel();
  }

  async function onSubmit(event) {
    const form = event.target.closest("form[data-prompt]");
    if (!form || !pending) return;
    event.preventDefault();
    const current = pending;
    const dialog = theDialog();
    form.setAttribute("aria-busy", "true");
    let answer;
    try {
      answer = current.send ? await current.send(new FormData(form))
                            : await post(current.url || form.action, new FormData(form));
    } catch (error) {
      form.removeAttribute("aria-busy");
      return open(failed(dialog.dataset.failed || "The move could not be sent; nothing changed."),
                  current);
    }
    if (answer.ok) {
      current.finished = true;
      dialog.close();
      if (current.done) current.done(answer);
      return;
    }
    const fragment = parse(answer.html);
    if (fragment.querySelector(".move-prompt")) return open(fragment, current);
    open(failed(fragment.textContent.trim().slice(0, 300) || dialog.dataset.failed || "The move failed."),
         current);
  }

  window.KarteMoveFix = {open, post, parse};

  // ------------------------------------------------------------ the card's stage bars
  // and the board cards' "Move to…" forms (what a phone offers: one column at a time
  // leaves nowhere to drag to), both sent here so that a refusal opens the dialog
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches) return;
    const bar = form.matches(".stage-bar form");
    if (!bar && !form.matches(".board-card .card-move form")) return;
    const button = event.submitter;
    if (bar && (!button || button.name !== "to")) return;
    event.preventDefault();
    const body = new FormData(form);
    if (bar) body.append("to", button.value);
    const to = body.get("to");
    const fallback = () => {
      const url = new URL(form.action, window.location.href);
      url.searchParams.set("to", to);
      url.searchParams.set("workflow", body.get("workflow") || "");
      window.location.assign(url.toString());
    };
    let answer;
    form.setAttribute("aria-busy", "true");
    try {
      answer = await post(form.action, body);
    } catch (error) {
      return fallback();
    } finally {
      form.removeAttribute("aria-busy");
    }
    if (answer.ok) return window.location.assign(answer.redirect || window.location.href);
    const fragment = parse(answer.html);
    if (!fragment.querySelector(".move-prompt")) return fallback();
    open(fragment, {
      url: form.action,
      done: (moved) => window.location.assign(moved.redirect || window.location.href),
    });
  });
})();
