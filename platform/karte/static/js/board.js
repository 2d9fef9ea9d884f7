// Kanban drag and drop (SPEC §4). Sortable only moves the card on screen; the server
// decides. Accepted: the re-rendered card takes the dragged one's place and the column
// heads are swapped out of band. Refused: the card snaps back to where it was and every
// reason shows above the board — unless only fields are missing, then a dialog asks for
// exactly those and completes the move with them. Without this script (or without
// Sortable) each card's "Move to…" form does the same through full pages.
(() => {
  "use strict";
  const board = document.querySelector(".board[data-board]");
  const messages = document.getElementById("board-messages");
  const dialog = document.getElementById("move-dialog");
  if (!board || !messages || typeof window.Sortable === "undefined") return;

  const token = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };
  const parse = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  };
  const moreOf = (list) => list.querySelector(":scope > .more");

  function say(nodes) {
    const close = document.createElement("button");
    close.type = "button";
    close.className = "linkish dismiss";
    close.textContent = messages.dataset.dismiss || "×";
    close.addEventListener("click", () => messages.replaceChildren());
    messages.replaceChildren(...nodes, close);
  }

  function sayFrom(fragment) {
    const found = [...fragment.querySelectorAll(".problems")];
    if (found.length) return say(found);
    const text = document.createElement("p");
    text.textContent = fragment.textContent.trim() || messages.dataset.failed;
    say([text]);
  }

  function sayFailed() {
    const text = document.createElement("p");
    text.textContent = messages.dataset.failed;
    say([text]);
  }

  function snapBack(card, from) {
    const next = from.next && from.next.parentNode === from.list ? from.next : moreOf(from.list);
    from.list.insertBefore(card, next);
  }

  function land(card, html) {
    const fragment = parse(html);
    fragment.querySelectorAll("[hx-swap-oob]").forEach((element) => {
      element.removeAttribute("hx-swap-oob");
      const old = element.id && document.getElementById(element.id);
      if (old) old.replaceWith(element);
    });
    const fresh = fragment.querySelector(".board-card");
    if (fresh) card.replaceWith(fresh);
    messages.replaceChildren();
  }

  async function post(card, body) {
    card.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(card.dataset.move, {
        method: "POST", body, credentials: "same-origin",
        headers: {"X-CSRFToken": token(), "HX-Request": "true"},
      });
      return {status: response.status, ok: response.ok, html: await response.text()};
    } finally {
      card.removeAttribute("aria-busy");
    }
  }

  // ------------------------------------------------------------ the missing-fields dialog
  let pending = null;   // {card, list}: the move the dialog will complete

  function ask(card, list, fragment) {
    pending = {card, list};
    dialog.querySelector(".move-dialog-body").replaceChildren(fragment);
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  dialog.addEventListener("click", (event) => {
    if (event.target.closest("[data-cancel]")) {
      event.preventDefault();
      dialog.close();
    }
  });
  dialog.addEventListener("close", () => { pending = null; });
  dialog.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-prompt]");
    if (!form || !pending) return;
    event.preventDefault();
    const {card, list} = pending;
    let answer;
    try {
      answer = await post(card, new FormData(form));
    } catch (error) {
      dialog.close();
      return sayFailed();
    }
    const fragment = parse(answer.html);
    if (answer.ok) {
      dialog.close();
      list.insertBefore(card, list.querySelector(":scope > .board-card, :scope > .more"));
      return land(card, answer.html);
    }
    if (answer.status === 409 && fragment.querySelector("form[data-prompt]")) {
      return ask(card, list, fragment);
    }
    dialog.close();
    sayFrom(fragment);
  });

  // ------------------------------------------------------------ dragging
  let origin = null;   // {list, next}: where the dragged card was

  async function dropped(event) {
    const card = event.item, from = origin, list = event.to;
    origin = null;
    if (!from || list === from.list) {
      if (from) snapBack(card, from);   // order within a stage is the list's sort order
      return;
    }
    const more = moreOf(list);
    if (more && card.compareDocumentPosition(more) & Node.DOCUMENT_POSITION_PRECEDING) {
      list.insertBefore(card, more);
    }
    const body = new FormData();
    body.append("to", list.dataset.stage);
    body.append("workflow", board.dataset.board);
    body.append("version", card.dataset.version);
    let answer;
    try {
      answer = await post(card, body);
    } catch (error) {
      snapBack(card, from);
      return sayFailed();
    }
    if (answer.ok) return land(card, answer.html);
    snapBack(card, from);
    const fragment = parse(answer.html);
    if (answer.status === 409 && fragment.querySelector("form[data-prompt]")) {
      messages.replaceChildren();
      return ask(card, list, fragment);
    }
    sayFrom(fragment);
  }

  board.querySelectorAll(".board-list").forEach((list) => {
    window.Sortable.create(list, {
      group: "board-" + board.dataset.board,
      draggable: ".board-card",
      filter: "button, summary, select, input, textarea, .more",
      preventOnFilter: false,
      delay: 150,
      delayOnTouchOnly: true,
      animation: 150,
      forceFallback: true,   // the same mouse/touch dragging everywhere, links included
      ghostClass: "is-ghost",
      onStart: (event) => { origin = {list: event.from, next: event.item.nextElementSibling}; },
      onEnd: dropped,
    });
  });
  board.classList.add("is-draggable");
})();

// Layout (no moves here): final stages open and close in place — their cards are fetched
// the first time — and on a phone the stage switcher shows one column at a time without a
// page load. Without this script both are plain links the server answers.
(() => {
  "use strict";
  const board = document.querySelector(".board[data-board]");
  if (!board) return;
  const switcher = document.querySelector(".stage-switch");

  async function expand(section) {
    const link = section.querySelector(".col-expand");
    const list = section.querySelector(".board-list");
    section.classList.remove("is-collapsed");
    if (!section.hasAttribute("data-unloaded") || !link || !list) return;
    section.removeAttribute("data-unloaded");
    list.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(link.dataset.cards, {
        credentials: "same-origin", headers: {"HX-Request": "true"},
      });
      if (!response.ok) throw new Error(String(response.status));
      list.innerHTML = await response.text();
      if (window.htmx) window.htmx.process(list);
    } catch (error) {
      section.setAttribute("data-unloaded", "");
      window.location.assign(link.href);   // the server opens it instead
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  board.addEventListener("click", (event) => {
    const toggle = event.target.closest(".col-expand, .col-collapse");
    if (!toggle) return;
    const section = toggle.closest(".board-col");
    event.preventDefault();
    if (toggle.classList.contains("col-expand")) {
      expand(section).then(() => {
        const other = section.querySelector(".col-collapse");
        if (other) other.focus();
      });
    } else {
      section.classList.add("is-collapsed");
      const other = section.querySelector(".col-expand");
      if (other) other.focus();
    }
  });

  if (!switcher) return;
  switcher.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-stage]");
    if (!link) return;
    const section = board.querySelector(
      `.board-list[data-stage="${CSS.escape(link.dataset.stage)}"]`)?.closest(".board-col");
    if (!section) return;
    event.preventDefault();
    switcher.querySelectorAll("a[aria-current]").forEach((a) => a.removeAttribute("aria-current"));
    link.setAttribute("aria-current", "true");
    board.querySelectorAll(".board-col.is-current").forEach((s) => s.classList.remove("is-current"));
    section.classList.add("is-current");
    if (section.classList.contains("is-collapsed")) expand(section);
    link.scrollIntoView({block: "nearest", inline: "nearest"});
    window.history.replaceState(null, "", link.href);
  });
})();
