// Record forms (loaded with `defer`; every form also works without it).
// Link pickers: a suggestion chosen from forms.pick fills the picker — the id into the
// hidden input (link) or a new checked box (links) — then fires "change" so conditions
// that read the field are judged again. No inline handlers: the CSP forbids them.
(() => {
  // "Update form" re-renders the fields without saving for browsers without scripts;
  // with scripts the fields update by themselves.
  const hideNoScript = () => {
    document.querySelectorAll(".no-script").forEach((element) => { element.hidden = true; });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", hideNoScript);
  else hideNoScript();

  const choose = (button) => {
    const picker = button.closest(".picker");
    if (!picker) return;
    const text = picker.querySelector(".picker-text");
    const options = picker.querySelector(".picker-options");
    const { id, title } = button.dataset;
    let changed;
    if (picker.hasAttribute("data-many")) {
      const chosen = picker.querySelector(".picker-chosen");
      changed = Array.from(chosen.querySelectorAll("input")).find((box) => box.value === id);
      if (changed) {
        changed.checked = true;
      } else {
        const label = document.createElement("label");
        label.className = "check";
        changed = document.createElement("input");
        changed.type = "checkbox";
        changed.name = picker.dataset.name;
        changed.value = id;
        changed.checked = true;
        label.append(changed, " ", title);
        chosen.append(label);
      }
      text.value = "";
    } else {
      changed = picker.querySelector("input[type=hidden]");
      changed.value = id;
      text.value = title;
    }
    options.replaceChildren();
    text.setAttribute("aria-expanded", "false");
    changed.dispatchEvent(new Event("change", { bubbles: true }));
    text.focus();
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".picker-options button.pick");
    if (button) choose(button);
  });

  document.addEventListener("keydown", (event) => {
    const text = event.target.closest ? event.target.closest(".picker-text") : null;
    if (!text) return;
    const options = text.closest(".picker").querySelector(".picker-options");
    const first = options.querySelector("button.pick");
    if (event.key === "Enter" && first) {
      event.preventDefault();           // choose, do not submit the form half-filled
      choose(first);
    } else if (event.key === "ArrowDown" && first) {
      event.preventDefault();
      first.focus();
    } else if (event.key === "Escape") {
      options.replaceChildren();
    }
  });

  document.addEventListener("keydown", (event) => {
    const button = event.target.closest ? event.target.closest(".picker-options button.pick") : null;
    if (!button) return;
    const item = button.closest("li");
    const step = { ArrowDown: item.nextElementSibling, ArrowUp: item.previousElementSibling }[event.key];
    if (step !== undefined) {
      event.preventDefault();
      const next = step && step.querySelector("button.pick");
      if (next) next.focus();
      else if (event.key === "ArrowUp") button.closest(".picker").querySelector(".picker-text").focus();
    } else if (event.key === "Escape") {
      const picker = button.closest(".picker");
      picker.querySelector(".picker-options").replaceChildren();
      picker.querySelector(".picker-text").focus();
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const options = event.detail.target;
    if (!options.classList || !options.classList.contains("picker-options")) return;
    const text = options.closest(".picker").querySelector(".picker-text");
    text.setAttribute("aria-expanded", options.querySelector("button.pick") ? "true" : "false");
  });
})();
