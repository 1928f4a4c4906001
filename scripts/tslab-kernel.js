#!/usr/bin/env node
/**
 * Starts the project's tslab kernel (the kernelspec in .venv runs this file) so notebooks in
 * notebooks/ can `import { ... } from '../lib'`, the library's TypeScript sources.
 *
 * Stock tslab 1.0 compiles every .ts file a notebook imports itself, with `rootDir` set to the
 * kernel's working directory (the notebook's folder). A source outside it, such as ../lib,
 * fails with "File '.../lib/index.ts' is not under 'rootDir'". Two small hooks fix that:
 *   1. Type level: module resolution marks project sources outside the notebook folder as
 *      external-library imports. TypeScript then type-checks against them but neither emits
 *      them nor applies the rootDir check, like a package in node_modules.
 *   2. Run time: tsx's CommonJS hook lets Node require those .ts files (and folder index.ts)
 *      directly, as the tests and scripts do.
 * A third hook (3) serialises tslab's ZeroMQ sends, and a fourth (4, at the end) makes Kernel >
 * Interrupt stop training cleanly; see there.
 * Plain JavaScript, because it must start before any TypeScript loader exists.
 */
'use strict';
const path = require('path');

const repoRoot = path.resolve(__dirname, '..');
const tslabDir = path.join(repoRoot, 'node_modules', 'tslab');
// The very TypeScript instance tslab uses (its own pinned 5.0.4), so the patch reaches it.
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));

require('tsx/cjs/api').register();

/** A TypeScript source of this project that tslab should not compile itself. */
function isProjectSourceOutsideNotebookFolder(fileName) {
  const relativeToRepo = path.relative(repoRoot, fileName);
  if (relativeToRepo.startsWith('..') || path.isAbsolute(relativeToRepo)) return false;
  if (relativeToRepo.split(path.sep).includes('node_modules')) return false;
  if (!/\.tsx?$/.test(fileName) || fileName.endsWith('.d.ts')) return false;
  const relativeToNotebooks = path.relative(process.cwd(), fileName);
  return relativeToNotebooks.startsWith('..');
}

/** tslab's compiler host, with module resolution that marks those sources as external. */
function createHostWithProjectSources(...args) {
  const host = ts.createWatchCompilerHost(...args);
  const cache = ts.createModuleResolutionCache(host.getCurrentDirectory(), (name) => name, args[1]);
  host.resolveModuleNames = (moduleNames, containingFile, _reused, redirectedReference, options) =>
    moduleNames.map((moduleName) => {
      const { resolvedModule } = ts.resolveModuleName(
        moduleName,
        containingFile,
        options,
        host,
        cache,
        redirectedReference,
      );
      if (resolvedModule && isProjectSourceOutsideNotebookFolder(resolvedModule.resolvedFileName)) {
        return { ...resolvedModule, isExternalLibraryImport: true };
      }
      return resolvedModule;
    });
  return host;
}

// The TypeScript namespace's members are read-only getters, so tslab gets a copy of it with
// its own createWatchCompilerHost instead: hand that copy to tslab's require calls.
const { createWatchCompilerHost: _replaced, ...descriptors } = Object.getOwnPropertyDescriptors(ts);
const tsForTslab = Object.defineProperties({}, descriptors);
Object.defineProperty(tsForTslab, 'createWatchCompilerHost', { value: createHostWithProjectSources, enumerable: true });
const Module = require('module');
const originalLoad = Module._load;
Module._load = function loadWithPatchedTypeScript(request, parent, isMain) {
  if (
    request === '@tslab/typescript-for-tslab' &&
    parent &&
    parent.filename &&
    parent.filename.startsWith(tslabDir + path.sep)
  ) {
    return tsForTslab;
  }
  return originalLoad.call(this, request, parent, isMain);
};

// 3. One message at a time per ZeroMQ socket. tslab sends every Jupyter message with a bare
//    socket.send() that it never awaits. zeromq 6 allows one send in flight per socket and throws
//    "Socket is busy writing" at a second one. A send that cannot finish at once (seen after a
//    couple of minutes of training with a live progress bar and chart) then makes the next
//    display update throw inside the training cell, which fails with no message. Chaining each
//    socket's sends keeps them in order and never overlapping.
const zmq = require(require.resolve('zeromq', { paths: [tslabDir] }));
const socketPrototype = Object.getPrototypeOf(zmq.Publisher.prototype);
const sendOneAtATime = socketPrototype.send;
const pendingSends = new WeakMap();
// The native method is read-only but configurable, so it is redefined rather than assigned.
Object.defineProperty(socketPrototype, 'send', {
  configurable: true,
  writable: false,
  value: function send(message) {
    const previous = pendingSends.get(this) || Promise.resolve();
    const sent = previous.then(() => sendOneAtATime.call(this, message));
    // tslab never looks at the result: report a failed send instead of leaving an unhandled rejection.
    pendingSends.set(
      this,
      sent.catch((error) => process.stderr.write(`tslab kernel: a Jupyter message was not sent: ${error}\n`)),
    );
    return sent;
  },
});

// And no silent drops: a PUB socket discards messages once 1,000 wait for a slow reader, which
// could lose a progress bar's or a chart's final update. tslab creates its IOPub socket with
// `new zmq.Publisher()` after this runs, so it gets one without that limit.
class UnlimitedPublisher extends zmq.Publisher {
  constructor(options) {
    super({ sendHighWaterMark: 0, ...options });
  }
}
zmq.Publisher = UnlimitedPublisher;

// 4. Kernel > Interrupt. tslab answers SIGINT by rejecting the promise the cell awaits and
//    printing that error's stack; the work itself goes on in the background. The library's
//    training steps check a shared request flag (lib/train/interrupt.ts) and stop at the next
//    batch boundary with a one-line TrainingInterrupted error, keeping the weights trained so
//    far. So an interrupt while training is running sets that flag and lets the loop end the
//    cell itself; if the cell has not ended 3 s later (a loop that never steps), or at a second
//    interrupt, tslab's own interrupt runs. Either way the cell shows one readable line. The
//    flag is cleared when the next cell starts.
const INTERRUPT_STATE = Symbol.for('gan-notebooks.interrupt');
function interruptState() {
  return (globalThis[INTERRUPT_STATE] = globalThis[INTERRUPT_STATE] || { requested: false, lastStepAt: 0 });
}
const ONE_LINE_ERRORS = new Set(['TrainingInterrupted', 'SettingError']);
const TRAINING_RECENT_MS = 1500;
const GRACE_MS = 3000;
const executorModule = require(path.join(tslabDir, 'dist', 'executor.js'));
const createExecutor = executorModule.createExecutor;
executorModule.createExecutor = function createInterruptibleExecutor(rootDir, convs, consoleLike) {
  const readableConsole = {
    ...consoleLike,
    error(...args) {
      const [first] = args;
      // Errors whose message is the whole story print as that message alone: an interrupted training
      // step, and a bad setting stopped by checkSettings (lib/settings.ts) before anything trains.
      if (args.length === 1 && first instanceof Error && ONE_LINE_ERRORS.has(first.name)) {
        return consoleLike.error(first.message);
      }
      if (args.length === 1 && first instanceof Error && first.message === 'Interrupted asynchronously') {
        return consoleLike.error(
          'Interrupted: the cell stopped waiting. Work it started without awaiting it may still be running.',
        );
      }
      return consoleLike.error(...args);
    },
  };
  const executor = createExecutor(rootDir, convs, readableConsole);
  let running = false;
  let hardInterrupt;
  const cancelHardInterrupt = () => {
    clearTimeout(hardInterrupt);
    hardInterrupt = undefined;
  };
  return {
    ...executor,
    async execute(src) {
      interruptState().requested = false;
      interruptState().loopChecks = false;
      running = true;
      try {
        return await executor.execute(src);
      } finally {
        running = false;
        cancelHardInterrupt();
      }
    },
    interrupt() {
      const state = interruptState();
      state.requested = true;
      const training = Date.now() - state.lastStepAt < TRAINING_RECENT_MS;
      if (!running || !training || hardInterrupt) {
        cancelHardInterrupt();
        executor.interrupt();
        return;
      }
      hardInterrupt = setTimeout(() => {
        hardInterrupt = undefined;
        if (running) executor.interrupt();
      }, GRACE_MS);
    },
  };
};

require(path.join(tslabDir, 'dist', 'main.js')).main();
