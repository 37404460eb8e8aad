// 数据导入: a chosen file is first sent to POST /v1/imports/preview, whose answer (the entity, the
// preset, each column's field with masked examples) is shown as an editable table; the import is
// then POST /v1/imports with the user's changes as `mapping`, its progress from GET /v1/jobs/{id}
// until it ends, then its report. The history is GET /v1/jobs?kind=ingestion.import.
(function () {
  "use strict";
  var c = window.console_;
  var form = document.getElementById("import-form"), fileInput = document.getElementById("file");
  var drop = document.getElementById("drop"), entitySelect = form.elements.entity, submit = form.querySelector("button[type=submit]");
  var chosen = null, plan = null, previewRun = 0;
  var POLL_MS = 1000, FINISHED = ["succeeded", "failed", "cancelled"];
  // Roles whose column the user cannot point at a field (docs/imports.md, "Preview").
  var FIXED_ROLES = ["personal", "address", "close_reason"];

  function choose(file) {
    chosen = file || null;
    document.getElementById("chosen").textContent = chosen ? c.msg("import_chosen", { name: chosen.name, size: c.number(chosen.size / 1024, 0) }) : "";
    if (chosen) preview();
  }
  fileInput.addEventListener("change", function () { choose(fileInput.files[0]); });
  entitySelect.addEventListener("change", function () { if (chosen) preview(); });

  function entityLabel(entity) {
    var option = entitySelect.querySelector("option[value='" + entity + "']");
    return option ? option.textContent : entity;
  }

  function fieldLabel(field, required) {
    var label = c.msg("field_" + field) + " · " + field;
    return required ? c.msg("preview_required", { field: label }) : label;
  }

  // The file's columns as the server read them, each with a select to change its field.
  function preview() {
    var run = ++previewRun, card = document.getElementById("preview");
    plan = null;
    submit.disabled = true;
    card.hidden = false;
    document.getElementById("preview-summary").textContent = c.msg("preview_running");
    ["preview-file", "preview-status", "preview-columns"].forEach(function (id) { document.getElementById(id).textContent = ""; });
    var upload = new FormData();
    upload.append("file", chosen, chosen.name);
    var query = new URLSearchParams({ preset: "auto" });
    if (entitySelect.value !== "auto") query.set("entity", entitySelect.value);
    c.api("POST", "/v1/imports/preview?" + query, upload).then(function (reply) {
      if (run !== previewRun) return; // a newer file or entity was chosen meanwhile
      if (!reply.ok) {
        document.getElementById("preview-summary").textContent = c.problemText(reply);
        return;
      }
      plan = reply.body;
      showPlan();
    }, function () {
      if (run === previewRun) document.getElementById("preview-summary").textContent = c.msg("error_network");
    });
  }

  function showPlan() {
    var fields = plan.fields_required.concat(plan.fields_optional);
    document.getElementById("preview-summary").textContent = c.msg(plan.entity_guessed ? "preview_detected" : "preview_chosen", {
      entity: entityLabel(plan.entity), preset: plan.preset, confidence: c.percent(plan.preset_confidence).replace("+", ""),
      reason: plan.preset_reason });
    document.getElementById("preview-file").textContent = c.msg("preview_file", {
      format: plan.format + (plan.compression ? "+" + plan.compression : ""), encoding: plan.encoding || "—", rows: plan.rows_sampled });
    var rows = plan.columns.map(function (column) {
      var cell;
      if (FIXED_ROLES.indexOf(column.role) >= 0) {
        cell = c.element("span", { "class": "muted" }, c.msg("role_" + column.role));
      } else {
        cell = c.element("select", { "data-column": column.name, "aria-label": c.msg("preview_as") + " " + column.name });
        cell.appendChild(c.element("option", { value: "" }, c.msg("preview_skip")));
        fields.forEach(function (field) {
          var option = c.element("option", { value: field }, fieldLabel(field, plan.fields_required.indexOf(field) >= 0));
          if (field === column.field) option.selected = true;
          cell.appendChild(option);
        });
        cell.addEventListener("change", function () { fieldChosen(cell); });
        if (column.role === "hashed") {
          var wrap = c.element("span");
          wrap.appendChild(cell);
          wrap.appendChild(c.element("small", { "class": "muted" }, " " + c.msg("role_hashed")));
          cell = wrap;
        }
      }
      return [column.name, column.samples.join(" · "), cell];
    });
    var target = document.getElementById("preview-columns");
    target.textContent = "";
    target.appendChild(c.table([c.msg("preview_column"), c.msg("preview_samples"), c.msg("preview_as")], rows));
    checkPlan();
  }

  function selects() {
    return Array.prototype.slice.call(document.querySelectorAll("#preview-columns select[data-column]"));
  }

  // A field is read from one column: choosing it here takes it away from any other column.
  function fieldChosen(select) {
    if (select.value) selects().forEach(function (other) { if (other !== select && other.value === select.value) other.value = ""; });
    checkPlan();
  }

  // The user's changes to what the server proposed, as POST /v1/imports's `mapping` (null: skip).
  function mappingChanges() {
    var changes = {};
    selects().forEach(function (select) {
      var proposed = plan.columns.filter(function (column) { return column.name === select.dataset.column; })[0].field || "";
      if (select.value !== proposed) changes[select.dataset.column] = select.value || null;
    });
    return changes;
  }

  function checkPlan() {
    var chosenFields = selects().map(function (select) { return select.value; });
    var missing = plan.fields_required.filter(function (field) { return chosenFields.indexOf(field) < 0; });
    var edited = Object.keys(mappingChanges()).length, status = document.getElementById("preview-status");
    status.className = missing.length ? "warning" : "";
    status.textContent = missing.length
      ? c.msg("preview_missing", { fields: missing.map(function (field) { return fieldLabel(field); }).join("、") })
      : c.msg("preview_ready") + (edited ? " " + c.msg("preview_edited", { count: edited }) : "");
    submit.disabled = missing.length > 0;
  }

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
      submit.disabled = false;
      if (job.status === "succeeded") showReport(job);
      else c.notice(job.error ? c.problemText({ body: job.error }) : status(job));
      history();
      return;
    }
    setTimeout(function () {
      c.api("GET", "/v1/jobs/" + job.id).then(function (reply) {
        if (reply.ok) follow(reply.body);
        else { submit.disabled = false; c.notice(c.problemText(reply)); }
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
    if (!plan) {
      c.notice(c.msg("preview_running"));
      return;
    }
    var upload = new FormData(), changes = mappingChanges();
    upload.append("file", chosen, chosen.name);
    if (Object.keys(changes).length) upload.append("mapping", JSON.stringify(changes));
    var query = new URLSearchParams({ entity: plan.entity, mode: form.elements.mode.value, preset: plan.preset });
    submit.disabled = true;
    c.api("POST", "/v1/imports?" + query, upload).then(function (reply) {
      if (reply.body && reply.body.job) follow(reply.body.job);
      else { submit.disabled = false; c.notice(c.problemText(reply)); }
    }, function () {
      submit.disabled = false;
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
