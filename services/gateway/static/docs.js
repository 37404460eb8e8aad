// /docs: Swagger UI over the merged OpenAPI document (served from /static, no inline script).
window.addEventListener("DOMContentLoaded", function () {
  if (!window.SwaggerUIBundle) {
    return; // the plain route list stays visible
  }
  document.getElementById("plain").hidden = true;
  window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger", deepLinking: true });
});
