// 评价: positive share and its weekly trend per category, the items with the lowest share, review
// spike alerts with acknowledge; one item's trend and its top complaints with example reviews (the
// clause the complaint was read from highlighted); and any pasted text analysed on the spot.
(function () {
  "use strict";
  var c = window.console_;
  var WEEKS = 12;

  function categories() {
    c.api("GET", "/v1/sentiment/categories?weeks=" + WEEKS).then(function (reply) {
      var note = document.getElementById("categories-note");
      if (!reply.ok) { note.textContent = c.problemText(reply); return; }
      var body = reply.body;
      if (!body.categories.length) { note.textContent = c.msg("reviews_none"); return; }
      note.textContent = c.msg("reviews_as_of", { as_of: c.day(body.as_of), weeks: WEEKS });
      var values = [];
      body.categories.forEach(function (cat) {
        cat.trend.forEach(function (w) {
          if (w.positive_rate !== null) values.push({ week: w.week, rate: w.positive_rate, category: cat.category });
        });
      });
      c.chart(document.getElementById("categories-chart"), {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json", height: 220, data: { values: values },
        mark: { type: "line", point: true },
        encoding: { x: { field: "week", type: "temporal", title: null, axis: { format: "%-m/%-d" } },
                    y: { field: "rate", type: "quantitative", title: c.msg("reviews_positive_rate"), axis: { format: "%" } },
                    color: { field: "category", type: "nominal", title: null } }
      });
      var target = document.getElementById("categories");
      target.textContent = "";
      target.appendChild(c.table(["category", "reviews", "positive_rate", "top_complaint"], body.categories.map(function (cat) {
        var top = cat.top_complaints[0];
        return [cat.category, cat.reviews, c.percent(cat.positive_rate).replace("+", ""),
                top ? top.aspect + "（" + c.number(top.count, 0) + "）" : "—"];
      })));
      var weakest = document.getElementById("weakest");
      weakest.textContent = "";
      weakest.appendChild(c.table(["item_id", "category", "reviews", "positive_rate"], body.items.slice(0, 15).map(function (item) {
        var open = c.itemLink(item.item_id, item.title, function () { show(item.item_id); });
        return [open, item.category, item.reviews, c.percent(item.positive_rate).replace("+", "")];
      })));
    });
  }

  function spikes() {
    c.api("GET", "/v1/alerts").then(function (reply) {
      var list = document.getElementById("spikes");
      list.textContent = "";
      if (!reply.ok) { list.appendChild(c.element("li", {}, c.problemText(reply))); return; }
      var found = reply.body.items.filter(function (a) { return a.kind === "negative_review_spike" && a.status !== "resolved"; });
      if (!found.length) { list.appendChild(c.element("li", { "class": "muted" }, c.msg("reviews_no_spikes"))); return; }
      found.forEach(function (alert) {
        var item = c.element("li", { "data-alert": alert.id });
        var open = c.element("button", { type: "button", "class": "link" }, alert.title);
        open.addEventListener("click", function () { show(alert.subject); });
        item.appendChild(open);
        if (alert.status === "open") {
          var ack = c.element("button", { type: "button", "data-action": "acknowledge" }, c.msg("alerts_action_acknowledge"));
          ack.addEventListener("click", function () {
            c.api("POST", "/v1/alerts/" + alert.id + "/acknowledge").then(function (done) {
              if (done.ok) spikes(); else c.notice(c.problemText(done));
            });
          });
          item.appendChild(ack);
        } else {
          item.appendChild(c.element("span", { "class": "muted" }, " " + c.msg("alerts_acknowledged")));
        }
        list.appendChild(item);
      });
    });
  }

  // A review with the clause its complaint was read from in <mark> (text nodes only: nothing is parsed as HTML).
  function highlighted(text, clause) {
    var node = c.element("blockquote", { "class": "review" });
    var at = clause ? text.indexOf(clause) : -1;
    if (at < 0) { node.textContent = text; return node; }
    node.appendChild(document.createTextNode(text.slice(0, at)));
    node.appendChild(c.element("mark", {}, clause));
    node.appendChild(document.createTextNode(text.slice(at + clause.length)));
    return node;
  }

  function show(itemId) {
    itemId = (itemId || "").trim();
    if (!itemId) return;
    document.getElementById("item").value = itemId;
    history.replaceState(null, "", "/reviews?item=" + encodeURIComponent(itemId));
    c.api("GET", "/v1/sentiment/items/" + encodeURIComponent(itemId) + "?weeks=" + WEEKS).then(function (reply) {
      var view = document.getElementById("item-view"), summary = document.getElementById("item-summary");
      var complaints = document.getElementById("complaints");
      view.hidden = false;
      complaints.textContent = "";
      document.getElementById("item-chart").textContent = "";
      if (!reply.ok) { summary.textContent = c.problemText(reply); return; }
      var body = reply.body;
      summary.textContent = c.msg("reviews_item_summary", { item: c.itemName(itemId, body.title), reviews: c.number(body.reviews, 0),
        rate: body.positive_rate === null ? "—" : c.percent(body.positive_rate).replace("+", "") }) + (body.note ? " " + body.note : "");
      c.chart(document.getElementById("item-chart"), {
        $schema: "https://vega.github.io/schema/vega-lite/v5.json", height: 180, data: { values: body.trend },
        resolve: { scale: { y: "independent" } },
        layer: [
          { mark: { type: "bar", opacity: 0.35, color: "#7b8794" },
            encoding: { x: { field: "week", type: "temporal", title: null, axis: { format: "%-m/%-d" } }, y: { field: "reviews", type: "quantitative", title: c.msg("reviews_count") } } },
          { mark: { type: "line", point: true, color: "#1f5fbf" },
            encoding: { x: { field: "week", type: "temporal" },
                        y: { field: "positive_rate", type: "quantitative", title: c.msg("reviews_positive_rate"), axis: { format: "%", orient: "right" } } } }
        ]
      });
      if (!body.top_complaints.length) complaints.appendChild(c.element("p", { "class": "muted" }, c.msg("reviews_no_complaints")));
      body.top_complaints.forEach(function (complaint) {
        var block = c.element("div", { "class": "complaint", "data-aspect": complaint.aspect });
        block.appendChild(c.element("h3", {}, c.msg("reviews_complaint", { aspect: complaint.aspect, count: complaint.count,
          share: c.percent(complaint.share_of_negative_reviews).replace("+", "") })));
        complaint.examples.forEach(function (text, i) {
          block.appendChild(highlighted(text, (complaint.example_clauses || [])[i]));
        });
        complaints.appendChild(block);
      });
    });
  }

  document.getElementById("item-form").addEventListener("submit", function (e) {
    e.preventDefault();
    show(document.getElementById("item").value);
  });
  document.getElementById("analyze-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var texts = document.getElementById("texts").value.split(/\n+/).map(function (t) { return t.trim(); })
      .filter(function (t) { return t; }).slice(0, 1000);
    var target = document.getElementById("analysis");
    if (!texts.length) { c.notice(c.msg("reviews_analyze_empty")); return; }
    c.api("POST", "/v1/sentiment/analyze", { texts: texts }).then(function (reply) {
      target.textContent = "";
      if (!reply.ok) { c.notice(c.problemText(reply)); return; }
      c.notice("");
      target.appendChild(c.table(["text", "sentiment", "positive_probability", "aspects"], reply.body.results.map(function (r, i) {
        return [texts[i], c.msg("label_" + r.label), c.percent(r.score).replace("+", ""),
                r.aspects.map(function (a) { return a.aspect + "：" + c.msg("label_" + a.label); }).join("，") || "—"];
      })));
    });
  });
  c.ready.then(function () {
    categories();
    spikes();
    if (c.data.item) show(c.data.item);
  });
})();
