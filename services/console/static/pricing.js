// 定价: the advice per item (current and advised price, elasticity and its interval, expected profit
// change) with accept / reject (the advised price can be edited first); a what-if slider drawing
// predicted units and profit across prices from POST /v1/pricing/simulate; competitor undercuts.
(function () {
  "use strict";
  var c = window.console_, d = window.decide_;
  var DAYS = 28, STEPS = 9, SPAN = 0.3; // the curve: 9 prices within ±30% of the current one, over 28 days
  var rows = [], curves = {}, current = null, pending = null;

  function elasticity(row) {
    var text = c.number(row.elasticity, 2);
    if (row.ci_low !== undefined && row.ci_low !== null) {
      text += " [" + c.number(row.ci_low, 2) + ", " + c.number(row.ci_high, 2) + "]";
    }
    return c.element("span", { "class": "nowrap" }, text);
  }

  function suggestions() {
    var action = document.getElementById("action-filter").value;
    return c.api("GET", "/v1/pricing/suggestions?limit=200" + (action ? "&action=" + action : "")).then(function (reply) {
      var note = document.getElementById("suggestions-note"), target = document.getElementById("suggestions");
      target.textContent = "";
      if (!reply.ok) {
        note.textContent = c.problemText(reply);
        return;
      }
      rows = reply.body.items;
      note.textContent = rows.length ? c.msg("pricing_as_of", { as_of: c.day(reply.body.as_of), version: reply.body.model_version })
        : c.msg("pricing_none");
      d.sortable(target, [
        { label: "column_item_id", sort: "item_id" }, { label: "column_current_price", sort: "current_price" },
        { label: "column_advised_price" }, { label: "column_elasticity", sort: "elasticity" },
        { label: "column_profit_change", sort: "expected_profit_change_pct" },
        { label: "column_confidence", sort: "confidence" }, { label: "column_reason" }, { label: "" }
      ], rows, function (row) {
        var price = c.element("input", { type: "number", min: "0.01", step: "0.1", value: String(row.price),
                                         "class": "price-input", "aria-label": c.msg("column_advised_price") });
        var item = c.itemLink(row.item_id, row.title, function () { choose(row.item_id); });
        return [item, c.money(row.current_price), price, elasticity(row),
                row.expected_profit_change_pct === null ? "—" : c.percent(row.expected_profit_change_pct / 100),
                c.percent(row.confidence).replace("+", ""), row.reason || "",
                d.buttons(function () {
                  var value = Number(price.value);
                  if (!(value > 0)) { c.notice(c.msg("pricing_bad_price")); return null; }
                  return { kind: "price_change", suggestion_id: row.suggestion_id, value: { price: value } };
                })];
      });
      var select = document.getElementById("whatif-item");
      select.textContent = "";
      rows.forEach(function (row) {
        select.appendChild(c.element("option", { value: row.item_id }, c.itemName(row.item_id, row.title)));
      });
      var wanted = c.data.item && rows.some(function (r) { return r.item_id === c.data.item; }) ? c.data.item : null;
      if (rows.length) choose(wanted || current || rows[0].item_id);
    });
  }

  function simulate(itemId, price) {
    return c.api("POST", "/v1/pricing/simulate", { item_id: itemId, price: Math.round(price * 100) / 100, days: DAYS });
  }

  // The curve of one item: predicted units and profit (with their 90% bands) at prices around the current one.
  function curve(itemId) {
    if (curves[itemId]) return Promise.resolve(curves[itemId]);
    var row = rows.filter(function (r) { return r.item_id === itemId; })[0];
    var prices = [];
    for (var i = 0; i < STEPS; i++) prices.push(row.current_price * (1 - SPAN + 2 * SPAN * i / (STEPS - 1)));
    return Promise.all(prices.map(function (p) { return simulate(itemId, p); })).then(function (replies) {
      var points = replies.filter(function (r) { return r.ok; }).map(function (r) { return point(r.body); });
      curves[itemId] = { row: row, points: points };
      return curves[itemId];
    });
  }

  function point(body) {
    return { price: body.price, units: body.expected.units, units_low: body.low.units, units_high: body.high.units,
             profit: body.expected.profit, current_profit: body.at_current_price.profit };
  }

  function choose(itemId) {
    current = itemId;
    document.getElementById("whatif-item").value = itemId;
    curve(itemId).then(function (found) {
      var slider = document.getElementById("price-slider"), price = found.row.current_price;
      slider.min = String(Math.round(price * (1 - SPAN) * 100) / 100);
      slider.max = String(Math.round(price * (1 + SPAN) * 100) / 100);
      slider.step = String(Math.max(0.01, Math.round(price * 0.01 * 100) / 100));
      slider.value = String(found.row.price);
      at(found.row.price);
    });
  }

  // The slider's price: the numbers there, and the chart redrawn with that price marked.
  function at(price) {
    var itemId = current;
    document.getElementById("price-value").textContent = c.money(price);
    clearTimeout(pending);
    pending = setTimeout(function () {
      simulate(itemId, price).then(function (reply) {
        if (itemId !== current) return;
        var summary = document.getElementById("whatif-summary");
        if (!reply.ok) { summary.textContent = c.problemText(reply); return; }
        var p = point(reply.body);
        summary.textContent = c.msg("pricing_whatif_summary", {
          days: DAYS, price: c.money(p.price), units: c.number(p.units, 0), low: c.number(p.units_low, 0),
          high: c.number(p.units_high, 0), profit: c.money(p.profit), now: c.money(p.current_profit) });
        draw(curves[itemId].points.concat([p]), p.price);
      });
    }, 120);
  }

  function draw(points, chosen) {
    var units = c.msg("pricing_units", { days: DAYS }), profit = c.msg("pricing_profit", { days: DAYS });
    var x = { field: "price", type: "quantitative", title: c.msg("pricing_price"), scale: { zero: false } };
    var sorted = points.slice().sort(function (a, b) { return a.price - b.price; });
    var spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json", height: 240, data: { values: sorted },
      resolve: { scale: { y: "independent" } },
      layer: [
        { layer: [
          { mark: { type: "area", opacity: 0.2, color: "#1f5fbf" },
            encoding: { x: x, y: { field: "units_low", type: "quantitative", title: units }, y2: { field: "units_high" } } },
          { mark: { type: "line", color: "#1f5fbf", point: true },
            encoding: { x: x, y: { field: "units", type: "quantitative", title: units } } }
        ] },
        { mark: { type: "line", color: "#0e7c3a", strokeDash: [4, 3] },
          encoding: { x: x, y: { field: "profit", type: "quantitative", title: profit, axis: { orient: "right" } } } },
        { data: { values: [{ price: chosen }] }, mark: { type: "rule", color: "#c0392b", strokeWidth: 2 },
          encoding: { x: { field: "price", type: "quantitative" } } }
      ]
    };
    var target = document.getElementById("whatif-chart");
    target.dataset.price = String(chosen);
    c.chart(target, spec);
  }

  function competitors() {
    c.api("GET", "/v1/pricing/competitors").then(function (reply) {
      var target = document.getElementById("undercuts");
      target.textContent = "";
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      if (!reply.body.undercuts.length) { target.textContent = c.msg("pricing_no_undercuts"); return; }
      target.appendChild(c.table(["item_id", "competitor", "competitor_price", "our_price", "gap"],
        reply.body.undercuts.map(function (u) {
          // an item with advice opens its what-if; another is named only
          var advised = rows.some(function (r) { return r.item_id === u.item_id; });
          var item = advised ? c.itemLink(u.item_id, u.title, function () { choose(u.item_id); window.scrollTo(0, 0); })
            : c.itemName(u.item_id, u.title);
          return [item, u.competitor, c.money(u.competitor_price), c.money(u.our_price),
                  c.percent(u.our_price ? u.competitor_price / u.our_price - 1 : null)];
        })));
    });
  }

  document.getElementById("action-filter").addEventListener("change", suggestions);
  document.getElementById("whatif-item").addEventListener("change", function (e) { choose(e.target.value); });
  document.getElementById("price-slider").addEventListener("input", function (e) { at(Number(e.target.value)); });
  c.ready.then(function () { suggestions().then(competitors); });  // undercuts link to the advice loaded first
})();
