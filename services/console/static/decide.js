// Taking a decision from any page (定价, 预测与补货, 客户分群): POST /v1/decisions, then the row shows
// what was recorded, linking to its entry in the 决策 log. Only admins decide; others see why not.
(function () {
  "use strict";
  var c = window.console_;

  function allowed() {
    return document.body.dataset.role === "admin";
  }

  function decide(body) {
    return c.api("POST", "/v1/decisions", body).then(function (reply) {
      if (!reply.ok) {
        c.notice(c.problemText(reply));
        return null;
      }
      c.notice("");
      return reply.body;
    });
  }

  // What replaces a row's buttons once decided.
  function done(decision) {
    var key = decision.status === "accepted" ? "decided_accepted" : "decided_rejected";
    return c.element("a", { href: "/decisions#" + decision.id, "class": "decided " + decision.status },
                     c.msg(key, { id: decision.id }));
  }

  // Accept / reject buttons for one piece of advice; ``body()`` builds the request when clicked.
  function buttons(body) {
    var cell = c.element("span", { "class": "decide" });
    if (!allowed()) {
      cell.appendChild(c.element("span", { "class": "muted" }, c.msg("decide_admin_only")));
      return cell;
    }
    [["accepted", "decide_accept", "primary"], ["rejected", "decide_reject", ""]].forEach(function (choice) {
      var button = c.element("button", { type: "button", "class": choice[2], "data-decision": choice[0] },
                             c.msg(choice[1]));
      button.addEventListener("click", function () {
        var request = body();
        if (!request) return;
        request.status = choice[0];
        cell.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        decide(request).then(function (decision) {
          if (decision) {
            cell.textContent = "";
            cell.appendChild(done(decision));
          } else {
            cell.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
          }
        });
      });
      cell.appendChild(button);
    });
    return cell;
  }

  // A table whose headers sort it (click again to reverse); ``cells(row)`` makes a row's cells. Long
  // tables show their first PAGE rows and a button for the rest.
  var PAGE = 25;
  function sortable(target, columns, rows, cells) {
    var state = { key: null, down: false, all: rows.length <= PAGE };
    function draw() {
      var sorted = rows.slice();
      if (state.key) {
        sorted.sort(function (a, b) {
          var x = a[state.key], y = b[state.key];
          if (x === y) return 0;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (x < y ? -1 : 1) * (state.down ? -1 : 1);
        });
      }
      var table = c.element("table"), head = table.createTHead().insertRow();
      columns.forEach(function (column) {
        var th = c.element("th");
        if (column.sort) {
          var button = c.element("button", { type: "button", "class": "link sort", "data-sort": column.sort },
                                 c.msg(column.label) + (state.key === column.sort ? (state.down ? " ↓" : " ↑") : ""));
          button.addEventListener("click", function () {
            state.down = state.key === column.sort ? !state.down : true;
            state.key = column.sort;
            draw();
          });
          th.appendChild(button);
        } else {
          th.textContent = column.label ? c.msg(column.label) : "";
        }
        head.appendChild(th);
      });
      var body = table.createTBody();
      sorted.slice(0, state.all ? sorted.length : PAGE).forEach(function (row) {
        var line = body.insertRow();
        line.dataset.item = row.item_id || row.name || "";
        cells(row).forEach(function (cell) {
          var td = line.insertCell();
          if (cell instanceof Node) td.appendChild(cell);
          else {
            if (typeof cell === "number") td.className = "num";
            td.textContent = cell === null || cell === undefined ? "—" : cell;
          }
        });
      });
      target.textContent = "";
      target.appendChild(table);
      if (!state.all) {
        var more = c.element("button", { type: "button", "class": "more" }, c.msg("table_show_all", { count: rows.length }));
        more.addEventListener("click", function () { state.all = true; draw(); });
        target.appendChild(more);
      }
    }
    draw();
  }

  // Rows as a CSV download (with a BOM so Excel reads the Chinese as UTF-8).
  function csvLink(link, header, lines) {
    var quote = function (value) {
      var text = value === null || value === undefined ? "" : String(value);
      return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
    };
    var text = [header].concat(lines).map(function (line) { return line.map(quote).join(","); }).join("\r\n");
    if (link.href && link.href.indexOf("blob:") === 0) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob(["\ufeff" + text], { type: "text/csv;charset=utf-8" }));
  }

  window.decide_ = { allowed: allowed, decide: decide, done: done, buttons: buttons, sortable: sortable,
                     csvLink: csvLink };
})();
