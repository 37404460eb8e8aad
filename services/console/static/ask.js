// 问答: POST /v1/ask; the sentence, how the question was read (and the other readings offered), the
// chart (Vega-Embed), the table with a CSV download and the query it became. A 422 shows its reason and the questions it suggests, as chips.
(function () {
  "use strict";
  var c = window.console_;
  var HISTORY_KEY = "shopmind.questions", HISTORY_SIZE = 8;
  var form = document.getElementById("ask-form"), input = document.getElementById("question");

  function chips(target, questions) {
    target.textContent = "";
    questions.forEach(function (question) {
      var chip = c.element("button", { type: "button", "class": "chip" }, question);
      chip.addEventListener("click", function () { input.value = question; submit(question); });
      target.appendChild(chip);
    });
  }

  function pastQuestions() {
    try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch (e) { return []; }
  }
  function remember(question) {
    var kept = [question].concat(pastQuestions().filter(function (q) { return q !== question; })).slice(0, HISTORY_SIZE);
    localStorage.setItem(HISTORY_KEY, JSON.stringify(kept));
    chips(document.getElementById("history"), kept);
  }

  function csv(columns, rows) {
    var quote = function (value) {
      var text = value === null || value === undefined ? "" : String(value);
      return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
    };
    var lines = [columns.map(quote).join(",")].concat(rows.map(function (row) {
      return (Array.isArray(row) ? row : columns.map(function (k) { return row[k]; })).map(quote).join(",");
    }));
    // A BOM so Excel opens the Chinese text as UTF-8.
    return URL.createObjectURL(new Blob(["\ufeff" + lines.join("\r\n")], { type: "text/csv;charset=utf-8" }));
  }

  function interpretation(reading) {
    var list = document.querySelector("#interpretation dl");
    list.textContent = "";
    Object.keys(reading || {}).forEach(function (key) {
      var value = reading[key];
      if (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length)) return;
      list.appendChild(c.element("dt", {}, key));
      list.appendChild(c.element("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value)));
    });
  }

  function show(reply) {
    var answer = document.getElementById("answer"), problem = document.getElementById("problem");
    answer.hidden = problem.hidden = true;
    if (reply.ok) {
      var body = reply.body;
      document.getElementById("summary").textContent = body.summary || "";
      document.getElementById("reading").textContent = body.reading || "";
      var others = document.getElementById("alternatives");
      // another reading of the same words (a festival's campaign instead of its day): one click asks it
      chips(others.querySelector(".chips"), (body.alternatives || []).map(function (a) { return a.question; }));
      others.hidden = !(body.alternatives || []).length;
      c.chart(document.getElementById("chart"), body.chart);
      var table = document.getElementById("table");
      table.textContent = "";
      if (body.columns && body.rows) table.appendChild(c.table(body.columns, body.rows));
      var link = document.getElementById("csv");
      link.hidden = !(body.columns && body.rows && body.rows.length);
      if (!link.hidden) link.href = csv(body.columns, body.rows);
      interpretation(body.interpretation);
      answer.hidden = false;
      performance.mark("answer-visible"); // the chart marks "chart-rendered" once drawn
    } else {
      problem.querySelector(".reason").textContent = c.problemText(reply);
      var suggested = (reply.body && reply.body.suggestions) || [];
      chips(problem.querySelector(".chips"), suggested);
      problem.querySelector(".muted").hidden = !suggested.length;
      problem.hidden = false;
    }
  }

  function submit(question) {
    question = (question || "").trim();
    if (!question) return;
    c.notice("");
    var url = "/ask?q=" + encodeURIComponent(question);
    if (location.pathname + location.search !== url) window.history.pushState({ q: question }, "", url);
    form.querySelector("button").disabled = true;
    c.ready.then(function () { return c.api("POST", "/v1/ask", { question: question }); }).then(function (reply) {
      form.querySelector("button").disabled = false;
      if (reply.ok) remember(question);
      show(reply);
    }, function () {
      form.querySelector("button").disabled = false;
      c.notice(c.msg("error_network"));
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit(input.value);
  });
  window.addEventListener("popstate", function () {
    var question = new URLSearchParams(location.search).get("q") || "";
    input.value = question;
    submit(question);
  });

  var suggestions = c.data.suggestions || [];
  chips(document.getElementById("suggestions"), suggestions);
  var datalist = document.getElementById("question-suggestions");
  suggestions.forEach(function (q) { datalist.appendChild(c.element("option", { value: q })); });
  chips(document.getElementById("history"), pastQuestions());
  if (c.data.question) submit(c.data.question);
})();
