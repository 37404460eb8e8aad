// 管理: jobs (refreshed while any is running), model versions with promote / roll back / retrain,
// API keys (a new key is shown once), console users, webhooks (test one, its deliveries). Admin actions are hidden from
// other roles; the API refuses them anyway.
(function () {
  "use strict";
  var c = window.console_;
  var LIVE_MS = 2000, timer = null;

  function button(label, onClick) {
    var node = c.element("button", { type: "button" }, label);
    node.addEventListener("click", onClick);
    return node;
  }

  // A table whose last column may hold buttons (DOM nodes) instead of text.
  function grid(target, columns, rows) {
    target.textContent = "";
    var table = c.table(columns, rows.map(function (row) { return row.map(function (cell) { return cell instanceof Node ? "" : cell; }); }));
    rows.forEach(function (row, i) {
      row.forEach(function (cell, j) {
        if (cell instanceof Node) table.tBodies[0].rows[i].cells[j].appendChild(cell);
      });
    });
    target.appendChild(table);
  }

  function act(method, path, body) {
    c.notice("");
    return c.api(method, path, body).then(function (reply) {
      if (!reply.ok) c.notice(c.problemText(reply));
      return reply;
    });
  }

  function jobs() {
    c.api("GET", "/v1/jobs?limit=15").then(function (reply) {
      var target = document.getElementById("jobs");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      var items = reply.body.items || [];
      var live = items.some(function (job) { return job.status === "queued" || job.status === "running"; });
      grid(target, [c.msg("report_job"), c.msg("admin_kind"), c.msg("report_status"), c.msg("admin_progress"), c.msg("report_when")],
        items.map(function (job) {
          var bar = c.element("progress", { max: "1", value: String(job.progress || 0) });
          return ["#" + String(job.id).slice(0, 8), job.kind, c.msg("job_" + job.status), bar, c.moment(job.created_at)];
        }));
      clearTimeout(timer);
      if (live) timer = setTimeout(jobs, LIVE_MS);
    });
  }

  function metrics(values) {
    return Object.keys(values || {}).slice(0, 4).map(function (key) {
      var value = values[key];
      return key + " " + (typeof value === "number" ? c.number(value, 3) : JSON.stringify(value));
    }).join(" · ");
  }

  function models() {
    c.api("GET", "/v1/models?limit=50").then(function (reply) {
      var target = document.getElementById("models");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      var items = reply.body.items || [];
      if (!items.length) { target.textContent = c.msg("admin_no_models"); return; }
      grid(target, [c.msg("admin_service"), c.msg("admin_version"), c.msg("report_status"), c.msg("admin_metrics"), c.msg("admin_trained"), ""],
        items.map(function (model) {
          var promote = model.status === "active" || !isAdmin() ? "" : button(c.msg("admin_promote"), function () {
            act("POST", "/v1/models/" + model.id + "/promote").then(models);
          });
          return [model.service, model.version, model.status, metrics(model.metrics), c.moment(model.trained_at), promote];
        }));
    });
  }

  function keys() {
    c.api("GET", "/v1/keys").then(function (reply) {
      var target = document.getElementById("keys");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      grid(target, ["id", c.msg("admin_key_role"), c.msg("admin_key_prefix"), ""], (reply.body.items || reply.body || []).map(function (key) {
        return [key.id, key.role, key.prefix || "", button(c.msg("admin_revoke"), function () {
          if (window.confirm(c.msg("admin_revoke_confirm", { id: key.id }))) act("DELETE", "/v1/keys/" + key.id).then(keys);
        })];
      }));
    });
  }

  function users() {
    c.api("GET", "/v1/users").then(function (reply) {
      var target = document.getElementById("users");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      grid(target, [c.msg("admin_email"), c.msg("admin_key_role"), c.msg("report_when"), ""], (reply.body.items || []).map(function (user) {
        return [user.email, user.role, c.moment(user.created_at), button(c.msg("admin_remove"), function () {
          if (window.confirm(c.msg("admin_remove_confirm", { email: user.email }))) act("DELETE", "/v1/users/" + user.id).then(users);
        })];
      }));
    });
  }

  function webhooks() {
    c.api("GET", "/v1/webhooks").then(function (reply) {
      var target = document.getElementById("webhooks");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      grid(target, ["id", "URL", c.msg("admin_webhook_events"), ""], (reply.body.items || []).map(function (hook) {
        var tools = c.element("span");
        var result = c.element("span", { "class": "test-result", "role": "status" });
        tools.appendChild(button(c.msg("admin_test"), function () { test(hook.id, result); }));
        tools.appendChild(button(c.msg("admin_deliveries"), function () { deliveries(hook.id); }));
        tools.appendChild(button(c.msg("admin_delete"), function () { act("DELETE", "/v1/webhooks/" + hook.id).then(webhooks); }));
        tools.appendChild(result);
        return [hook.id, hook.url, (hook.events || []).join(", "), tools];
      }));
    });
  }

  // A signed ping sent now: its answer beside the button (✓ 200 in 35 ms / ✗ why), then the log.
  function test(id, result) {
    result.className = "test-result";
    result.textContent = c.msg("admin_test_sending");
    c.api("POST", "/v1/webhooks/" + id + "/test").then(function (reply) {
      var ok = reply.ok && reply.body.ok;
      result.className = "test-result " + (ok ? "up" : "down");
      if (!reply.ok) {
        result.textContent = c.msg("admin_test_failed", { reason: c.problemText(reply) });
        return;
      }
      result.textContent = ok ? c.msg("admin_test_ok", { status: reply.body.status_code, ms: c.number(reply.body.duration_ms, 0) })
        : c.msg("admin_test_failed", { reason: reply.body.error || reply.body.status_code });
      deliveries(id);
    }, function () {
      result.className = "test-result down";
      result.textContent = c.msg("admin_test_failed", { reason: c.msg("error_network") });
    });
  }

  function deliveries(id) {
    c.api("GET", "/v1/webhooks/" + id + "/deliveries").then(function (reply) {
      var target = document.getElementById("deliveries");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      grid(target, [c.msg("admin_event"), c.msg("report_status"), c.msg("admin_attempts"), "HTTP", c.msg("report_when")],
        (reply.body.items || []).map(function (d) {
          return [d.event, d.status, d.attempts, d.last_status_code || d.last_error || "", c.moment(d.created_at)];
        }));
    });
  }

  function isAdmin() { return document.body.dataset.role === "admin"; }

  document.querySelectorAll("[data-retrain]").forEach(function (node) {
    node.addEventListener("click", function () {
      act("POST", "/v1/admin/retrain", { models: [node.dataset.retrain] }).then(jobs);
    });
  });
  document.querySelectorAll("[data-rollback]").forEach(function (node) {
    node.addEventListener("click", function () {
      act("POST", "/v1/models/" + node.dataset.rollback + "/rollback").then(models);
    });
  });
  document.getElementById("key-form").addEventListener("submit", function (event) {
    event.preventDefault();
    act("POST", "/v1/keys", { role: event.target.elements.role.value }).then(function (reply) {
      if (!reply.ok) return;
      var shown = document.getElementById("new-key");
      shown.textContent = c.msg("admin_key_once", { key: reply.body.key });
      shown.hidden = false;
      keys();
    });
  });
  document.getElementById("user-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    // No password sent: the API generates one and returns it this once, to pass on to the person.
    act("POST", "/v1/users", { email: form.elements.email.value.trim(), role: form.elements.role.value }).then(function (reply) {
      if (!reply.ok) return;
      var shown = document.getElementById("new-user");
      shown.textContent = c.msg("admin_user_once", { email: reply.body.email, password: reply.body.password || "" });
      shown.hidden = false;
      form.reset();
      users();
    });
  });
  document.getElementById("webhook-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var events = form.elements.events.value.split(/[,，\s]+/).filter(Boolean);
    act("POST", "/v1/webhooks", { url: form.elements.url.value, events: events, secret: form.elements.secret.value })
      .then(function (reply) { if (reply.ok) { form.reset(); webhooks(); } });
  });

  c.ready.then(function () {
    jobs();
    models();
    if (isAdmin()) { keys(); users(); webhooks(); }
  });
})();
