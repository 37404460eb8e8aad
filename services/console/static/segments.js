// 客户分群: the RFM groups with their size, revenue share and what to do with each; a group's members
// (CSV export); and a campaign to a group, with a random holdout kept out so its effect can be measured.
(function () {
  "use strict";
  var c = window.console_, d = window.decide_;
  var chosen = null;
  var MONTHS = 6;

  // The months the data covers in full: the month of as_of is still running unless as_of is its last day
  // (a running month drawn next to full ones reads as a collapse).
  function fullMonths(trend, asOf) {
    var day = new Date(asOf + "T00:00:00Z"), next = new Date(day.getTime() + 86400000);
    var running = next.getUTCMonth() === day.getUTCMonth() ? asOf.slice(0, 7) : null;
    return (trend || []).filter(function (p) { return p.month !== running; });
  }

  // The last full month against the one before it.
  function change(trend) {
    if (!trend || trend.length < 2) return null;
    var last = trend[trend.length - 1].revenue, before = trend[trend.length - 2].revenue;
    return before ? last / before - 1 : null;
  }

  function chart(groups, asOf) {
    var values = [];
    groups.forEach(function (g) {
      fullMonths(g.trend, asOf).forEach(function (p) { values.push({ month: p.month, revenue: p.revenue, group: g.title || g.name }); });
    });
    var target = document.getElementById("segments-chart");
    target.setAttribute("data-months", values.map(function (v) { return v.month; })
      .filter(function (m, i, all) { return all.indexOf(m) === i; }).join(","));
    c.chart(target, {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json", height: 220, data: { values: values },
      mark: { type: "line", point: true },
      encoding: { x: { field: "month", type: "ordinal", title: null },
                  y: { field: "revenue", type: "quantitative", title: c.msg("segments_revenue") },
                  color: { field: "group", type: "nominal", title: null } }
    });
  }

  function segments() {
    c.api("GET", "/v1/segments?trend_months=" + MONTHS).then(function (reply) {
      var note = document.getElementById("segments-note"), target = document.getElementById("segments");
      if (!reply.ok) { note.textContent = c.problemText(reply); return; }
      note.textContent = c.msg("segments_note", { as_of: c.day(reply.body.as_of), customers: c.number(reply.body.customers, 0) });
      chart(reply.body.rfm, reply.body.as_of);
      d.sortable(target, [
        { label: "column_segment", sort: "name" }, { label: "column_customers", sort: "customers" },
        { label: "column_share", sort: "share" }, { label: "column_revenue_share", sort: "revenue_share" },
        { label: "column_avg_spend", sort: "avg_spend" }, { label: "column_avg_recency_days", sort: "avg_recency_days" },
        { label: "column_segment_trend" },
        { label: "column_advice" }, { label: "" }
      ], reply.body.rfm, function (row) {
        var moved = change(fullMonths(row.trend, reply.body.as_of));
        var actions = c.element("span", { "class": "decide" });
        var members = c.element("button", { type: "button", "data-members": row.name }, c.msg("segments_members"));
        members.addEventListener("click", function () { showMembers(row); });
        actions.appendChild(members);
        if (d.allowed()) {
          var start = c.element("button", { type: "button", "class": "primary", "data-campaign": row.name }, c.msg("campaign_new"));
          start.addEventListener("click", function () { campaign(row); });
          actions.appendChild(start);
        }
        return [row.title || row.name, row.customers, c.percent(row.share).replace("+", ""),
                c.percent(row.revenue_share).replace("+", ""), c.money(row.avg_spend), c.number(row.avg_recency_days, 0),
                c.element("span", { "class": moved > 0 ? "up" : moved < 0 ? "down" : "muted" }, c.percent(moved)),
                row.advice || "", actions];
      });
    });
  }

  function showMembers(row) {
    var path = "/v1/segments/" + encodeURIComponent(row.name) + "/customers";
    c.api("GET", path + "?limit=100").then(function (reply) {
      var card = document.getElementById("members-card"), target = document.getElementById("members");
      card.hidden = false;
      document.getElementById("members-title").textContent = c.msg("segments_members_of", { segment: row.title || row.name, count: row.customers });
      document.getElementById("members-csv").href = path + "?format=csv";
      target.textContent = "";
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      target.appendChild(c.table(["user_id", "orders", "spend", "recency_days"], reply.body.items.map(function (m) {
        return [m.user_id, m.orders, c.money(m.spend), m.recency_days];
      })));
    });
  }

  function campaign(row) {
    chosen = row;
    var card = document.getElementById("campaign-card");
    card.hidden = false;
    document.getElementById("campaign-title").textContent = c.msg("campaign_for", { segment: row.title || row.name, count: row.customers });
    document.getElementById("campaign-offer").focus();
  }

  document.getElementById("campaign-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!chosen) return;
    var button = e.target.querySelector("button[type=submit]");
    var holdout = Number(document.getElementById("campaign-holdout").value) / 100;
    var value = { channel: document.getElementById("campaign-channel").value };
    var offer = document.getElementById("campaign-offer").value.trim();
    if (offer) value.offer = offer;
    button.disabled = true;
    d.decide({ kind: "campaign", segment: chosen.name, holdout_share: holdout, value: value }).then(function (decision) {
      button.disabled = false;
      if (!decision) return;
      var title = document.getElementById("campaign-title");
      title.textContent = c.msg("campaign_started", { treatment: c.number(decision.members.treatment, 0),
                                                     holdout: c.number(decision.members.holdout, 0) });
      title.appendChild(document.createTextNode(" "));
      title.appendChild(d.done(decision));
    });
  });
  c.ready.then(segments);
})();
