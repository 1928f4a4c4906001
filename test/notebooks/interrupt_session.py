"""Interrupts training cells in a real tslab kernel, as JupyterLab's Kernel > Interrupt does.

    python interrupt_session.py <notebook folder> <seconds before the interrupt>

Starts the project's tslab kernel (the kernelspec in this .venv) in the notebook folder and, in
one session: runs a set-up cell; interrupts (SIGINT, jupyter_client's interrupt_kernel) a long
`fit`, a loop of compiled steps written in a cell, a long `trainGan` and a wait; checks after each;
reruns training (once with the learning rate at 0, to see where it starts); then runs 01-dcgan's
own cells up to its training loop, interrupts that loop, and reruns it. Prints one JSON object
with each cell's status, stdout, stderr and wall times. Used by test/notebooks/interrupt.test.ts.
"""
import json
import os
import sys
import time

from jupyter_client.manager import KernelManager

notebook_dir, delay = sys.argv[1], float(sys.argv[2])

SETUP = """
import { tf, fit, compiled, createDcgan, trainGan } from '../lib';
import { buildConvAutoencoder } from '../lib/models';
const model = buildConvAutoencoder({ seed: 1 });
const x = tf.randomUniform([512, 28, 28, 1], 0, 1, 'float32', 1);
const libGan = createDcgan({ seed: 1 });
const ganImages = tf.randomUniform([64, 28, 28, 1], -1, 1, 'float32', 2) as tf.Tensor4D;
const counters = { epochs: 0, steps: 0, iterations: 0 };
// A 10 ms timer: while training holds the event loop it cannot fire, so the gaps between its ticks
// are the stretches between the loop's turns. Recorded while `timing.on`, with each step's end.
const timing = { on: false, last: 0, gaps: [] as number[], stepEnds: [] as number[] };
const ticker = setInterval(() => {
  const now = performance.now();
  if (timing.on && timing.last > 0) timing.gaps.push(now - timing.last);
  timing.last = now;
}, 10);
const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
// One epoch and one GAN iteration first: the graphs are compiled and the optimizers' slots exist
// from then on, so the tensor count is steady.
await fit(model, x, { epochs: 1, batchSize: 64, seed: 1, progress: false });
await trainGan(libGan, ganImages, { iterations: 1, batchSize: 16, seed: 1, progress: false });
const tensorsBefore = tf.memory().numTensors;
const weightsBeforeTraining = weightsOf(model);
console.log('ready', tensorsBefore);
"""
TRAIN = """
counters.epochs = 0;
timing.gaps = [];
timing.stepEnds = [];
timing.last = 0;
timing.on = true;
try {
  await fit(model, x, {
    epochs: 400, batchSize: 64, seed: 1, progress: false,
    onEpoch: () => { counters.epochs += 1; },
    onBatch: () => { timing.stepEnds.push(performance.now()); },
  });
} finally {
  timing.on = false;
}
"""
CHECK = """
const weightsAfterInterrupt = weightsOf(model);
const changed = weightsAfterInterrupt.some((w, i) => w.some((v, j) => v !== weightsBeforeTraining[i][j]));
const stepTimes = timing.stepEnds.slice(1).map((end, i) => end - timing.stepEnds[i]);
console.log(JSON.stringify({
  epochs: counters.epochs, leaked: tf.memory().numTensors - tensorsBefore, changed: changed,
  gaps: timing.gaps, steps: stepTimes,
}));
"""
# The rerun starts from the weights the model showed after the interrupt: with the learning rate at
# 0, one step over all of x changes no weight, and its loss is the loss of those weights.
CARRY_ON = """
const aeOptimizer = model.optimizer as unknown as { learningRate: number };
const rate = aeOptimizer.learningRate;
const lossAfterInterrupt = tf.tidy(() => (model.evaluate(x, x, { batchSize: 512 }) as tf.Scalar).dataSync()[0]);
aeOptimizer.learningRate = 0;
const carried = await fit(model, x, { epochs: 1, batchSize: 512, seed: 4, progress: false });
aeOptimizer.learningRate = rate;
const unchanged = weightsOf(model).every((w, i) => w.every((v, j) => Object.is(v, weightsAfterInterrupt[i][j])));
console.log(JSON.stringify({
  unchanged: unchanged, lossAfterInterrupt: lossAfterInterrupt, rerunLoss: carried.loss[0],
  leaked: tf.memory().numTensors - tensorsBefore,
}));
"""
LOOP = """
counters.steps = 0;
const aeStep = compiled(model, { seed: 3 });
for (let i = 0; i < 100000; i++) {
  const batch = x.slice(0, 64);
  try {
    await aeStep.trainOnBatch(batch, batch);
  } finally {
    batch.dispose();
  }
  counters.steps += 1;
}
"""
LOOP_CHECK = """
console.log(JSON.stringify({ steps: counters.steps, leaked: tf.memory().numTensors - tensorsBefore }));
"""
GAN = """
counters.iterations = 0;
await trainGan(libGan, ganImages, {
  iterations: 100000, batchSize: 16, seed: 1, progress: false,
  onIteration: () => { counters.iterations += 1; },
});
"""
GAN_CHECK = """
console.log(JSON.stringify({ iterations: counters.iterations, leaked: tf.memory().numTensors - tensorsBefore }));
"""
WAIT = """
await new Promise((resolve) => setTimeout(resolve, 30000));
"""
RERUN = """
counters.epochs = 0;
await fit(model, x, { epochs: 2, batchSize: 64, seed: 2, progress: false, onEpoch: () => { counters.epochs += 1; } });
clearInterval(ticker);
console.log(JSON.stringify({ epochs: counters.epochs, leaked: tf.memory().numTensors - tensorsBefore }));
"""
# 01-dcgan's own loop: its cells as committed, with a loop long enough to interrupt.
DCGAN_SETTINGS = "iterations = 100000;\nsampleInterval = 100000;"
DCGAN_COUNT = "const dcganTensorsBefore = tf.memory().numTensors;"
DCGAN_CHECK = """
const seen = monitor.history.iteration;
console.log(JSON.stringify({
  done: monitor.done, iterations: monitor.total, leaked: tf.memory().numTensors - dcganTensorsBefore,
  contiguous: seen.every((iteration, i) => iteration === i),
}));
"""


def run(client, code, interrupt_after=None, manager=None, timeout=180):
    msg_id = client.execute(code, stop_on_error=True)
    started = time.monotonic()
    interrupted_at = None
    out = {"stdout": "", "stderr": "", "status": None, "error": None}
    idle = False
    while out["status"] is None or not idle:
        if interrupt_after is not None and interrupted_at is None and time.monotonic() - started >= interrupt_after:
            manager.interrupt_kernel()
            interrupted_at = time.monotonic()
        if time.monotonic() - started > timeout:
            out["status"] = "timeout"
            break
        try:
            message = client.get_iopub_msg(timeout=0.01)
        except Exception:  # queue.Empty: nothing yet
            message = None
        if message is not None and message.get("parent_header", {}).get("msg_id") == msg_id:
            kind = message["header"]["msg_type"]
            if kind == "stream":
                out[message["content"]["name"]] += message["content"]["text"]
            elif kind == "error":
                out["error"] = message["content"]
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                idle = True
        try:
            reply = client.get_shell_msg(timeout=0.01)
            if reply["parent_header"].get("msg_id") == msg_id:
                out["status"] = reply["content"]["status"]
                out["ended_after_interrupt_s"] = None if interrupted_at is None else time.monotonic() - interrupted_at
        except Exception:
            pass
    out["wall_s"] = time.monotonic() - started
    return out


def dcgan_cells():
    """01-dcgan's code cells up to its loop: (cells before the loop, the monitor cell, the loop cell)."""
    with open(os.path.join(notebook_dir, "01-dcgan.ipynb"), encoding="utf-8") as handle:
        cells = [cell for cell in json.load(handle)["cells"] if cell["cell_type"] == "code"]
    source = ["".join(cell["source"]) for cell in cells]
    tags = [cell.get("metadata", {}).get("tags", []) for cell in cells]
    loop = [i for i, cell_tags in enumerate(tags) if "train-loop" in cell_tags]
    parameters = tags.index(["parameters"])
    before = source[: parameters + 1] + [DCGAN_SETTINGS] + source[parameters + 1 : loop[0]]
    return before, source[loop[0]], source[loop[1]]


manager = KernelManager(kernel_name="tslab")
manager.start_kernel(cwd=notebook_dir)
client = manager.client()
client.start_channels()
try:
    client.wait_for_ready(timeout=120)
    result = {"setup": run(client, SETUP)}

    def interrupted(code, after, then):
        """Runs `code`, interrupts it after `after` seconds, then runs `then`: both cells' results."""
        stopped = run(client, code, interrupt_after=after, manager=manager)
        # tslab cancels requests that arrive within 200 ms of a failed cell (its queue reset).
        time.sleep(0.5)
        return stopped, run(client, then)

    result["train"], result["check"] = interrupted(TRAIN, delay, CHECK)
    result["carryOn"] = run(client, CARRY_ON)
    result["loop"], result["loopCheck"] = interrupted(LOOP, delay / 2, LOOP_CHECK)
    result["gan"], result["ganCheck"] = interrupted(GAN, delay / 2, GAN_CHECK)
    result["wait"], result["rerun"] = interrupted(WAIT, 1, RERUN)

    # 01-dcgan in the same kernel (the names above stay clear of its own).
    before_loop, monitor_cell, loop_cell = dcgan_cells()
    result["dcganSetup"] = [run(client, code) for code in before_loop]
    result["dcganMonitor"] = run(client, monitor_cell + "\n" + DCGAN_COUNT)
    result["dcganLoop"], result["dcganCheck"] = interrupted(loop_cell, delay / 2, DCGAN_CHECK)
    # Rerunning the loop cell carries on where it stopped.
    result["dcganRerun"], result["dcganRerunCheck"] = interrupted(loop_cell, delay / 2, DCGAN_CHECK)
    print(json.dumps(result))
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
