// 推荐: one buyer (what they viewed and bought, and what they are recommended, with the reasons) or one
// item (similar items, bought together); and the recommendation model's offline quality against
// popularity over its versions.
(function () {
  "use strict";
  var c = window.console_;
  var N = 10;

  function picks(target, reply) {
    target.textContent = "";
    if (!reply.ok) { target.textContent = c.problemText(reply); return; }
    if (!reply.body.items.length) { target.textContent = c.msg("recs_none"); return; }
    target.appendChild(c.table(["item_id", "score", "reason"], reply.body.items.map(function (p) {
      return [lookUp(p), c.number(p.score, 3), p.reason || ""];
    })));
  }

  function user(userId) {
    userId = (userId || "").trim();
    if (!userId) return;
    var path = "/v1/recommendations/users/" + encodeURIComponent(userId);
    c.api("GET", path + "?n=" + N).then(function (reply) {
      document.getElementById("user-note").textContent = reply.ok && reply.body.fallback
        ? c.msg("recs_fallback_" + reply.body.fallback) : reply.ok ? c.msg("recs_model", { version: reply.body.model_version }) : "";
      picks(document.getElementById("user-recs"), reply);
    });
    c.api("GET", path + "/history?limit=20").then(function (reply) {
      var target = document.getElementById("user-history");
      document.getElementById("history-title").hidden = false;
      target.textContent = "";
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      var rows = reply.body.purchases.map(function (p) { return [c.moment(p.created_at), lookUp(p), c.msg("event_bought", { units: c.number(p.units, 0) })]; })
        .concat(reply.body.events.map(function (e) { return [c.moment(e.ts), lookUp(e), c.msg("event_" + e.type)]; }));
      if (!rows.length) { target.textContent = c.msg("recs_no_history"); return; }
      target.appendChild(c.table(["when", "item_id", "what"], rows));
    });
  }

  // An item named by its title; a click shows what is similar to it and bought with it.
  function lookUp(row) {
    return c.itemLink(row.item_id, row.title, function () {
      document.getElementById("item").value = row.item_id;
      item(row.item_id);
      document.getElementById("item").scrollIntoView();
    });
  }

  function item(itemId) {
    itemId = (itemId || "").trim();
    if (!itemId) return;
    var path = "/v1/recommendations/items/" + encodeURIComponent(itemId);
    c.api("GET", path + "/similar?n=" + N).then(function (reply) {
      document.getElementById("similar-title").hidden = false;
      picks(document.getElementById("similar"), reply);
    });
    c.api("GET", path + "/bought-together?n=" + N).then(function (reply) {
      document.getElementById("together-title").hidden = false;
      picks(document.getElementById("together"), reply);
    });
  }

  function quality() {
    c.api("GET", "/v1/models?service=recommendation&limit=20").then(function (reply) {
      var target = document.getElementById("quality");
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      var versions = reply.body.items.filter(function (m) { return m.metrics && m.metrics["recall@10"] !== undefined; }).reverse();
      if (!versions.length) { target.textContent = c.msg("recs_no_model"); return; }
      var values = [];
      versions.forEach(function (m) {
        var popular = (m.metrics.baselines || {}).popularity || {};
        values.push({ version: "v" + m.version, metric: c.msg("recs_model_line"), value: m.metrics["recall@10"] });
        if (popular["recall@10"] !== undefined) values.push({ version: "v" + m.version, metric: c.msg("recs_popularity_line"), value: popular["recall@10"] });
      });
      c.chart(document.getElementById("quality-chart"), {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json", height: 180, data: { values: values },
        mark: { type: "line", point: true },
        encoding: { x: { field: "version", type: "ordinal", title: null, sort: null },
                    y: { field: "value", type: "quantitative", title: "recall@10" },
                    color: { field: "metric", type: "nominal", title: null } }
      });
      target.textContent = "";
      target.appendChild(c.table(["version", "status", "trained_at", "recall_10", "popularity_recall_10", "ndcg_10", "popularity_ndcg_10"],
        versions.slice().reverse().map(function (m) {
          var popular = (m.metrics.baselines || {}).popularity || {};
          return ["v" + m.version, m.status, c.moment(m.trained_at), c.number(m.metrics["recall@10"], 3),
                  c.number(popular["recall@10"], 3), c.number(m.metrics["ndcg@10"], 3), c.number(popular["ndcg@10"], 3)];
        })));
    });
  }

  document.getElementById("user-form").addEventListener("submit", function (e) {
    e.preventDefault();
    user(document.getElementById("user").value);
  });
  document.getElementById("item-form").addEventListener("submit", function (e) {
    e.preventDefault();
    item(document.getElementById("item").value);
  });
  c.ready.then(function () {
    quality();
    if (c.data.user) { document.getElementById("user").value = c.data.user; user(c.data.user); }
    if (c.data.item) { document.getElementById("item").value = c.data.item; item(c.data.item); }
  });
})();
