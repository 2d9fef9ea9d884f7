// /api/docs: Swagger UI on the API's OpenAPI document (no inline script: the CSP forbids it).
// Reads "Try it out" with the signed-in session; writes need a token (Authorize button).
(function () {
  "use strict";
  function start() {
    var root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle !== "function") { return; }
    window.SwaggerUIBundle({
      url: root.getAttribute("data-url"),
      domNode: root,
      deepLinking: false,
      docExpansion: "none",
      defaultModelsExpandDepth: 0,
      validatorUrl: null,
      tryItOutEnabled: false,
      persistAuthorization: false,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
