// The pages' behaviour in one static file, so that the Content Security Policy can forbid inline
// scripts, inline event handlers and eval: elements say what they want with data- attributes.
(function () {
  "use strict";

  // <select data-autosubmit>: choosing submits the form.
  document.addEventListener("change", function (event) {
    var el = event.target.closest && event.target.closest("[data-autosubmit]");
    if (el && el.form) { el.form.submit(); }
  });

  document.addEventListener("click", function (event) {
    var print = event.target.closest && event.target.closest("[data-print]");
    if (print) { event.preventDefault(); window.print(); }
    var back = event.target.closest && event.target.closest("[data-back]");
    if (back) { event.preventDefault(); history.back(); }
    // <button data-clear-focus="barcode">: after the request it starts, clear and focus a field.
    var clear = event.target.closest && event.target.closest("[data-clear-focus]");
    if (clear && clear.form) {
      var field = clear.form.elements[clear.dataset.clearFocus];
      setTimeout(function () { if (field) { field.value = ""; field.focus(); } }, 300);
    }
  });

  // <input data-enter-focus="code">: Enter moves to another field of the form instead of submitting.
  document.addEventListener("keydown", function (event) {
    var el = event.target.closest && event.target.closest("[data-enter-focus]");
    if (el && event.key === "Enter" && el.form) {
      event.preventDefault();
      var next = el.form.elements[el.dataset.enterFocus];
      if (next) { next.focus(); }
    }
  });

  // <form data-after-success="field"> (htmx): after a successful request, clear or reset, focus.
  // data-reset: reset the whole form; data-unless: a selector that, if present, keeps the form.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("[data-after-success]");
    if (!form || form !== event.detail.elt || !event.detail.successful) { return; }
    if (form.dataset.unless && document.querySelector(form.dataset.unless)) { return; }
    var field = form.elements[form.dataset.afterSuccess];
    if (form.hasAttribute("data-reset")) { form.reset(); } else if (field) { field.value = ""; }
    if (field) { field.focus(); }
  });

  // Charts: <div data-figure="ID"> draws the Plotly figure in <script type="application/json" id="ID">.
  // data-click="link": a click on a point opens its customdata URL; "node": a click on a map shape
  // opens that node's dashboard.
  var options = {displayModeBar: false, displaylogo: false, responsive: true};
  // Chinese pages: Plotly's zh-CN locale (plotly-locale-zh-cn.js) and dates as 11月27日, not "Nov 27".
  var chinese = /^zh/i.test(document.documentElement.lang || "");
  if (chinese) { options.locale = "zh-CN"; }
  var isoDay = /^\d{4}-\d{2}-\d{2}/;

  function localiseDates(figure) {
    if (!chinese || !figure.data || !figure.data.length) { return; }
    var x = figure.data[0].x;
    if (!x || !x.length || !isoDay.test(String(x[0]))) { return; }
    figure.layout = figure.layout || {};
    var axis = figure.layout.xaxis = figure.layout.xaxis || {};
    if (!axis.tickformat) { axis.tickformat = "%-m月%-d日"; }
    if (!axis.hoverformat) { axis.hoverformat = "%Y年%-m月%-d日"; }
  }

  function wireNodes(el) {
    var go = function (code) { window.location.search = "?node=" + encodeURIComponent(code); };
    // The shapes' own SVG paths take the click (they lie above Plotly's drag layer).
    el.querySelectorAll("g.scatterlayer g.trace").forEach(function (g, i) {
      var trace = el.data[i];
      if (!trace || !trace.customdata) { return; }
      g.querySelectorAll("path.js-fill, text").forEach(function (shape) {
        shape.style.cursor = "pointer";
        shape.style.pointerEvents = "all";
        shape.addEventListener("click", function () { go(trace.customdata[0]); });
      });
    });
  }

  function draw(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var data = document.getElementById(el.dataset.figure);
      if (!data) { return; }
      var figure = JSON.parse(data.textContent);
      if (!figure) { return; }
      localiseDates(figure);
      Plotly.react(el, figure.data, figure.layout, options).then(function (plot) {
        if (el.dataset.click === "node") { wireNodes(plot); }
        if (el.dataset.click === "link" && !el.dataset.wired) {
          el.dataset.wired = "1";
          plot.on("plotly_click", function (e) {
            var url = e.points[0].customdata;
            if (url) { window.location = url; }
          });
        }
      });
    });
  }

  // window.print() once loaded: the bulletin's print page opened for printing.
  function autoPrint() {
    if (document.body && document.body.hasAttribute("data-auto-print")) { window.print(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  window.addEventListener("load", autoPrint);
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.detail.elt); });
})();
