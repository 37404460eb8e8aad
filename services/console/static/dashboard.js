// 首页: KPI cards from GET /v1/dashboard; the daily revenue chart and top items from POST /v1/ask
// (so they agree with what a question answers); the alerts the dashboard gathers.
(function () {
  "use strict";
  var c = window.console_;
  var ALERTS = [["stockout_risk", "alert_stockout", "本月补货建议"], ["negative_reviews", "alert_reviews", "最近的差评"],
                ["anomalies", "alert_anomalies", null]];

  function kpis(block) {
    var current = block.current, change = block.change || {};
    document.getElementById("kpi-window").textContent = c.msg("kpi_window", { days: block.window_days, date: c.day(block.as_of) });
    document.querySelectorAll("[data-kpi]").forEach(function (card) {
      var key = card.dataset.kpi, value = current[key];
      card.querySelector(".value").textContent =
        key === "revenue" || key === "average_order_value" ? c.money(value) : c.number(value, 0);
      var delta = change[key];
      var line = card.querySelector(".change");
      line.textContent = delta === null || delta === undefined ? c.msg("kpi_no_previous") : c.msg("kpi_change", { change: c.percent(delta) });
      line.className = "change " + (delta > 0 ? "up" : delta < 0 ? "down" : "muted");
    });
  }

  // How many items an alert part holds: a list, or the first list inside an object.
  function count(part) {
    if (Array.isArray(part)) return part.length;
    if (part && typeof part === "object") {
      for (var key in part) {
        if (Array.isArray(part[key])) return part[key].length;
      }
    }
    return 0;
  }

  function alerts(parts) {
    var list = document.getElementById("alerts");
    list.textContent = "";
    ALERTS.forEach(function (entry) {
      var part = parts[entry[0]], item = c.element("li");
      if (part && part.error) {
        item.appendChild(c.element("span", { "class": "muted" }, c.msg(entry[1]) + c.msg("alert_unavailable")));
      } else {
        var n = count(part);
        var text = c.msg(entry[1]) + c.msg("alert_count", { count: c.number(n, 0) });
        item.appendChild(entry[2] ? c.element("a", { href: "/ask?q=" + encodeURIComponent(entry[2]) }, text) : c.element("span", {}, text));
        if (n > 0) item.className = "hot";
      }
      list.appendChild(item);
    });
  }

  function ask(question, asOf) {
    return c.api("POST", "/v1/ask", { question: question, as_of: asOf });
  }

  c.ready.then(function () { return c.api("GET", "/v1/dashboard"); }).then(function (reply) {
    if (!reply.ok) {
      c.notice(c.problemText(reply));
      return;
    }
    var block = reply.body.kpis;
    alerts(reply.body.alerts || {});
    if (!block || !block.current) {
      document.getElementById("empty").hidden = false;
      document.getElementById("kpis").hidden = true;
      document.getElementById("kpi-window").textContent = "";
      return;
    }
    kpis(block);
    performance.mark("kpis-visible"); // read by tests/bench/test_console_speed.py
    ask("最近30天每天的销售额", block.as_of).then(function (answer) {
      var target = document.getElementById("revenue-chart");
      if (answer.ok) c.chart(target, answer.body.chart); else target.textContent = c.problemText(answer);
    });
    ask("最近30天销量前10的商品", block.as_of).then(function (answer) {
      var target = document.getElementById("top-items");
      target.textContent = "";
      if (answer.ok) target.appendChild(c.table(answer.body.columns, answer.body.rows));
      else target.textContent = c.problemText(answer);
    });
  }, function () { c.notice(c.msg("error_network")); });
})();
