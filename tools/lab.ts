/**
 * Starts `npm run lab` (JupyterLab from .venv with the tslab kernel) on 127.0.0.1 for tests and
 * scripts: a free port, a random token, and config/runtime folders of its own so nothing
 * user-global is read or written. `stop()` shuts it down and removes those folders.
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from './runner';

export interface LabServer {
  /** http://127.0.0.1:PORT */
  base: string;
  token: string;
  /** Jupyter's runtime folder of this server (kernel connection files live here). */
  runtimeDir: string;
  /** A request to the server's REST API with the token. */
  api(route: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export interface StartLabOptions {
  /** Folder JupyterLab serves. Default: notebooks/ (what `npm run lab` serves). */
  rootDir?: string;
  /** How long to wait for the server to answer. Default 90 s. */
  timeoutMs?: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

export async function startLab(options: StartLabOptions = {}): Promise<LabServer> {
  const token = randomBytes(16).toString('hex');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-'));
  const runtimeDir = path.join(scratch, 'runtime');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The real npm script, plus loopback, a known port and token; LAB_ROOT sets the script's root.
  const server: ChildProcess = spawn(
    'npm',
    [
      'run',
      '--silent',
      'lab',
      '--',
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--ServerApp.port_retries=0',
      '--LabApp.extension_manager=readonly',
      `--IdentityProvider.token=${token}`,
    ],
    {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...(options.rootDir ? { LAB_ROOT: path.resolve(options.rootDir) } : {}),
        JUPYTER_CONFIG_DIR: path.join(scratch, 'config'),
        JUPYTER_RUNTIME_DIR: runtimeDir,
        JUPYTERLAB_SETTINGS_DIR: path.join(scratch, 'settings'),
        JUPYTERLAB_WORKSPACES_DIR: path.join(scratch, 'workspaces'),
      },
    },
  );
  let serverLog = '';
  server.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  server.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  const api = (route: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${base}${route}`, { ...init, headers: { Authorization: `token ${token}`, ...(init.headers ?? {}) } });

  const stop = async (): Promise<void> => {
    if (server.exitCode === null) {
      try {
        await api('/api/shutdown', { method: 'POST' });
      } catch {
        // already gone
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise((resolve) => server.once('exit', resolve)),
        new Promise((resolve) => (timer = setTimeout(resolve, 15_000))),
      ]);
      clearTimeout(timer);
      if (server.exitCode === null && server.pid !== undefined) process.kill(-server.pid, 'SIGKILL');
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    if (server.exitCode !== null) {
      await stop();
      throw new Error(`jupyter lab exited with ${server.exitCode}:\n${serverLog}`);
    }
    try {
      if ((await api('/api/status')).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      const waitedSeconds = Math.round((options.timeoutMs ?? 90_000) / 1000);
      throw new Error(`jupyter lab did not answer /api/status within ${waitedSeconds} s:\n${serverLog}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return { base, token, runtimeDir, api, stop };
}
