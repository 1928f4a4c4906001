/**
 * Kernel > Interrupt during training, through a real tslab kernel (jupyter_client's
 * interrupt_kernel sends SIGINT, as JupyterLab does): the training cell ends within seconds with
 * one readable line, fewer epochs ran than asked, no tensor is left behind, timers kept ticking
 * during training, a loop written in a cell stops too, and training runs again afterwards.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../tools';

interface CellResult {
  status: string;
  stdout: string;
  stderr: string;
  ended_after_interrupt_s: number | null;
  wall_s: number;
}

describe('interrupting training in the tslab kernel', () => {
  const title =
    'stops fit and a hand-written compiled loop at the next batch, keeps the weights, leaks nothing, ' +
    'and trains again';
  it(title, () => {
    const delaySeconds = 5;
    const run = spawnSync(
      path.join(REPO_ROOT, '.venv/bin/python'),
      [path.join(__dirname, 'interrupt_session.py'), path.join(REPO_ROOT, 'notebooks'), String(delaySeconds)],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    assert.equal(run.status, 0, `interrupt_session.py failed:\n${run.stderr}`);
    const cells = JSON.parse(run.stdout) as Record<string, CellResult>;
    const json = (cell: CellResult) =>
      JSON.parse(cell.stdout.trim().split('\n').pop() as string) as Record<string, number>;

    assert.equal(cells.setup.status, 'ok', cells.setup.stderr);
    const { train } = cells;
    assert.equal(train.status, 'error', 'an interrupted cell ends as failed, so Run All stops there');
    assert.ok(
      train.ended_after_interrupt_s !== null && train.ended_after_interrupt_s < 5,
      `ended ${train.ended_after_interrupt_s} s after the interrupt`,
    );
    assert.match(
      train.stderr,
      new RegExp(
        /^fit: training interrupted in epoch \d+ of 400; /.source +
          /"conv_autoencoder" keeps the weights of the last finished batch/.source,
      ),
    );
    assert.equal(train.stderr.trim().split('\n').length, 1, `one line, no stack trace:\n${train.stderr}`);

    const check = json(cells.check);
    assert.ok(check.epochs > 0 && check.epochs < 400, `epochs run before the interrupt: ${check.epochs}`);
    assert.equal(check.leaked, 0, 'tf.memory().numTensors is back where it was');
    // A 100 ms timer during ~5 s of training: starved, it would not tick at all.
    assert.ok(check.ticks >= delaySeconds * 4, `timer ticks during training: ${check.ticks}`);

    const { loop } = cells;
    assert.equal(loop.status, 'error');
    assert.ok(loop.ended_after_interrupt_s !== null && loop.ended_after_interrupt_s < 5);
    assert.match(
      loop.stderr,
      new RegExp(
        /^Training interrupted: "conv_autoencoder" and the models that share its weights /.source +
          /keep the weights of their last finished step/.source,
      ),
    );
    assert.equal(loop.stderr.trim().split('\n').length, 1, loop.stderr);
    const loopCheck = json(cells.loopCheck);
    assert.ok(loopCheck.steps > 0 && loopCheck.steps < 100000);
    assert.equal(loopCheck.leaked, 0);

    assert.equal(cells.wait.status, 'error');
    assert.equal(
      cells.wait.stderr.trim(),
      'Interrupted: the cell stopped waiting. Work it started without awaiting it may still be running.',
    );

    assert.equal(cells.rerun.status, 'ok', cells.rerun.stderr);
    assert.deepEqual(json(cells.rerun), { epochs: 2, leaked: 0 });
  });
});
