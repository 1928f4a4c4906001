"""Interrupts a training cell in a real tslab kernel, as JupyterLab's Kernel > Interrupt does.

    python interrupt_session.py <notebook folder> <seconds before the interrupt>

Starts the project's tslab kernel (the kernelspec in this .venv) in the notebook folder, runs a
set-up cell, starts a long training cell, sends the interrupt (SIGINT, jupyter_client's
interrupt_kernel) after the given seconds, and then runs a check cell and a short rerun.
Prints one JSON object with each cell's status, stdout, stderr and wall times.
Used by test/notebooks/interrupt.test.ts.
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager

notebook_dir, delay = sys.argv[1], float(sys.argv[2])

SETUP = """
import { tf, fit, compiled } from '../lib';
import { buildConvAutoencoder } from '../lib/models';
const model = buildConvAutoencoder({ seed: 1 });
const x = tf.randomUniform([512, 28, 28, 1], 0, 1, 'float32', 1);
const counters = { epochs: 0, ticks: 0, steps: 0 };
const ticker = setInterval(() => { counters.ticks += 1; }, 100);
// One epoch first: the optimizer's slots exist from then on, so the tensor count is steady.
await fit(model, x, { epochs: 1, batchSize: 64, seed: 1, progress: false });
const tensorsBefore = tf.memory().numTensors;
console.log('ready', tensorsBefore);
"""
TRAIN = """
counters.epochs = 0;
counters.ticks = 0;
await fit(model, x, { epochs: 400, batchSize: 64, seed: 1, progress: false, onEpoch: () => { counters.epochs += 1; } });
"""
CHECK = """
console.log(JSON.stringify({ epochs: counters.epochs, ticks: counters.ticks, leaked: tf.memory().numTensors - tensorsBefore }));
"""
LOOP = """
counters.steps = 0;
const step = compiled(model, { seed: 3 });
for (let i = 0; i < 100000; i++) {
  const batch = x.slice(0, 64);
  try {
    await step.trainOnBatch(batch, batch);
  } finally {
    batch.dispose();
  }
  counters.steps += 1;
}
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


def run(client, code, interrupt_after=None, manager=None, timeout=120):
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
            message = client.get_iopub_msg(timeout=0.05)
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


manager = KernelManager(kernel_name="tslab")
manager.start_kernel(cwd=notebook_dir)
client = manager.client()
client.start_channels()
try:
    client.wait_for_ready(timeout=120)
    result = {"setup": run(client, SETUP)}
    result["train"] = run(client, TRAIN, interrupt_after=delay, manager=manager)
    # tslab cancels requests that arrive within 200 ms of a failed cell (its queue reset).
    time.sleep(0.5)
    result["check"] = run(client, CHECK)
    result["loop"] = run(client, LOOP, interrupt_after=delay / 2, manager=manager)
    time.sleep(0.5)
    result["loopCheck"] = run(client, "console.log(JSON.stringify({ steps: counters.steps, leaked: tf.memory().numTensors - tensorsBefore }));")
    result["wait"] = run(client, WAIT, interrupt_after=1, manager=manager)
    time.sleep(0.5)
    result["rerun"] = run(client, RERUN)
    print(json.dumps(result))
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
