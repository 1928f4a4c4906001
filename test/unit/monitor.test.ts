/**
 * The training monitor every loop reports to (01's and 05's own loops, fit, trainGan): its history,
 * its one interrupt contract (update and progress return false, finish throws), and the live view
 * (the bar, headless and in a kernel).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { LiveView } from '../../lib/display';
import { TrainingInterrupted, TrainingMonitor, type MonitorView } from '../../lib/train';
import { interruptState } from '../../lib/train/interrupt';

describe('TrainingMonitor', () => {
  it('records one column per value beside its axis, and names values that change', async () => {
    const monitor = new TrainingMonitor({ epochs: 2 });
    assert.equal(interruptState().loopChecks, true, 'the loop, not each step, takes interrupts while it runs');
    assert.equal(await monitor.progress(0.5, { loss: 3, kl: 1 }), true);
    assert.equal(await monitor.update(0, { loss: 2, kl: 1 }), true);
    assert.equal(await monitor.update(1, { loss: 1.5, kl: 1.25 }), true);
    await assert.rejects(monitor.update(2, { loss: 1 }), /give the same values every time \(loss, kl\); got loss/);
    await monitor.finish();
    assert.deepEqual(monitor.history, { epoch: [0, 1], loss: [2, 1.5], kl: [1, 1.25] });
    assert.equal(monitor.done, 2);
    assert.equal(interruptState().loopChecks, false);
    assert.throws(() => new TrainingMonitor({}), /give options\.iterations or options\.epochs/);
    assert.throws(() => new TrainingMonitor({ iterations: 1.5 }), /options\.iterations must be a whole number/);
  });

  it('after Kernel > Interrupt: false at the next safe point, then finish says where it stopped', async () => {
    const monitor = new TrainingMonitor({ epochs: 3 });
    await monitor.update(0, { loss: 2 });
    interruptState().requested = true; // what Kernel > Interrupt does
    assert.equal(await monitor.progress(1.25, { loss: 1.8 }), false);
    assert.equal(monitor.stopped, true);
    assert.equal(interruptState().requested, false, 'the request was taken');
    await assert.rejects(monitor.finish(), (error: unknown) => {
      assert.ok(error instanceof TrainingInterrupted);
      assert.match(error.message, /^Training interrupted in epoch 2 \(1 of 3 epochs finished\): the models keep/);
      return true;
    });
    assert.equal(interruptState().loopChecks, false, 'finished on the way out');
    assert.equal(monitor.stopped, false, 'a rerun of the loop carries on');
  });

  it("counts iterations, and a library loop's finish gives its own message", async () => {
    const monitor = new TrainingMonitor({ iterations: 10 });
    for (let i = 0; i < 5; i++) await monitor.update(i, { d_loss: 0.7, g_loss: 0.9 });
    interruptState().requested = true; // what Kernel > Interrupt does
    assert.equal(await monitor.update(5, { d_loss: 0.6, g_loss: 1 }), false);
    await assert.rejects(
      monitor.finish(),
      /^TrainingInterrupted: Training interrupted after iteration 5 \(6 of 10 run\)/,
    );
    interruptState().requested = true; // what Kernel > Interrupt does
    assert.equal(await monitor.update(6, { d_loss: 0.6, g_loss: 1 }), false);
    await assert.rejects(monitor.finish('fit: stopped'), /^TrainingInterrupted: fit: stopped$/);
  });

  it('shows its state to a view: start, progress, record, final', async () => {
    const events: string[] = [];
    const view: MonitorView = {
      show: (state, event) => void events.push(`${event} ${state.done}/${state.total} ${JSON.stringify(state.values)}`),
    };
    const monitor = new TrainingMonitor({ epochs: 1, view });
    await monitor.progress(0.5, { loss: 2 });
    await monitor.update(0, { loss: 1 });
    await monitor.finish();
    assert.deepEqual(events, [
      'start 0/1 {}',
      'progress 0.5/1 {"loss":2}',
      'record 1/1 {"loss":1}',
      'final 1/1 {"loss":1}',
    ]);
  });
});

describe('LiveView', () => {
  it('headless: writes at most one line per interval, and always the final state', async () => {
    const lines: string[] = [];
    let clock = 0;
    const view = new LiveView({ live: false, chart: false, now: () => clock, stream: { write: (t) => lines.push(t) } });
    const monitor = new TrainingMonitor({ iterations: 100, label: 'GAN', view });
    for (let i = 0; i < 100; i++) {
      clock += 100; // 100 ms per iteration: 10 s in all
      await monitor.update(i, { d_loss: 0.5, g_loss: 1 / (i + 1) });
    }
    await monitor.finish();
    // start (t=0), then t=2000, 4000, ..., 10000, plus the final line.
    assert.equal(lines.length, 7, lines.join(''));
    assert.match(
      lines[lines.length - 1],
      /^GAN \[#{30}\] 100\/100 iterations\s+10\.0s\s+d_loss 0\.5000\s+g_loss 0\.0100\n$/,
    );
  });

  it('in a kernel: one output updated in place, with text/plain and text/html', async () => {
    // Stand in for tslab's writer, which is set while a notebook cell runs. Setting it needs the very exports
    // object lib/display/kernel.ts reads; an import namespace would be a copy.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, as said above
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
    const messages: Array<{
      content: { data: Record<string, string>; transient: { display_id?: string } };
      update: boolean;
    }> = [];
    jupyter.lastWriteDisplayData = (content: (typeof messages)[number]['content'], update: boolean) =>
      messages.push({ content, update });
    const stderr: string[] = [];
    let clock = 0;
    try {
      const view = new LiveView({ chart: false, now: () => clock, stream: { write: (t) => stderr.push(t) } });
      const monitor = new TrainingMonitor({ epochs: 10, label: 'AE', view });
      for (let epoch = 0; epoch < 10; epoch++) {
        clock += 1000;
        await monitor.update(epoch, { loss: 1 / (epoch + 1) });
      }
      await monitor.finish();
    } finally {
      jupyter.lastWriteDisplayData = null;
    }
    assert.deepEqual(stderr, [], 'nothing goes to stderr in a kernel');
    assert.ok(messages.length >= 2);
    assert.equal(messages[0].update, false);
    assert.ok(
      messages.slice(1).every((m) => m.update),
      'later messages update the first output',
    );
    assert.equal(new Set(messages.map((m) => m.content.transient.display_id)).size, 1, 'one display id');
    const final = messages[messages.length - 1].content.data;
    assert.match(final['text/plain'], /10\/10 epochs.*loss 0\.1000/);
    assert.match(final['text/html'], /<progress value="10" max="10"/);
  });
});
