// 数据导入: POST /v1/imports with the file, then the job's progress from GET /v1/jobs/{id} until it
// ends, then its report. The history is GET /v1/jobs?kind=ingestion.import.
(function () {
  "use strict";
  var c = window.console_;
  var form = document.getElementById("import-form"), fileInput = document.getElementById("file");
  var drop = document.getElementById("drop"), chosen = null;
  var POLL_MS = 1000, FINISHED = ["succeeded", "failed", "cancelled"];

  function choose(file) {
    chosen = file || null;
    document.getElementById("chosen").textContent = chosen ? c.msg("import_chosen", { name: chosen.name, size: c.number(chosen.size / 1024, 0) }) : "";
  }
  fileInput.addEventListener("change", function () { choose(fileInput.files[0]); });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
  });

  function status(job) {
    return c.msg("job_" + job.status);
  }

  function showProgress(job) {
    document.getElementById("progress-card").hidden = false;
    document.getElementById("progress-title").textContent = c.msg("import_job", { id: String(job.id).slice(0, 8), status: status(job) });
    document.getElementById("progress").value = job.progress || 0;
    document.getElementById("progress-message").textContent = job.message || "";
  }

  function showReport(job) {
    var result = job.result || {};
    var counts = document.getElementById("report-counts");
    counts.textContent = "";
    ["rows_total", "rows_loaded", "rows_updated", "rows_duplicate", "rows_rejected"].forEach(function (key) {
      if (result[key] === undefined) return;
      counts.appendChild(c.element("dt", {}, c.msg("report_" + key)));
      counts.appendChild(c.element("dd", {}, c.number(result[key], 0)));
    });
    var link = document.getElementById("rejections");
    link.hidden = !(result.report_url && result.rows_rejected);
    if (!link.hidden) link.href = result.report_url;
    var mapping = document.getElementById("mapping");
    mapping.textContent = "";
    var pairs = Object.keys(result.column_mapping || {}).map(function (column) { return [column, result.column_mapping[column]]; });
    if (pairs.length) mapping.appendChild(c.table([c.msg("report_column"), c.msg("report_field")], pairs));
    var quality = document.getElementById("quality");
    quality.textContent = "";
    var fields = result.quality && result.quality.fields ? result.quality.fields : result.quality || {};
    var rows = Object.keys(fields).filter(function (name) { return fields[name] && typeof fields[name] === "object" && "null_rate" in fields[name]; })
      .map(function (name) { return [name, c.percent(fields[name].null_rate).replace("+", ""), fields[name].distinct === undefined ? "—" : c.number(fields[name].distinct, 0)]; });
    if (rows.length) quality.appendChild(c.table([c.msg("report_field"), c.msg("report_null_rate"), c.msg("report_distinct")], rows));
    document.getElementById("report").hidden = false;
  }

  function follow(job) {
    showProgress(job);
    if (FINISHED.indexOf(job.status) >= 0) {
      form.querySelector("button").disabled = false;
      if (job.status === "succeeded") showReport(job);
      else c.notice(job.error ? c.problemText({ body: job.error }) : status(job));
      history();
      return;
    }
    setTimeout(function () {
      c.api("GET", "/v1/jobs/" + job.id).then(function (reply) {
        if (reply.ok) follow(reply.body);
        else { form.querySelector("button").disabled = false; c.notice(c.problemText(reply)); }
      }, function () { setTimeout(function () { follow(job); }, POLL_MS); });
    }, POLL_MS);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    c.notice("");
    document.getElementById("report").hidden = true;
    if (!chosen) {
      c.notice(c.msg("import_no_file"));
      return;
    }
    var upload = new FormData();
    upload.append("file", chosen, chosen.name);
    var query = new URLSearchParams({ entity: form.elements.entity.value, mode: form.elements.mode.value, preset: "auto" });
    form.querySelector("button").disabled = true;
    c.api("POST", "/v1/imports?" + query, upload).then(function (reply) {
      if (reply.body && reply.body.job) follow(reply.body.job);
      else { form.querySelector("button").disabled = false; c.notice(c.problemText(reply)); }
    }, function () {
      form.querySelector("button").disabled = false;
      c.notice(c.msg("error_network"));
    });
  });

  function history() {
    c.api("GET", "/v1/jobs?kind=ingestion.import&limit=10").then(function (reply) {
      var target = document.getElementById("history");
      target.textContent = "";
      if (!reply.ok) { target.textContent = c.problemText(reply); return; }
      var items = reply.body.items || [];
      if (!items.length) { target.textContent = c.msg("import_none"); return; }
      target.appendChild(c.table([c.msg("report_job"), c.msg("report_when"), c.msg("report_status"), c.msg("report_rows")],
        items.map(function (job) {
          var result = job.result || {};
          return ["#" + String(job.id).slice(0, 8), c.moment(job.created_at), status(job), result.rows_total === undefined ? "—" : c.number(result.rows_total, 0)];
        })));
    });
  }
  c.ready.then(history);
})();
