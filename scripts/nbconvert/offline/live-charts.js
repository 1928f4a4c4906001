// Draws each interactive chart of an exported page with vega (inlined above, from the project's
// node_modules): the vega-lite spec is compiled here, in the page, and rendered into the chart's
// view; only then is the static SVG hidden, so a failure leaves the picture in place.
(function () {
  'use strict';
  if (typeof vega === 'undefined' || typeof vegaLite === 'undefined') return;
  var charts = document.querySelectorAll('.gan-live-chart');
  Array.prototype.forEach.call(charts, function (chart) {
    var specElement = chart.querySelector('script.gan-live-chart-spec');
    var target = chart.querySelector('.gan-live-chart-view');
    if (!specElement || !target) return;
    try {
      var spec = JSON.parse(specElement.textContent);
      var embedOptions = (spec.usermeta && spec.usermeta.embedOptions) || {};
      var compiled = vegaLite.compile(spec).spec;
      var view = new vega.View(vega.parse(compiled), {
        renderer: embedOptions.renderer || 'svg',
        container: target,
        hover: true,
      });
      // Kept on the element for the browser test and the console (chart.vegaView.signal(...)).
      chart.vegaView = view;
      view.runAsync().then(
        function () {
          chart.classList.add('gan-live');
          chart.setAttribute('data-live', 'ready');
        },
        function (error) {
          chart.setAttribute('data-live', 'failed: ' + error);
        },
      );
    } catch (error) {
      chart.setAttribute('data-live', 'failed: ' + error);
    }
  });
})();
