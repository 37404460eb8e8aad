// /login: POST /v1/sessions (with the form's login CSRF token), keep the session's CSRF token for
// later writes, go where the visitor was headed.
(function () {
  "use strict";
  var c = window.console_;
  var form = document.getElementById("login-form");
  document.querySelectorAll("[data-language]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.cookie = c.data.language_cookie + "=" + button.dataset.language + "; path=/; SameSite=Lax; max-age=31536000";
      location.reload();
    });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    c.notice("");
    var email = form.elements.email.value.trim(), password = form.elements.password.value;
    if (!email || !password) {
      c.notice(c.msg("login_missing"));
      return;
    }
    form.querySelector("button").disabled = true;
    // The form's token goes with the pre-session cookie the login page set (login CSRF).
    var body = { email: email, password: password, csrf_token: form.elements.csrf_token.value };
    c.api("POST", "/v1/sessions", body).then(function (reply) {
      form.querySelector("button").disabled = false;
      if (reply.status === 201) {
        localStorage.setItem(c.CSRF_KEY, reply.body.csrf_token || "");
        location.assign(c.data.next || "/");
      } else {
        c.notice(reply.status === 404 ? c.msg("login_unavailable") : c.problemText(reply));
      }
    }, function () {
      form.querySelector("button").disabled = false;
      c.notice(c.msg("error_network"));
    });
  });
})();
