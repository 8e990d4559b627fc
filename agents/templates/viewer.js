(function () {
  "use strict";
  // Filters of the trajectory viewer: each step carries its facts as data attributes.
  var steps = Array.prototype.slice.call(document.querySelectorAll("article.step"));
  var sessions = Array.prototype.slice.call(document.querySelectorAll("section.session"));
  var rows = Array.prototype.slice.call(document.querySelectorAll("#sessions tbody tr"));
  var runs = document.body.classList.contains("two") ? 2 : 1;
  var ids = ["f-correct", "f-type", "f-click", "f-of", "f-session"];
  var control = {};
  ids.forEach(function (id) { control[id] = document.getElementById(id); });

  function correctness(step, run) { return step.getAttribute("data-correct-" + run); }

  function matchesCorrect(step, value) {
    if (!value) { return true; }
    if (value === "disagree") {
      var a = correctness(step, 0), b = correctness(step, 1);
      return (a === "correct" && b === "wrong") || (a === "wrong" && b === "correct");
    }
    if (value === "absent") {
      for (var r = 0; r < runs; r++) { if (correctness(step, r) === "absent") { return true; } }
      return false;
    }
    var parts = value.split(":");
    return correctness(step, parts[0]) === parts[1];
  }

  function apply() {
    var of = control["f-of"].value;
    var type = control["f-type"].value, click = control["f-click"].value;
    var correct = control["f-correct"].value, session = control["f-session"].value;
    var shown = 0, visible = {};
    steps.forEach(function (step) {
      var ok = matchesCorrect(step, correct) &&
        (!type || step.getAttribute("data-type-" + of) === type) &&
        (!click || step.getAttribute("data-click-" + of) === click) &&
        (!session || step.getAttribute("data-session") === session);
      step.hidden = !ok;
      if (ok) { shown += 1; visible[step.getAttribute("data-session")] = true; }
    });
    sessions.forEach(function (s) { s.hidden = !visible[s.getAttribute("data-session")]; });
    rows.forEach(function (row) { row.classList.toggle("dim", !visible[row.getAttribute("data-session")]); });
    document.getElementById("shown").textContent = String(shown);
  }

  function setOpen(open) {
    Array.prototype.forEach.call(document.querySelectorAll("main details"), function (d) {
      if (!d.closest("[hidden]")) { d.open = open; }
    });
  }

  ids.forEach(function (id) { control[id].addEventListener("change", apply); });
  document.getElementById("expand").addEventListener("click", function () { setOpen(true); });
  document.getElementById("collapse").addEventListener("click", function () { setOpen(false); });
  apply();
})();
