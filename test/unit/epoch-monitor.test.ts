/**
 * What 05-vae's loop shows and draws: the EpochMonitor (history, errors, Kernel > Interrupt at a
 * batch), the per-epoch chart of several series, and two latent maps side by side.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { EpochMonitor, latentScatterChart, sideBySide } from '../../lib';
import { requestInterrupt, TrainingInterrupted } from '../../lib/train';
import { epochSeriesChart, renderSvg } from '../../lib/viz';
import { interruptState } from '../../lib/train/interrupt';

describe('EpochMonitor', () => {
  it('records one value per series and epoch, and names a missing one', async () => {
    const monitor = new EpochMonitor({ epochs: 2, series: ['loss', 'kl'], chart: false });
    assert.equal(interruptState().loopChecks, true, 'the loop, not each step, takes interrupts while it runs');
    await monitor.batch(0.5, { loss: 3, kl: 1 });
    await monitor.epoch(0, { loss: 2, kl: 1 });
    await monitor.epoch(1, { loss: 1.5, kl: 1.25 });
    await assert.rejects(monitor.epoch(2, { loss: 1 }), /values lacks kl; give one number per series \(loss, kl\)/);
    await monitor.finish();
    assert.deepEqual(monitor.history, { epoch: [0, 1], values: { loss: [2, 1.5], kl: [1, 1.25] } });
    assert.equal(interruptState().loopChecks, false);
    assert.throws(() => new EpochMonitor({ epochs: 1, series: [] }), /options\.series must name at least one value/);
  });

  it('stops the loop at the next batch after Kernel > Interrupt, saying how far it got', async () => {
    const monitor = new EpochMonitor({ epochs: 3, series: ['loss'], chart: false });
    await monitor.epoch(0, { loss: 2 });
    requestInterrupt();
    await assert.rejects(monitor.batch(1.25, { loss: 1.8 }), (error: unknown) => {
      assert.ok(error instanceof TrainingInterrupted);
      assert.match(error.message, /Training interrupted in epoch 2 \(1 of 3 epochs finished\)/);
      return true;
    });
    assert.equal(interruptState().requested, false, 'the request was taken');
    assert.equal(interruptState().loopChecks, false, 'finished on the way out');
  });
});

describe('epochSeriesChart and sideBySide', () => {
  it('draws one line per series, epochs counted from 1', async () => {
    const spec = epochSeriesChart(
      { epoch: [0, 1, 2], values: { loss: [50, 45, 44], reconstruction: [47, 41, 39.5], kl: [3, 4, 4.5] } },
      { title: 'VAE' },
    ) as unknown as {
      data: { values: Array<Record<string, number>> };
      encoding: { color: { scale: { domain: string[] } } };
    };
    assert.deepEqual(spec.data.values[0], { epoch: 1, loss: 50, reconstruction: 47, kl: 3 });
    assert.deepEqual(spec.encoding.color.scale.domain, ['loss', 'reconstruction', 'kl']);
    const svg = await renderSvg(spec as never); // throws on any vega warning
    for (const name of ['loss', 'reconstruction', 'kl']) assert.match(svg, new RegExp(`>${name}<`));
    assert.throws(
      () => epochSeriesChart({ epoch: [0, 1], values: { loss: [1] } }),
      /history\.loss has 1 values but history\.epoch has 2/,
    );
    const logChart = epochSeriesChart(
      { epoch: [0, 1], values: { loss: [50, 45], kl: [3, 4] } },
      { yScale: 'log', yTitle: 'per image' },
    ) as unknown as { encoding: { y: { title: string; scale: unknown } } };
    assert.deepEqual(logChart.encoding.y.scale, { type: 'log' });
    assert.equal(logChart.encoding.y.title, 'per image (log scale)');
    assert.match(await renderSvg(logChart as never), /per image \(log scale\)/);
  });

  it('puts two latent maps in one row, their layers renamed apart, and renders without warnings', async () => {
    const points = new Float32Array([0, 0, 1, 1, 2, 0, 0, 2, 1, 0, 2, 2]);
    const labels = new Uint8Array([0, 0, 0, 1, 1, 1]);
    const left = latentScatterChart({ points, labels, markers: [{ x: 1, y: 1, label: 'R1' }] }, { title: 'AE' });
    const right = latentScatterChart({ points: points.map((v) => v - 1), labels }, { title: 'VAE' });
    const both = sideBySide([left, right], { title: 'both' }) as unknown as {
      hconcat: Array<{ title: string; layer: Array<{ name: string }>; $schema?: string }>;
      usermeta?: unknown;
    };
    assert.deepEqual(
      both.hconcat.map((chart) => chart.title),
      ['AE', 'VAE'],
    );
    assert.ok(
      both.hconcat.every((chart) => chart.$schema === undefined),
      'only the outer spec carries $schema',
    );
    assert.deepEqual(both.usermeta, (left as unknown as { usermeta: unknown }).usermeta);
    const names = both.hconcat.flatMap((chart) => chart.layer.map((layer) => layer.name));
    assert.equal(new Set(names).size, names.length, `layer names must be unique: ${names.join(', ')}`);
    const svg = await renderSvg(both as never);
    assert.match(svg, />AE</);
    assert.match(svg, />VAE</);
    assert.throws(() => sideBySide([left]), /give two or more charts; got 1/);
  });
});
