// 提醒: every alert kind in one list (GET /v1/alerts) — stock-out risks, review spikes, KPI anomalies,
// competitor undercuts, decisions that did worse than predicted, failed jobs — each linking to the page
// where it is acted on, with acknowledge / resolve / reopen, so an operator's morning is one page.
(function () {
  "use strict";
  var c = window.console_;
  var status = "open", kind = "";
  // status -> the actions offered there
  var ACTIONS = { open: ["acknowledge", "resolve"], acknowledged: ["resolve", "reopen"], resolved: ["reopen"] };

  function load() {
    c.api("GET", "/v1/alerts?status=" + status).then(function (reply) {
      var note = document.getElementById("alerts-note"), list = document.getElementById("alert-list");
      list.textContent = "";
      if (!reply.ok) { note.textContent = c.problemText(reply); return; }
      var body = reply.body;
      document.getElementById("kind-filter").addEventListener("change", function (e) { kind = e.target.value; load(); });
  document.querySelectorAll("#status-tabs button").forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.status === status));
        button.querySelector(".count").textContent = "(" + c.number(body.counts[button.dataset.status] || 0, 0) + ")";
      });
      note.textContent = body.unavailable.length
        ? c.msg("alerts_unavailable", { sources: body.unavailable.map(function (u) { return c.msg("source_" + u.source); }).join("、") })
        : body.items.length ? "" : c.msg("alerts_none_" + status);
      var select = document.getElementById("kind-filter"), kinds = {};
      body.items.forEach(function (alert) { kinds[alert.kind] = (kinds[alert.kind] || 0) + 1; });
      select.textContent = "";
      select.appendChild(c.element("option", { value: "" }, c.msg("alerts_every_kind", { count: body.items.length })));
      Object.keys(kinds).forEach(function (k) {
        select.appendChild(c.element("option", { value: k }, c.msg("alert_kind_" + k) + "（" + kinds[k] + "）"));
      });
      if (kind && !kinds[kind]) kind = "";
      select.value = kind;
      body.items.filter(function (alert) { return !kind || alert.kind === kind; }).forEach(function (alert) {
        var item = c.element("li", { "class": "alert " + alert.severity, "data-alert": alert.id, "data-kind": alert.kind });
        item.appendChild(c.element("span", { "class": "badge " + alert.severity }, c.msg("alert_kind_" + alert.kind)));
        var text = c.element("div", { "class": "alert-text" });
        text.appendChild(c.element("a", { href: alert.link }, alert.title));
        var meta = alert.since ? c.day(alert.since) : "";
        if (alert.status_by) meta += (meta ? " · " : "") + c.msg("alerts_by", { who: alert.status_by, when: c.moment(alert.status_at) });
        text.appendChild(c.element("span", { "class": "muted" }, meta));
        item.appendChild(text);
        var actions = c.element("span", { "class": "decide" });
        ACTIONS[alert.status].forEach(function (action) {
          var button = c.element("button", { type: "button", "data-action": action }, c.msg("alerts_action_" + action));
          button.addEventListener("click", function () {
            button.disabled = true;
            c.api("POST", "/v1/alerts/" + alert.id + "/" + action).then(function (done) {
              if (!done.ok) { c.notice(c.problemText(done)); button.disabled = false; return; }
              load();
            });
          });
          actions.appendChild(button);
        });
        item.appendChild(actions);
        list.appendChild(item);
      });
    });
  }

  document.getElementById("kind-filter").addEventListener("change", function (e) { kind = e.target.value; load(); });
  document.querySelectorAll("#status-tabs button").forEach(function (button) {
    button.addEventListener("click", function () { status = button.dataset.status; load(); });
  });
  c.ready.then(load);
})();
