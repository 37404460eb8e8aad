// 周报: the weekly report (GET /v1/reports/weekly, HTML with its charts) inside the console, as tall as
// its content, and printable on its own.
(function () {
  "use strict";
  var frame = document.getElementById("report");
  frame.addEventListener("load", function () {
    var doc = frame.contentDocument;
    if (doc && doc.body) frame.style.height = (doc.documentElement.scrollHeight + 24) + "px";
    frame.dataset.loaded = "true";
  });
  document.getElementById("print").addEventListener("click", function () {
    frame.contentWindow.focus();
    frame.contentWindow.print();
  });
})();
