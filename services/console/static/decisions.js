// 决策: the decision log (what was advised, what was decided, by whom, and how it turned out once
// measured), one decision's details, a button to measure due outcomes now, and the advice audit per model.
(function () {
  "use strict";
  var c = window.console_;
  var cursor = null;

  function subject(row) {
    return row.item_id ? c.itemName(row.item_id, row.item_title) : row.segment || "—";
  }

  function decided(row) {
    var v = row.value || {};
    if (row.kind === "price_change") return c.msg("value_price", { old: c.money(v.old_price), price: c.money(v.price) });
    if (row.kind === "restock") return c.msg("value_restock", { quantity: c.number(v.quantity, 0), arrival: c.day(v.expected_arrival) });
    return c.msg("value_campaign", { offer: v.offer || v.channel || "—", holdout: c.percent(row.holdout_share || 0).replace("+", "") });
  }

  // "user:<email>" reads as the email; "key:<id>" as an API key
  function decider(text) {
    if (text.indexOf("user:") === 0) return text.slice(5);
    if (text.indexOf("key:") === 0) return c.msg("decided_by_key", { id: text.slice(4) });
    return text;
  }

  function outcome(row) {
    if (row.status === "rejected") return c.element("span", { "class": "muted" }, "—");
    if (!row.outcome) return c.element("span", { "class": "muted" }, c.msg("outcome_pending", { day: c.day(row.outcome_due_on) }));
    var verdict = row.outcome.verdict;
    return c.element("span", { "class": "verdict " + (row.outcome.held_up ? "up" : verdict === "inconclusive" ? "muted" : "down"),
                               "data-verdict": verdict }, c.msg("verdict_" + verdict));
  }

  function load(more) {
    var kind = document.getElementById("kind-filter").value;
    var path = "/v1/decisions?limit=50" + (kind ? "&kind=" + kind : "") + (more && cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    c.api("GET", path).then(function (reply) {
      var target = document.getElementById("log");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      cursor = reply.body.next_cursor;
      document.getElementById("more").hidden = !cursor;
      var rows = reply.body.items;
      if (!more) target.textContent = "";
      if (!rows.length && !more) { target.textContent = c.msg("decisions_none"); return; }
      var table = more ? target.querySelector("table") : c.table(["decided_at", "effective_on", "kind", "subject", "decision", "decided_by", "status", "outcome"], []);
      var body = table.tBodies[0];
      rows.forEach(function (row) {
        var line = body.insertRow();
        line.dataset.decision = String(row.id);
        var open = c.element("button", { type: "button", "class": "link" }, c.moment(row.decided_at));
        open.addEventListener("click", function () { detail(row.id); });
        [open, c.day(row.effective_on), c.msg("kind_" + row.kind), subject(row), decided(row), decider(row.decided_by),
         c.msg("status_" + row.status), outcome(row)]
          .forEach(function (cell) {
            var td = line.insertCell();
            if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell;
          });
      });
      if (!more) target.appendChild(table);
      var wanted = Number(location.hash.slice(1));
      if (wanted && !more) detail(wanted);
    });
  }

  function entries(list, prefix, values) {
    Object.keys(values || {}).forEach(function (key) {
      var value = values[key];
      if (value === null || value === undefined || typeof value === "object" && !Array.isArray(value)) return;
      list.appendChild(c.element("dt", {}, prefix + key));
      list.appendChild(c.element("dd", {}, Array.isArray(value) ? value.map(function (v) { return c.number(v, 4); }).join(" – ")
        : typeof value === "number" ? c.number(value, 4) : String(value)));
    });
  }

  function detail(id) {
    c.api("GET", "/v1/decisions/" + id).then(function (reply) {
      if (!reply.ok) { c.notice(c.problemText(reply)); return; }
      var row = reply.body, card = document.getElementById("detail");
      card.hidden = false;
      document.getElementById("detail-title").textContent = c.msg("decision_title", { id: row.id, kind: c.msg("kind_" + row.kind), subject: subject(row) });
      document.getElementById("detail-verdict").textContent = row.outcome
        ? c.msg("verdict_" + row.outcome.verdict) + (row.outcome.stock ? " · " + c.msg("stock_" + row.outcome.stock) : "")
        : row.status === "accepted" ? c.msg("outcome_pending", { day: c.day(row.outcome_due_on) }) : c.msg("status_rejected");
      var list = document.getElementById("detail-list");
      list.textContent = "";
      entries(list, "", { decided_by: decider(row.decided_by), effective_on: row.effective_on, note: row.note,
                          model: row.advice.service + " v" + row.advice.model_version });
      entries(list, c.msg("detail_decided") + " · ", row.value);
      entries(list, c.msg("detail_predicted") + " · ", row.advice.predicted);
      if (row.outcome) {
        entries(list, c.msg("detail_observed") + " · ", row.outcome.observed);
        entries(list, c.msg("detail_interval") + " · ", row.outcome.interval);
      }
      card.scrollIntoView({ block: "nearest" });
    });
  }

  function audit() {
    c.api("GET", "/v1/decisions/audit").then(function (reply) {
      var target = document.getElementById("audit");
      target.textContent = "";
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      if (!reply.body.models.length) { target.textContent = c.msg("audit_none"); return; }
      target.appendChild(c.table(["model", "measured", "conclusive", "held_up", "held_up_share", "mean_predicted_effect", "mean_realised_effect"],
        reply.body.models.map(function (m) {
          return [m.service + " v" + m.model_version, m.measured, m.conclusive, m.held_up,
                  m.held_up_share === null ? "—" : c.percent(m.held_up_share).replace("+", ""),
                  m.mean_predicted_effect, m.mean_realised_effect];
        })));
    });
  }

  document.getElementById("kind-filter").addEventListener("change", function () { load(false); });
  document.getElementById("more").addEventListener("click", function () { load(true); });
  document.getElementById("check-now").addEventListener("click", function (e) {
    var button = e.target, note = document.getElementById("check-note");
    button.disabled = true;
    note.textContent = c.msg("check_running");
    c.api("POST", "/v1/decisions/outcomes/check?wait=60").then(function (reply) {
      button.disabled = false;
      var job = reply.body && reply.body.job;
      if (!reply.ok || !job) { note.textContent = c.problemText(reply); return; }
      note.textContent = job.status === "succeeded" ? c.msg("check_done", { measured: job.result.measured, waiting: job.result.waiting,
                                                                               through: c.day(job.result.data_through) })
        : c.msg("check_queued");
      load(false);
      audit();
    });
  });
  window.addEventListener("hashchange", function () { var id = Number(location.hash.slice(1)); if (id) detail(id); });
  c.ready.then(function () { load(false); audit(); });
})();
