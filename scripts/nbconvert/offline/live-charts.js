// Draws each interactive chart of an exported page with vega (inlined above, from the project's
// node_modules): the vega-lite spec is compiled here, in the page, and rendered into the chart's
// view; only then is the static SVG hidden, so a failure leaves the picture in place.
(function () {
  'use strict';
  if (typeof vega === 'undefined' || typeof vegaLite === 'undefined') return;
  // A page with Korean text carries its own Korean font (scripts/run_notebooks.py, embed_korean_font):
  // the charts put it first in their font stack, and draw once it is loaded (a canvas draws text in
  // whatever font is ready at that moment).
  var KOREAN_FAMILY = 'Embedded Korean';
  var koreanFont = document.getElementById('gan-korean-font') !== null;
  var fontReady =
    koreanFont && document.fonts && document.fonts.load
      ? document.fonts.load('12px "' + KOREAN_FAMILY + '"', '\uac00').catch(function () {})
      : Promise.resolve();
  var charts = document.querySelectorAll('.gan-live-chart');
  Array.prototype.forEach.call(charts, function (chart) {
    var specElement = chart.querySelector('script.gan-live-chart-spec');
    var target = chart.querySelector('.gan-live-chart-view');
    if (!specElement || !target) return;
    try {
      var spec = JSON.parse(specElement.textContent);
      var embedOptions = (spec.usermeta && spec.usermeta.embedOptions) || {};
      if (koreanFont) {
        spec.config = spec.config || {};
        spec.config.font = '"' + KOREAN_FAMILY + '", ' + (spec.config.font || 'sans-serif');
      }
      var compiled = vegaLite.compile(spec).spec;
      var view = new vega.View(vega.parse(compiled), {
        renderer: embedOptions.renderer || 'svg',
        container: target,
        hover: true,
      });
      // Kept on the element for the browser test and the console (chart.vegaView.signal(...)).
      chart.vegaView = view;
      fontReady
        .then(function () {
          return view.runAsync();
        })
        .then(
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
