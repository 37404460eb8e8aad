// 预测与补货: an item's sales history and forecast with its p10–p90 band in one chart, and the
// sentences explaining it; the replenishment plan (filter by risk, sort by any column, CSV) with
// accept / change quantity / reject per row; the category outlook.
(function () {
  "use strict";
  var c = window.console_, d = window.decide_;
  var HORIZON = 28, HISTORY = 90;
  var plans = [];

  // What was typed: an item id, or words of a title (the first planned item whose title holds them).
  function resolve(text) {
    text = (text || "").trim();
    if (!text || plans.some(function (p) { return p.item_id === text; })) return text;
    var named = plans.filter(function (p) { return p.title && p.title.indexOf(text) >= 0; })[0];
    return named ? named.item_id : text;
  }

  function show(itemId) {
    itemId = resolve(itemId);
    if (!itemId) return;
    document.getElementById("item").value = itemId;
    history.replaceState(null, "", "/forecasts?item=" + encodeURIComponent(itemId));
    var path = "/v1/forecasts/items/" + encodeURIComponent(itemId) + "?horizon=" + HORIZON + "&history_days=" + HISTORY;
    c.api("GET", path).then(function (reply) {
      var card = document.getElementById("forecast");
      card.hidden = false;
      document.getElementById("forecast-title").textContent = c.msg("forecast_title", { item: itemId });
      var note = document.getElementById("forecast-note"), list = document.getElementById("explanation");
      list.textContent = "";
      if (!reply.ok) {
        note.textContent = c.problemText(reply);
        document.getElementById("forecast-chart").textContent = "";
        return;
      }
      var body = reply.body;
      document.getElementById("forecast-title").textContent = c.msg("forecast_title", { item: c.itemName(itemId, body.title) });
      // the mean: a sum of daily medians says 0 for an item that sells every few days
      note.textContent = c.msg("forecast_note", { as_of: c.day(body.as_of), days: HORIZON, units: c.number(body.total.expected, 0),
                                                  version: body.model_version });
      (body.explanation || []).forEach(function (e) { list.appendChild(c.element("li", {}, e.text)); });
      draw(body);
    });
  }

  function draw(body) {
    var sold = c.msg("forecast_sold"), band = c.msg("forecast_band"), mean = c.msg("forecast_expected");
    var values = (body.history || []).map(function (h) { return { date: h.date, units: h.units, series: sold }; });
    var future = body.points.map(function (p) { return { date: p.date, p10: p.p10, expected: p.expected, p90: p.p90, series: mean }; });
    var x = { field: "date", type: "temporal", title: null, axis: { format: "%-m/%-d" } };
    var y = c.msg("forecast_units");
    var spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json", height: 260,
      layer: [
        { data: { values: future }, mark: { type: "area", opacity: 0.25, color: "#1f5fbf" },
          encoding: { x: x, y: { field: "p10", type: "quantitative", title: y }, y2: { field: "p90" },
                      tooltip: [{ field: "date", type: "temporal" }, { field: "p10", title: "p10" }, { field: "p90", title: "p90" }] } },
        { data: { values: values }, mark: { type: "line", color: "#7b8794" },
          encoding: { x: x, y: { field: "units", type: "quantitative", title: y },
                      color: { field: "series", type: "nominal", title: null, scale: { range: ["#7b8794", "#1f5fbf"] } } } },
        { data: { values: future }, mark: { type: "line", color: "#1f5fbf" },
          encoding: { x: x, y: { field: "expected", type: "quantitative" }, color: { field: "series", type: "nominal" } } }
      ],
      description: band
    };
    var target = document.getElementById("forecast-chart");
    target.dataset.band = String(future.length);
    c.chart(target, spec);
  }

  function plan() {
    var risk = document.getElementById("risk-filter").value;
    c.api("GET", "/v1/replenishment?limit=500" + (risk ? "&risk=" + risk : "")).then(function (reply) {
      var note = document.getElementById("plan-note"), target = document.getElementById("plan");
      target.textContent = "";
      if (!reply.ok) { note.textContent = c.problemText(reply); return; }
      plans = reply.body.items;
      note.textContent = c.msg("restock_note", { as_of: c.day(reply.body.as_of), level: c.percent(reply.body.service_level).replace("+", ""),
                                                 count: plans.length });
      // Nothing asked for yet: the riskiest item that needs an order (else the riskiest), so the chart is never empty.
      var first = plans.filter(function (p) { return p.reorder_qty > 0; })[0] || plans[0];
      if (!document.getElementById("item").value && first) show(first.item_id);
      var ids = document.getElementById("item-ids");
      if (!ids.children.length) plans.forEach(function (p) { ids.appendChild(c.element("option", { value: p.item_id }, p.title || "")); });
      d.sortable(target, [
        { label: "column_item_id", sort: "item_id" }, { label: "column_risk", sort: "risk_rank" },
        { label: "column_on_hand", sort: "on_hand" }, { label: "column_on_order", sort: "on_order" },
        { label: "column_days_of_cover", sort: "days_of_cover" },
        { label: "column_stockout_date", sort: "stockout_date" }, { label: "column_reorder_qty", sort: "reorder_qty" },
        { label: "" }
      ], plans.map(function (p) { return Object.assign({ risk_rank: { high: 0, medium: 1, low: 2 }[p.risk] }, p); }), function (p) {
        var item = c.itemLink(p.item_id, p.title, function () { show(p.item_id); window.scrollTo(0, 0); });
        var qty = c.element("input", { type: "number", min: "0", step: "1", value: String(p.reorder_qty),
                                       "class": "qty-input", "aria-label": c.msg("column_reorder_qty") });
        return [item, c.element("span", { "class": "risk " + p.risk }, c.msg("risk_" + p.risk)), p.on_hand, p.on_order,
                p.days_of_cover === null ? c.msg("restock_lasts") : p.days_of_cover,
                p.stockout_date ? c.day(p.stockout_date) : "—", qty,
                d.buttons(function () {
                  var quantity = Number(qty.value);
                  if (!(quantity >= 0) || Math.floor(quantity) !== quantity) { c.notice(c.msg("restock_bad_qty")); return null; }
                  return { kind: "restock", suggestion_id: p.suggestion_id, value: { quantity: quantity } };
                })];
      });
      d.csvLink(document.getElementById("plan-csv"),
        ["item_id", "title", "risk", "on_hand", "on_order", "lead_time_days", "days_of_cover", "stockout_date", "forecast_over_lead_time",
         "safety_stock", "reorder_qty"],
        plans.map(function (p) {
          return [p.item_id, p.title || "", p.risk, p.on_hand, p.on_order, p.lead_time_days, p.days_of_cover, p.stockout_date,
                  p.forecast_over_lead_time, p.safety_stock, p.reorder_qty];
        }));
    });
  }

  function outlook() {
    c.api("GET", "/v1/forecasts/categories?horizon=" + HORIZON).then(function (reply) {
      var target = document.getElementById("outlook");
      target.textContent = "";
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      target.appendChild(c.table(["category", "forecast_units", "previous_units", "growth", "drivers"], reply.body.categories.map(function (row) {
        return [row.category, c.number(row.forecast_units, 0), c.number(row.previous_units, 0), c.percent(row.growth),
                (row.drivers || []).slice(0, 3).map(function (dr) { return dr.item_id; }).join(", ")];
      })));
    });
  }

  document.getElementById("item-form").addEventListener("submit", function (e) {
    e.preventDefault();
    show(document.getElementById("item").value);
  });
  document.getElementById("risk-filter").addEventListener("change", plan);
  c.ready.then(function () {
    plan();
    outlook();
    if (c.data.item) show(c.data.item);
  });
})();
