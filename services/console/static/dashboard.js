// 首页: KPI cards (yesterday, this week, this month, last 30 days) from GET /v1/dashboard; the daily revenue chart and top items from POST /v1/ask
// (so they agree with what a question answers); the alerts the dashboard gathers.
(function () {
  "use strict";
  var c = window.console_;
  // [the dashboard's alert part, its label, a question that shows it, the list to count in the part]
  var ALERTS = [["stockout_risk", "alert_stockout", "本月补货建议"], ["negative_reviews", "alert_reviews", "最近的差评"],
                ["anomalies", "alert_anomalies", null], ["competitor_undercuts", "alert_undercuts", null, "undercuts"]];

  var METRIC_WORDS = { revenue: "metric_revenue", orders: "metric_orders", buyers: "metric_buyers",
                       average_order_value: "metric_average_order_value", conversion: "metric_conversion" };
  var block = null;

  function format(key, value) {
    if (value === null || value === undefined) return "—";  // no orders (AOV) or no views (conversion)
    if (key === "revenue" || key === "average_order_value") return c.money(value);
    if (key === "conversion") return c.percent(value).replace("+", "");
    return c.number(value, 0);
  }

  // One period's cards: its value, the change against the period before, and the same figure
  // asked on the 问答 page (a link only when the dashboard is read on today, as /ask reads it).
  function showPeriod(name) {
    var period = block.periods[name];
    document.querySelectorAll("#periods button").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.period === name));
    });
    document.getElementById("kpi-range").textContent = c.msg("kpi_range", {
      from: c.day(period.range[0]), to: c.day(period.range[1]), compare: c.msg("compare_" + name) });
    var withEvents = Object.keys(block.periods).some(function (key) { return block.periods[key].current.conversion !== null; });
    document.querySelectorAll("[data-kpi]").forEach(function (card) {
      var key = card.dataset.kpi, delta = period.change[key];
      if (key === "conversion") card.hidden = !withEvents;
      card.querySelector(".value").textContent = format(key, period.current[key]);
      var line = card.querySelector(".change");
      line.textContent = delta === null || delta === undefined ? c.msg("kpi_no_previous")
        : c.msg("kpi_change", { compare: c.msg("compare_" + name), change: c.percent(delta) });
      line.className = "change " + (delta > 0 ? "up" : delta < 0 ? "down" : "muted");
      var link = card.querySelector(".ask-link");
      link.hidden = block.as_of !== block.today;
      link.href = "/ask?q=" + encodeURIComponent(c.msg("kpi_question", {
        period: c.msg("question_" + name), metric: c.msg(METRIC_WORDS[key]) }));
    });
  }

  function kpis(reply) {
    block = reply;
    document.getElementById("kpi-window").textContent = block.as_of === block.today ? ""
      : c.msg("kpi_stale", { through: c.day(block.data_through), as_of: c.day(block.as_of) });
    document.querySelectorAll("#periods button").forEach(function (button) {
      button.addEventListener("click", function () { showPeriod(button.dataset.period); });
    });
    showPeriod("yesterday");
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
        var n = entry[3] ? (part && part[entry[3]] || []).length : count(part);
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
    var found = reply.body.kpis;
    alerts(reply.body.alerts || {});
    if (!found || !found.data_through) {
      document.getElementById("empty").hidden = false;
      ["kpis", "periods", "kpi-range"].forEach(function (id) { document.getElementById(id).hidden = true; });
      document.getElementById("kpi-window").textContent = "";
      return;
    }
    kpis(found);
    performance.mark("kpis-visible"); // read by tests/bench/test_console_speed.py
    // The chart and the best sellers end on the last day with data: today so far (often nothing yet)
    // would read as a collapse.
    var through = found.data_through;
    document.getElementById("revenue-chart").setAttribute("data-through", through);
    ask("最近30天每天的销售额", through).then(function (answer) {
      var target = document.getElementById("revenue-chart");
      if (answer.ok) c.chart(target, answer.body.chart); else target.textContent = c.problemText(answer);
    });
    ask("最近30天销量前10的商品", through).then(function (answer) {
      var target = document.getElementById("top-items");
      target.textContent = "";
      if (answer.ok) target.appendChild(c.table(answer.body.columns, answer.body.rows));
      else target.textContent = c.problemText(answer);
    });
  }, function () { c.notice(c.msg("error_network")); });
})();
