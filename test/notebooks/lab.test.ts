/**
 * `npm run lab` serves JupyterLab from .venv with the tslab kernel: the server lists the
 * kernelspec, starts a kernel through its REST API, and that kernel evaluates 1 + 1.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startLab, type LabServer } from '../../tools';

/** Processes whose command line mentions `needle` (the kernels started from our runtime dir). */
function processesMentioning(needle: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

describe('npm run lab (JupyterLab with the tslab kernel)', () => {
  let lab: LabServer;
  let base = '';
  let token = '';
  let runtimeDir = '';
  const api = (route: string, init: RequestInit = {}): Promise<Response> => lab.api(route, init);

  before(async () => {
    lab = await startLab();
    ({ base, token, runtimeDir } = lab);
  });

  after(async () => {
    await lab?.stop();
  });

  it('lists the tslab kernelspec from .venv, starting the launcher in this checkout', async () => {
    const response = await api('/api/kernelspecs');
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      kernelspecs: Record<string, { spec: { argv: string[]; display_name: string; language: string } }>;
    };
    const tslab = body.kernelspecs.tslab;
    assert.ok(tslab, `no tslab kernel among ${Object.keys(body.kernelspecs).join(', ')}`);
    assert.equal(tslab.spec.display_name, 'TypeScript (tslab)');
    assert.equal(tslab.spec.language, 'typescript');
    assert.ok(tslab.spec.argv.includes(path.join(REPO_ROOT, 'scripts', 'tslab-kernel.js')), tslab.spec.argv.join(' '));
    // The REST answer leaves out where the spec lives; jupyter's own listing, same environment, says.
    const listing = spawnSync(path.join(REPO_ROOT, '.venv', 'bin', 'jupyter'), ['kernelspec', 'list', '--json'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        JUPYTER_PREFER_ENV_PATH: '1',
        JUPYTER_CONFIG_DIR: path.join(path.dirname(runtimeDir), 'config'),
      },
    });
    const specs = JSON.parse(listing.stdout) as { kernelspecs: Record<string, { resource_dir: string }> };
    assert.equal(
      specs.kernelspecs.tslab.resource_dir,
      path.join(REPO_ROOT, '.venv', 'share', 'jupyter', 'kernels', 'tslab'),
    );
  });

  it('serves notebooks/ as its root', async () => {
    const response = await api('/api/contents');
    const listing = (await response.json()) as { content: { name: string }[] };
    const served = listing.content
      .map((entry) => entry.name)
      .filter((name) => name.endsWith('.ipynb'))
      .sort();
    const onDisk = fs
      .readdirSync(path.join(REPO_ROOT, 'notebooks'))
      .filter((name) => name.endsWith('.ipynb'))
      .sort();
    assert.deepEqual(served, onDisk);
  });

  it('starts a tslab kernel over REST that evaluates 1 + 1 to 2, then shuts it down', async () => {
    const started = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'tslab' }) });
    assert.equal(started.status, 201, await started.clone().text());
    const { id } = (await started.json()) as { id: string };
    try {
      const evaluation = spawnSync(
        path.join(REPO_ROOT, '.venv', 'bin', 'python'),
        [path.join(__dirname, 'kernel_ws_eval.py'), base, token, id, '1 + 1'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(evaluation.status, 0, evaluation.stderr);
      const reply = JSON.parse(evaluation.stdout) as { status: string; stdout: string; results: string[] };
      assert.equal(reply.status, 'ok');
      // tslab prints an expression's value on stdout rather than as an execute_result.
      assert.equal([reply.stdout, ...reply.results].join('').trim(), '2');
    } finally {
      const deleted = await api(`/api/kernels/${id}`, { method: 'DELETE' });
      assert.equal(deleted.status, 204);
    }
    const kernels = (await (await api('/api/kernels')).json()) as unknown[];
    assert.equal(kernels.length, 0);
    // The kernel process is gone, not just forgotten: none mentions our runtime folder.
    const deadline = Date.now() + 10_000;
    while (processesMentioning(runtimeDir).length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(processesMentioning(runtimeDir), []);
  });
});
