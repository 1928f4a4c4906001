// The reading site's live models (tools/site.ts puts this script into the chapter pages that
// have trained models, after tf.min.js and the chapter's weights script, all from files beside
// the page: no fetch(), which file:// pages may not use, and nothing off the machine).
//
// 01 (kind "gan"): a panel after the chapter's final sheet: 25 new digits from fresh noise at
// each press of a button, and a slider walking between two noise vectors.
// 04 (kind "latent-map"): the latent map's "decoded at the pointer" panel decodes the exact point
// under the pointer (hover, drag, touch) with the trained decoder, instead of the grid decoded in
// advance; a cross marks the point.
// 05 (kind "latent-pad"): after the chapter's two maps, a square of z from -padRange to padRange
// on both axes; hovering or dragging decodes the exact z under the pointer with the autoencoder's
// and the VAE's decoders, side by side.
//
// Nothing shows until the model has drawn once: with JavaScript off, or before that, the page's
// static pictures stand. State for the tests and the console: self.ganSite.
(function () {
  'use strict';
  var site = (self.ganSite = { state: 'loading', firstDrawAt: null, modelReadyAt: null, error: null });
  var config = self.ganSiteConfig;

  function fail(error) {
    site.state = 'failed';
    site.error = String((error && error.message) || error);
    document.documentElement.setAttribute('data-gan-site', 'failed: ' + site.error);
    console.warn('live model: ' + site.error);
  }

  var models = config && self.ganSiteModels && self.ganSiteModels[config.notebook];
  if (!config || typeof tf === 'undefined' || !models) {
    fail('the page lacks its configuration, tf.min.js or its weights script');
    return;
  }

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function weightData(base64) {
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function buildModel(name) {
    var entry = models[name];
    if (!entry) return Promise.reject(new Error('the weights script has no model "' + name + '"'));
    return tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: entry.modelTopology,
        weightSpecs: entry.weightSpecs,
        weightData: weightData(entry.weights),
      }),
    );
  }

  function drawn() {
    if (site.firstDrawAt === null) {
      site.firstDrawAt = performance.now();
      site.state = 'ready';
      document.documentElement.setAttribute('data-gan-site', 'ready');
    }
  }

  function nextFrame() {
    return new Promise(function (resolve) {
      requestAnimationFrame(function () {
        setTimeout(resolve, 0);
      });
    });
  }

  /**
   * Paints 28x28 images (grey levels 0-255, one image after another) into an ImageData as
   * scale x scale blocks, image k at origins[k]: nearest neighbour, so each block is one pixel's grey.
   */
  function paint(frame, grey, origins, scale) {
    for (var k = 0; k < origins.length; k++) {
      for (var p = 0; p < 784; p++) {
        var level = grey[k * 784 + p];
        var x0 = origins[k].x + (p % 28) * scale;
        var y0 = origins[k].y + Math.floor(p / 28) * scale;
        for (var dy = 0; dy < scale; dy++) {
          var at = ((y0 + dy) * frame.width + x0) * 4;
          for (var dx = 0; dx < scale; dx++, at += 4) {
            frame.data[at] = frame.data[at + 1] = frame.data[at + 2] = level;
            frame.data[at + 3] = 255;
          }
        }
      }
    }
  }

  /** A model's output as grey levels: 'tanh' maps [-1, 1], 'unit' [0, 1] onto 0-255, as the notebooks' grids do. */
  function greyLevels(values, range) {
    var grey = new Uint8ClampedArray(values.length);
    for (var i = 0; i < values.length; i++) {
      var unit = range === 'tanh' ? (values[i] + 1) / 2 : values[i];
      grey[i] = Math.round(Math.min(1, Math.max(0, unit)) * 255);
    }
    return grey;
  }

  function predict(model, inputs, shape) {
    var output = tf.tidy(function () {
      return model.predict(tf.tensor2d(inputs, shape));
    });
    return output.data().then(function (values) {
      output.dispose();
      return values;
    });
  }

  // --- 01: new digits and a walk between two noise vectors --------------------------------------

  function setupGan(generator) {
    var text = config.text;
    var noiseSize = generator.inputs[0].shape[1];
    var side = 5;
    var scale = 3;
    var gap = 2;
    var cell = 28 * scale;
    var state = (site.gan = { noise: null, sheets: 0, walk: { t: 0, a: null, b: null, draws: 0, busy: false } });

    var panel = element('section', 'gan-site-live gan-site-gan');
    panel.lang = text.lang;
    panel.appendChild(element('h3', null, text.ganTitle));
    panel.appendChild(element('p', null, text.ganIntro));
    var sheet = element('canvas', 'gan-site-sheet');
    sheet.width = sheet.height = side * cell + (side + 1) * gap;
    var button = element('button', 'gan-site-new', text.newDigits);
    button.type = 'button';
    panel.appendChild(sheet);
    panel.appendChild(element('div', 'gan-site-controls')).appendChild(button);

    panel.appendChild(element('h4', null, text.walkTitle));
    panel.appendChild(element('p', null, text.walkIntro));
    var walk = element('canvas', 'gan-site-walk');
    var walkScale = 4;
    walk.width = 3 * 28 * walkScale + 4 * gap;
    walk.height = 28 * walkScale + 2 * gap;
    var slider = element('input', 'gan-site-slider');
    slider.type = 'range';
    slider.min = '0';
    slider.max = '100';
    slider.value = '50';
    var label = element('span', 'gan-site-t');
    var ends = element('button', 'gan-site-ends', text.newEnds);
    ends.type = 'button';
    panel.appendChild(walk);
    var controls = panel.appendChild(element('div', 'gan-site-controls'));
    controls.appendChild(slider);
    controls.appendChild(label);
    controls.appendChild(ends);

    function randomNoise(count) {
      var noise = tf.randomNormal([count, noiseSize]);
      var values = noise.dataSync();
      noise.dispose();
      return Array.prototype.slice.call(values);
    }

    var sheetContext = sheet.getContext('2d');
    sheetContext.fillStyle = 'white';
    sheetContext.fillRect(0, 0, sheet.width, sheet.height);
    async function newSheet() {
      button.disabled = true;
      var noise = randomNoise(side * side);
      state.noise = noise;
      // One digit first (it shows at once), then the rest of its row, then two rows at a time (larger
      // batches run faster), with a frame between: each image replaces the last sheet's at its place.
      var chunks = [1, side - 1, 2 * side, 2 * side];
      for (var c = 0, first = 0; c < chunks.length; first += chunks[c], c++) {
        var values = await predict(generator, noise.slice(first * noiseSize, (first + chunks[c]) * noiseSize), [
          chunks[c],
          noiseSize,
        ]);
        var grey = greyLevels(values, 'tanh');
        for (var k = 0; k < chunks[c]; k++) {
          var frame = sheetContext.createImageData(cell, cell);
          paint(frame, grey.subarray(k * 784, (k + 1) * 784), [{ x: 0, y: 0 }], scale);
          var at = first + k;
          sheetContext.putImageData(
            frame,
            gap + (at % side) * (cell + gap),
            gap + Math.floor(at / side) * (cell + gap),
          );
        }
        panel.hidden = false;
        drawn();
        await nextFrame();
      }
      state.sheets += 1;
      sheet.setAttribute('data-sheets', String(state.sheets));
      button.disabled = false;
    }

    var walkContext = walk.getContext('2d');
    var walking = false;
    var walkAgain = false;
    async function drawWalk() {
      if (walking) {
        walkAgain = true;
        return;
      }
      walking = state.walk.busy = true;
      do {
        walkAgain = false;
        var t = Number(slider.value) / 100;
        var a = state.walk.a;
        var b = state.walk.b;
        var point = a.map(function (value, i) {
          return (1 - t) * value + t * b[i];
        });
        var values = await predict(generator, a.concat(point, b), [3, noiseSize]);
        var frame = walkContext.createImageData(walk.width, walk.height);
        frame.data.fill(255);
        var size = 28 * walkScale;
        paint(
          frame,
          greyLevels(values, 'tanh'),
          [0, 1, 2].map(function (k) {
            return { x: gap + k * (size + gap), y: gap };
          }),
          walkScale,
        );
        walkContext.putImageData(frame, 0, 0);
        label.textContent = 't = ' + t.toFixed(2);
        state.walk.t = t;
        state.walk.draws += 1;
      } while (walkAgain);
      walking = state.walk.busy = false;
    }

    function newEnds() {
      var noise = randomNoise(2);
      state.walk.a = noise.slice(0, noiseSize);
      state.walk.b = noise.slice(noiseSize);
      return drawWalk();
    }

    button.addEventListener('click', function () {
      newSheet().catch(fail);
    });
    ends.addEventListener('click', function () {
      newEnds().catch(fail);
    });
    slider.addEventListener('input', function () {
      drawWalk().catch(fail);
    });

    // After the chapter's own final sheet (its README picture), else at the end of the notebook.
    panel.hidden = true;
    var anchor = document.querySelector('.celltag_readme-figure');
    var cells = document.querySelectorAll('.jp-Cell');
    anchor = anchor || cells[cells.length - 1];
    anchor.parentNode.insertBefore(panel, anchor.nextSibling);
    return newSheet().then(newEnds);
  }

  // --- 04: decode the point under the pointer on the latent map ---------------------------------

  /** The first item of the mark named `name`, and where it sits in the view (offsets of the groups above it). */
  // One decode at a time: a pointer that moves meanwhile is decoded next, at its latest place.
  // Returns request(z); `state.busy` is true until the latest request is drawn.
  function latestOnly(state, decode, draw) {
    var busy = false;
    var pending = null;
    function pump() {
      if (!pending) {
        state.busy = false;
        return;
      }
      var z = pending;
      pending = null;
      busy = true;
      decode(z).then(function (values) {
        draw(z, values);
        busy = false;
        pump();
      }, fail);
    }
    return function request(z) {
      pending = z;
      state.busy = true;
      if (!busy) pump();
    };
  }

  function findItem(root, name) {
    var stack = [{ mark: root, x: 0, y: 0 }];
    while (stack.length) {
      var entry = stack.pop();
      var mark = entry.mark;
      var items = mark.items || [];
      if (mark.name === name && items.length) {
        return { item: items[0], x: entry.x + (items[0].x || 0), y: entry.y + (items[0].y || 0) };
      }
      if (mark.marktype !== 'group') continue;
      for (var i = 0; i < items.length; i++) {
        var children = items[i].items || [];
        for (var j = 0; j < children.length; j++) {
          stack.push({ mark: children[j], x: entry.x + (items[i].x || 0), y: entry.y + (items[i].y || 0) });
        }
      }
    }
    return null;
  }

  function whenChartReady(chart) {
    return new Promise(function (resolve, reject) {
      function check() {
        var live = chart.getAttribute('data-live');
        if (live === 'ready') resolve(chart.vegaView);
        else if (live && live.indexOf('failed') === 0) reject(new Error('the live chart did not draw: ' + live));
        else return false;
        return true;
      }
      if (check()) return;
      var observer = new MutationObserver(function () {
        if (check()) observer.disconnect();
      });
      observer.observe(chart, { attributes: true, attributeFilter: ['data-live'] });
    });
  }

  function setupLatentMap(decoder) {
    var chart = document.querySelector('.gan-live-chart');
    if (!chart) return Promise.reject(new Error('the page has no live latent map'));
    return whenChartReady(chart).then(function (view) {
      var xScale = view.scale('concat_0_x');
      var yScale = view.scale('concat_0_y');
      var root = view.scenegraph().root;
      var plot = findItem(root, 'concat_0_group');
      var image = findItem(root, 'decodedImage_marks');
      var caption = findItem(root, 'decodedCaption_marks');
      if (!xScale || !yScale || !plot || !image || !caption) throw new Error('the latent map is not the one expected');
      var container = chart.querySelector('.gan-live-chart-view');
      // Where vega draws the view's (0, 0): its origin plus its padding, from the drawing's corner.
      var padding = view.padding();
      var origin = [
        view.origin()[0] + (typeof padding === 'number' ? padding : padding.left || 0),
        view.origin()[1] + (typeof padding === 'number' ? padding : padding.top || 0),
      ];
      var side = image.item.width || 112;
      var scale = Math.round(side / 28);

      // Overlays, positioned over vega's drawing (whose layout is fixed), in the chart element.
      chart.style.position = 'relative';
      function overlay(className, x, y, width, height) {
        var canvas = element('canvas', className);
        canvas.width = width;
        canvas.height = height;
        canvas.style.position = 'absolute';
        canvas.style.pointerEvents = 'none';
        chart.appendChild(canvas);
        return function place() {
          var drawing = container.querySelector('canvas, svg');
          var base = drawing ? drawing.getBoundingClientRect() : container.getBoundingClientRect();
          var frame = chart.getBoundingClientRect();
          canvas.style.left = base.left - frame.left + origin[0] + x + 'px';
          canvas.style.top = base.top - frame.top + origin[1] + y + 'px';
          return canvas;
        };
      }
      var captionHeight = 16;
      var placeDecoded = overlay('gan-site-decoded', image.x, image.y, 28 * scale, caption.y - image.y + captionHeight);
      var placeCursor = overlay('gan-site-cursor', plot.x, plot.y, plot.item.width, plot.item.height);
      var decodedCanvas = placeDecoded();
      var cursorCanvas = placeCursor();
      decodedCanvas.hidden = cursorCanvas.hidden = true;
      var state = (site.map = { z: null, draws: 0, busy: false });

      function draw(z, values) {
        var context = decodedCanvas.getContext('2d');
        var frame = context.createImageData(28 * scale, 28 * scale);
        paint(frame, greyLevels(values, 'unit'), [{ x: 0, y: 0 }], scale);
        context.putImageData(frame, 0, 0);
        context.fillStyle = 'white';
        context.fillRect(0, 28 * scale, decodedCanvas.width, decodedCanvas.height - 28 * scale);
        context.fillStyle = 'black';
        context.font = '11px sans-serif';
        context.textBaseline = 'top';
        context.fillText('z = (' + z[0].toFixed(2) + ', ' + z[1].toFixed(2) + ')', 0, caption.y - image.y);

        var cursor = cursorCanvas.getContext('2d');
        cursor.clearRect(0, 0, cursorCanvas.width, cursorCanvas.height);
        var px = xScale(z[0]);
        var py = yScale(z[1]);
        cursor.lineCap = 'round';
        [
          ['white', 4],
          ['black', 2],
        ].forEach(function (pen) {
          cursor.strokeStyle = pen[0];
          cursor.lineWidth = pen[1];
          cursor.beginPath();
          cursor.moveTo(px - 7, py);
          cursor.lineTo(px + 7, py);
          cursor.moveTo(px, py - 7);
          cursor.lineTo(px, py + 7);
          cursor.stroke();
        });
        placeDecoded();
        placeCursor();
        decodedCanvas.hidden = cursorCanvas.hidden = false;
        state.z = z;
        state.draws += 1;
        decodedCanvas.setAttribute('data-z', z[0] + ',' + z[1]);
        decodedCanvas.setAttribute('data-draws', String(state.draws));
        drawn();
      }

      var request = latestOnly(
        state,
        function (z) {
          return predict(decoder, z, [1, 2]);
        },
        draw,
      );

      function pointed(event) {
        var drawing = container.querySelector('canvas, svg') || container;
        var box = drawing.getBoundingClientRect();
        var px = event.clientX - box.left - origin[0] - plot.x;
        var py = event.clientY - box.top - origin[1] - plot.y;
        if (px < 0 || py < 0 || px > plot.item.width || py > plot.item.height) return;
        request([xScale.invert(px), yScale.invert(py)]);
      }
      container.addEventListener('pointermove', pointed);
      container.addEventListener('pointerdown', pointed);
      // Dragging with a finger moves the point instead of scrolling the page.
      container.style.touchAction = 'none';

      // A line above the map's output row saying that it is live.
      var note = element('p', 'gan-site-live gan-site-map-note', config.text.mapNote);
      note.lang = config.text.lang;
      var row = chart.closest('.jp-OutputArea-child') || chart;
      row.parentNode.insertBefore(note, row);
      request(config.initialPoint);
    });
  }

  // --- 05: the autoencoder and the VAE at the same point -----------------------------------------

  function setupLatentPad(aeDecoder, vaeDecoder) {
    var text = config.text;
    var range = config.padRange;
    var side = 280;
    var scale = 5;
    var gap = 12;
    var size = 28 * scale;
    var captionHeight = 20;
    var state = (site.pad = { z: null, draws: 0, busy: false });

    var panel = element('section', 'gan-site-live gan-site-pad');
    panel.lang = text.lang;
    panel.appendChild(element('h3', null, text.padTitle));
    panel.appendChild(element('p', null, text.padIntro));
    var row = panel.appendChild(element('div', 'gan-site-pad-row'));
    var area = row.appendChild(element('canvas', 'gan-site-pad-area'));
    area.width = area.height = side;
    var pair = row.appendChild(element('canvas', 'gan-site-pair'));
    pair.width = 2 * size + gap;
    pair.height = size + captionHeight;
    var label = panel.appendChild(element('p', 'gan-site-pad-z'));

    // z to the square's pixels and back: z[0] grows to the right, z[1] upwards, as on the maps.
    function toPixel(z) {
      return [((z[0] + range) / (2 * range)) * side, ((range - z[1]) / (2 * range)) * side];
    }
    function toZ(px, py) {
      var clamp = function (v) {
        return Math.min(range, Math.max(-range, v));
      };
      return [clamp(-range + (2 * range * px) / side), clamp(range - (2 * range * py) / side)];
    }

    function drawArea(z) {
      var context = area.getContext('2d');
      context.fillStyle = 'white';
      context.fillRect(0, 0, side, side);
      context.font = '11px sans-serif';
      for (var v = -range; v <= range; v++) {
        var at = toPixel([v, v]);
        context.strokeStyle = v === 0 ? '#888' : '#e4e4e4';
        context.lineWidth = 1;
        context.beginPath();
        context.moveTo(Math.round(at[0]) + 0.5, 0);
        context.lineTo(Math.round(at[0]) + 0.5, side);
        context.moveTo(0, Math.round(at[1]) + 0.5);
        context.lineTo(side, Math.round(at[1]) + 0.5);
        context.stroke();
      }
      context.fillStyle = '#555';
      context.textBaseline = 'bottom';
      context.fillText(String(-range), 3, side - 2);
      context.fillText(String(range), side - 10, side - 2);
      context.fillText('z[0]', side - 30, toPixel([0, 0])[1] - 2);
      context.textBaseline = 'top';
      context.fillText(String(range), 3, 2);
      context.fillText('z[1]', toPixel([0, 0])[0] + 4, 2);
      var p = toPixel(z);
      context.lineCap = 'round';
      [
        ['white', 4],
        ['black', 2],
      ].forEach(function (pen) {
        context.strokeStyle = pen[0];
        context.lineWidth = pen[1];
        context.beginPath();
        context.moveTo(p[0] - 7, p[1]);
        context.lineTo(p[0] + 7, p[1]);
        context.moveTo(p[0], p[1] - 7);
        context.lineTo(p[0], p[1] + 7);
        context.stroke();
      });
    }

    function draw(z, values) {
      var context = pair.getContext('2d');
      var frame = context.createImageData(pair.width, size);
      frame.data.fill(255);
      var grey = new Uint8ClampedArray(2 * 784);
      grey.set(greyLevels(values[0], 'unit'));
      grey.set(greyLevels(values[1], 'unit'), 784);
      paint(
        frame,
        grey,
        [
          { x: 0, y: 0 },
          { x: size + gap, y: 0 },
        ],
        scale,
      );
      context.putImageData(frame, 0, 0);
      context.fillStyle = 'white';
      context.fillRect(0, size, pair.width, captionHeight);
      context.fillStyle = 'black';
      context.font = '12px sans-serif';
      context.textBaseline = 'top';
      context.fillText(text.aeLabel, 0, size + 4);
      context.fillText(text.vaeLabel, size + gap, size + 4);
      drawArea(z);
      label.textContent = 'z = (' + z[0].toFixed(2) + ', ' + z[1].toFixed(2) + ')';
      state.z = z;
      state.draws += 1;
      pair.setAttribute('data-z', z[0] + ',' + z[1]);
      pair.setAttribute('data-draws', String(state.draws));
      panel.hidden = false;
      drawn();
    }

    var request = latestOnly(
      state,
      function (z) {
        return Promise.all([predict(aeDecoder, z, [1, 2]), predict(vaeDecoder, z, [1, 2])]);
      },
      draw,
    );

    function pointed(event) {
      var box = area.getBoundingClientRect();
      // The square may be drawn smaller than its pixels on a narrow screen: scale back to them.
      var px = ((event.clientX - box.left) * side) / box.width;
      var py = ((event.clientY - box.top) * side) / box.height;
      if (px < 0 || py < 0 || px > side || py > side) return;
      request(toZ(px, py));
    }
    area.addEventListener('pointermove', pointed);
    area.addEventListener('pointerdown', pointed);
    area.style.touchAction = 'none';

    // After the cell that draws the two maps, else at the end of the notebook.
    panel.hidden = true;
    var cells = document.querySelectorAll('.jp-Cell');
    var anchor = cells[config.anchorCell] || cells[cells.length - 1];
    anchor.parentNode.insertBefore(panel, anchor.nextSibling);
    request([0, 0]);
  }

  // After the page's first frame, so that it shows before the model's work; then the CPU backend:
  // these models are small, and it needs no GPU and compiles no shaders.
  nextFrame()
    .then(function () {
      return tf.setBackend('cpu');
    })
    .then(function () {
      return Promise.all(config.models.map(buildModel));
    })
    .then(function (built) {
      site.modelReadyAt = performance.now();
      if (config.kind === 'gan') return setupGan(built[0]);
      if (config.kind === 'latent-map') return setupLatentMap(built[0]);
      if (config.kind === 'latent-pad') return setupLatentPad(built[0], built[1]);
      throw new Error('unknown kind of live chapter: ' + config.kind);
    })
    .catch(fail);
})();
