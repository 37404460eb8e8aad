// 设置: the reader's language (PATCH /v1/me, and the cookie the pages render with) and password
// (POST /v1/users/me/password).
(function () {
  "use strict";
  var c = window.console_;
  document.getElementById("language-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var language = event.target.elements.language.value;
    c.api("PATCH", "/v1/me", { language: language }).then(function (reply) {
      // Saved for the account where the API allows it (a key has no settings); this browser follows either way.
      if (!reply.ok && reply.status !== 404 && reply.status !== 405) { c.notice(c.problemText(reply)); return; }
      document.cookie = c.data.language_cookie + "=" + language + "; path=/; SameSite=Lax; max-age=31536000";
      location.reload();
    });
  });
  document.getElementById("password-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    c.notice("");
    c.api("POST", "/v1/users/me/password", { current: form.elements.current.value, "new": form.elements["new"].value })
      .then(function (reply) {
        if (!reply.ok) { c.notice(c.problemText(reply)); return; }
        form.reset();
        document.getElementById("password-done").hidden = false;
      });
  });
})();
