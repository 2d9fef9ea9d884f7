// Type-ahead (issue 12), loaded with `defer` on every page; every page works without it.
// One ARIA 1.2 combobox behaviour for the top search and for link pickers: focus stays in
// the text box, ArrowDown/ArrowUp move aria-activedescendant through the listbox's
// options (filled by htmx as the user types), Enter takes the active option, Escape
// closes the list (a second Escape clears the box). "/" focuses the top search unless
// the user is typing in a field.
// A top-search option is a link: taking it opens the record. A picker option fills the
// picker — the id into its hidden input (link) or a new chip (links) — then fires
// "change" so conditions and fetches that read the field run again.
(() => {
  const root = document.documentElement;
  root.classList.add("ta-js");

  const listOf = (box) => document.getElementById(box.getAttribute("aria-controls"));
  const optionsOf = (list) => Array.from(list.querySelectorAll('[role="option"]'))
    .filter((o) => o.getAttribute("aria-disabled") !== "true");
  const isBox = (el) => el && el.getAttribute && el.getAttribute("role") === "combobox"
    && el.hasAttribute("aria-controls");

  const activate = (box, option) => {
    const list = listOf(box);
    list.querySelectorAll('[aria-selected="true"]').forEach((o) => o.setAttribute("aria-selected", "false"));
    if (!option) { box.removeAttribute("aria-activedescendant"); return; }
    if (!option.id) option.id = `${list.id}-${optionsOf(list).indexOf(option)}`;
    option.setAttribute("aria-selected", "true");
    box.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  };

  const close = (box) => {
    const list = listOf(box);
    if (list) list.replaceChildren();
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
  };

  // ------------------------------------------------------------ choosing
  const chip = (picker, id, title, subtitle) => {
    const item = document.createElement("li");
    item.className = "chip";
    const label = document.createElement("label");
    const check = document.createElement("input");
    Object.assign(check, { type: "checkbox", name: picker.dataset.name, value: id, checked: true });
    const name = document.createElement("span");
    name.className = "ta-title";
    name.textContent = title;
    label.append(check, " ", name);
    item.append(label);
    if (subtitle) {
      const sub = document.createElement("span");
      sub.className = "ta-sub";
      sub.textContent = subtitle;
      item.append(" ", sub);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", (picker.dataset.removeLabel || "Remove %s").replace("%s", title));
    item.append(" ", remove);
    return { item, check };
  };

  const pickInto = (box, option) => {
    const picker = box.closest(".picker");
    if (!picker) return;
    const { id, title, subtitle } = option.dataset;
    let changed;
    if (picker.hasAttribute("data-many")) {
      const chosen = picker.querySelector(".picker-chosen");
      changed = Array.from(chosen.querySelectorAll("input")).find((check) => check.value === id);
      if (changed) changed.checked = true;
      else {
        const made = chip(picker, id, title, subtitle);
        chosen.append(made.item);
        changed = made.check;
      }
      box.value = "";
    } else {
      changed = picker.querySelector('input[type="hidden"]');
      changed.value = id;
      box.value = title;
      const sub = picker.querySelector(".picker-sub");
      if (sub) sub.textContent = subtitle || "";
    }
    close(box);
    changed.dispatchEvent(new Event("change", { bubbles: true }));
    box.focus();
  };

  const take = (box, option) => {
    if (option.tagName === "A") { window.location.assign(option.href); return; }
    pickInto(box, option);
  };

  // ------------------------------------------------------------ keys
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (!isBox(box)) return;
    const list = listOf(box);
    if (!list) return;
    const options = optionsOf(list);
    const current = document.getElementById(box.getAttribute("aria-activedescendant") || "");
    const at = options.indexOf(current);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!options.length) return;
      event.preventDefault();
      box.setAttribute("aria-expanded", "true");
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next = at < 0 ? (step > 0 ? 0 : options.length - 1)
        : (at + step + options.length) % options.length;
      activate(box, options[next]);
    } else if (event.key === "Enter") {
      // a picker takes the active option, else the first: Enter never submits the form
      // half-filled; the top search without an active option submits (the /search page)
      const chosen = at >= 0 ? current : (box.closest(".picker") ? options[0] : null);
      if (chosen) { event.preventDefault(); take(box, chosen); }
    } else if (event.key === "Escape") {
      if (box.getAttribute("aria-expanded") === "true" || list.children.length) {
        event.preventDefault();
        close(box);
      } else if (box.value) {
        event.preventDefault();
        box.value = "";
      }
    }
  });

  // "/" focuses the top search unless the user is typing somewhere
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const el = event.target;
    if (el.closest && el.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']")) return;
    const search = document.getElementById("quick-search");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  });

  // ------------------------------------------------------------ pointer
  document.addEventListener("mousedown", (event) => {
    // keep focus in the box while an option is clicked
    if (event.target.closest && event.target.closest('[role="listbox"] [role="option"]')) event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    const option = event.target.closest ? event.target.closest('[role="listbox"] [role="option"]') : null;
    if (option) {
      if (option.getAttribute("aria-disabled") === "true") return;
      const box = document.querySelector(`[aria-controls="${CSS.escape(option.closest('[role="listbox"]').id)}"]`);
      if (!box || option.tagName === "A") return;      // a link opens by itself
      event.preventDefault();
      take(box, option);
      return;
    }
    const remove = event.target.closest ? event.target.closest(".chip-remove") : null;
    if (remove) {
      const picker = remove.closest(".picker");
      const item = remove.closest(".chip");
      const check = item.querySelector("input");
      item.remove();
      if (picker) {
        picker.querySelector(".picker-text").focus();
        if (check) picker.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  });

  // a list closes when focus leaves its combobox (not when it moves into the list)
  document.addEventListener("focusout", (event) => {
    const box = event.target;
    if (!isBox(box)) return;
    const list = listOf(box);
    if (!list || (event.relatedTarget && list.contains(event.relatedTarget))) return;
    window.setTimeout(() => { if (document.activeElement !== box) close(box); }, 150);
  });

  // ------------------------------------------------------------ htmx answers
  document.addEventListener("htmx:afterSwap", (event) => {
    const list = event.detail.target;
    if (!list || list.getAttribute("role") !== "listbox") return;
    const box = document.querySelector(`[aria-controls="${CSS.escape(list.id)}"]`);
    if (!box) return;
    optionsOf(list).forEach((option, index) => { if (!option.id) option.id = `${list.id}-${index}`; });
    const open = list.querySelector('[role="option"]') !== null && document.activeElement === box;
    box.setAttribute("aria-expanded", open ? "true" : "false");
    box.removeAttribute("aria-activedescendant");
    if (!open) list.replaceChildren();
  });

  // chips from the server get their × once the script runs (unticking works without it)
  const ready = () => {
    document.querySelectorAll(".chip-remove[hidden]").forEach((button) => { button.hidden = false; });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
  document.addEventListener("htmx:afterSettle", ready);
})();
