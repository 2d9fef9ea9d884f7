// Draws the ER diagram from the Mermaid text on the schema page. Without JavaScript, or
// when the npm assets are not installed, the text itself stays readable and copyable.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.mermaid) return;
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  window.mermaid.run({ querySelector: "pre.erd" });
});
