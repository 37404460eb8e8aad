// The console's common part: page data, calls to /v1 with the session cookie, locale formats.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("console-data").textContent);
  var CSRF_KEY = "shopmind.csrf";

  function msg(key, params) {
    var text = data.messages[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }

  function toLogin() {
    var here = location.pathname + location.search;
    location.assign(data.login + "?next=" + encodeURIComponent(here));
  }

  // Every call goes to the public API with the session cookie; writes carry the CSRF token.
  function api(method, path, body) {
    var headers = { "Accept": "application/json", "Accept-Language": data.language };
    var options = { method: method, credentials: "same-origin", headers: headers };
    if (method !== "GET" && method !== "HEAD") {
      headers["X-CSRF-Token"] = localStorage.getItem(CSRF_KEY) || "";
    }
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (reply) {
      var type = reply.headers.get("Content-Type") || "";
      // 204 and other empty replies have no JSON to read, whatever their Content-Type says.
      return reply.text().then(function (text) {
        var content = text && type.indexOf("json") >= 0 ? JSON.parse(text) : text || null;
        if (reply.status === 401 && data.page !== "login") {
          toLogin();
        }
        return { status: reply.status, ok: reply.ok, body: content };
      });
    });
  }

  // What a problem+json reply says to do, else a general message.
  function problemText(reply) {
    var body = reply && reply.body;
    if (body && typeof body === "object" && (body.detail || body.title)) {
      return body.detail || body.title;
    }
    return msg("error_generic");
  }

  function notice(text) {
    var box = document.getElementById("notice");
    box.textContent = text || "";
    box.hidden = !text;
  }

  // Locale formats: the shop's currency and time zone, the page's language.
  var shop = { currency: "CNY", timezone: undefined };
  function money(value) {
    if (value === null || value === undefined) return "—";
    var text = new Intl.NumberFormat(data.language, { style: "currency", currency: shop.currency }).format(value);
    return data.language === "zh-CN" ? text.replace("¥", "￥") : text; // the full-width sign Chinese readers expect
  }
  function number(value, digits) {
    if (value === null || value === undefined) return "—";
    return new Intl.NumberFormat(data.language, { maximumFractionDigits: digits === undefined ? 2 : digits }).format(value);
  }
  function percent(value) {
    if (value === null || value === undefined) return "—";
    return new Intl.NumberFormat(data.language, { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(value);
  }
  function day(isoDate, withDay) {
    if (!isoDate) return "—";
    // A calendar day (no time): formatted as that day, whatever the reader's clock says.
    var parts = String(isoDate).slice(0, 10).split("-").map(Number);
    var date = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] || 1));
    var options = withDay === false ? { year: "numeric", month: "long", timeZone: "UTC" }
      : { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" };
    return new Intl.DateTimeFormat(data.language, options).format(date);
  }
  function moment(isoTime) {
    if (!isoTime) return "—";
    return new Intl.DateTimeFormat(data.language, { dateStyle: "medium", timeStyle: "short", timeZone: shop.timezone })
      .format(new Date(isoTime));
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // An item as people know it: its catalogue title, and the id other systems use.
  function itemName(itemId, title) {
    return title ? title + " · " + itemId : itemId;
  }

  // The same as a link: the title, the id beneath it.
  function itemLink(itemId, title, onClick) {
    var node = element("button", { type: "button", "class": "link item-name", "data-item": itemId });
    if (title) node.appendChild(element("span", { "class": "item-title" }, title));
    node.appendChild(element("span", { "class": title ? "item-id" : "" }, itemId));
    node.addEventListener("click", onClick);
    return node;
  }

  // A table of an answer's columns and rows; numbers right-aligned in the reader's format.
  // An answer's column codes (rank, label, value ...) read as words; others are shown as they are.
  function heading(column) {
    var key = "column_" + column;
    return data.messages[key] || column;
  }

  function table(columns, rows) {
    var wrap = element("table");
    var head = wrap.createTHead().insertRow();
    columns.forEach(function (column) { head.appendChild(element("th", {}, heading(column))); });
    var body = wrap.createTBody();
    rows.forEach(function (row) {
      var line = body.insertRow();
      (Array.isArray(row) ? row : columns.map(function (c) { return row[c]; })).forEach(function (cell) {
        var numeric = typeof cell === "number";
        if (cell instanceof Node) { line.insertCell().appendChild(cell); return; } // a control (select, link)
        line.appendChild(element("td", numeric ? { "class": "num" } : {}, numeric ? number(cell) : cell));
      });
    });
    return wrap;
  }

  // Vega's axis labels in the page's language, built from Intl (no word lists of our own).
  function vegaLocale() {
    var names = function (count, options, at) {
      var format = new Intl.DateTimeFormat(data.language, Object.assign({ timeZone: "UTC" }, options));
      var list = [];
      for (var i = 0; i < count; i++) list.push(format.format(at(i)));
      return list;
    };
    var month = function (i) { return new Date(Date.UTC(2000, i, 1)); };
    var weekday = function (i) { return new Date(Date.UTC(2000, 0, 2 + i)); }; // 2000-01-02 was a Sunday
    var separator = new Intl.NumberFormat(data.language).format(1000).charAt(1);
    return {
      number: { decimal: ".", thousands: separator, grouping: [3], currency: ["", ""] },
      time: {
        dateTime: "%x %X", date: data.language === "zh-CN" ? "%Y/%-m/%-d" : "%-m/%-d/%Y", time: "%H:%M:%S",
        periods: ["AM", "PM"],
        days: names(7, { weekday: "long" }, weekday), shortDays: names(7, { weekday: "short" }, weekday),
        months: names(12, { month: "long" }, month), shortMonths: names(12, { month: "short" }, month)
      }
    };
  }
  var locale = null;

  function chart(target, spec) {
    target.textContent = "";
    if (!spec || !window.vegaEmbed) return Promise.resolve();
    // ast + the interpreter: Vega evaluates expressions without eval, as the CSP requires.
    // As wide as its card (a phone's screen too), unless the spec lays out several views.
    var fitted = spec.mark || spec.layer ? Object.assign({}, spec, { width: "container", autosize: { type: "fit-x", contains: "padding" } }) : spec;
    locale = locale || vegaLocale();
    return window.vegaEmbed(target, fitted, {
      actions: false, renderer: "svg", ast: true, expr: window.vega.expressionInterpreter,
      formatLocale: locale.number, timeFormatLocale: locale.time
    }).then(function (result) {
      // Drawn (Vega-Embed resolves once the view has rendered): the benchmark and tests read this mark.
      performance.mark("chart-rendered");
      return result;
    }, function () { target.textContent = msg("chart_failed"); });
  }

  // Who is logged in, and their shop's currency and time zone (for every format above).
  var ready = data.page === "login" ? Promise.resolve(null) : Promise.all([
    api("GET", "/v1/me"), api("GET", "/v1/shops/current")
  ]).then(function (replies) {
    var me = replies[0], current = replies[1];
    if (current.ok) {
      shop.currency = current.body.currency || shop.currency;
      shop.timezone = current.body.timezone || shop.timezone;
    }
    if (me.ok) {
      var who = document.getElementById("who");
      if (who && me.body.email) who.textContent = me.body.email;
      document.body.dataset.role = me.body.role || "";
      // The reader's saved language, unless this browser chose one on the settings page.
      var chosen = document.cookie.indexOf(data.language_cookie + "=") >= 0;
      if (!chosen && me.body.language && me.body.language !== data.language) {
        document.cookie = data.language_cookie + "=" + me.body.language + "; path=/; SameSite=Lax; max-age=31536000";
        location.reload();
      }
    }
    return { me: me.ok ? me.body : null, shop: current.ok ? current.body : null };
  });

  var logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", function () {
      api("DELETE", "/v1/sessions/current").then(function () {
        localStorage.removeItem(CSRF_KEY);
        location.assign(data.login);
      });
    });
  }

  window.console_ = {
    data: data, msg: msg, api: api, problemText: problemText, notice: notice, ready: ready, shop: shop,
    money: money, number: number, percent: percent, day: day, moment: moment, element: element, itemName: itemName, itemLink: itemLink,
    table: table, chart: chart, CSRF_KEY: CSRF_KEY
  };
})();
