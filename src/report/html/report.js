// imspec HTML report: the filter box. Rows whose text does not contain every word typed are
// hidden, with their detail sections; the count of shown rows is kept up to date.
(function () {
  "use strict";
  var box = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.scenario"));
  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var visible = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var show = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !show;
      var detail = document.getElementById("detail-" + row.getAttribute("data-id"));
      if (detail) { detail.hidden = !show; }
      if (show) { visible += 1; }
    });
    shown.textContent = visible + " of " + rows.length + " scenarios shown";
    shown.setAttribute("data-shown", String(visible));
  }
  box.addEventListener("input", apply);
  apply();
})();
