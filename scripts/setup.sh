#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Debian packages, the Python virtual environment,
# npm packages, and the native TensorFlow backend for @tensorflow/tfjs-node.
#
#   bash scripts/setup.sh              # what the notebooks need
#   bash scripts/setup.sh --browser    # also Chromium, for the browser checks in the tests
#
# Native TensorFlow: tfjs-node's own install script downloads libtensorflow; where that download
# works its library is used. Where it fails (no internet, only package registries), the
# TensorFlow C library is taken from the tensorflow-cpu wheel that requirements.txt installs from
# PyPI, staged where tfjs-node's install script looks (deps/lib/libtensorflow.so.<version>).
# Either way the binding is compiled from its sources with one small patch (step 4).
# A second run finds everything working and finishes in seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START=$SECONDS
WANT_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) WANT_BROWSER=1 ;;
    *) echo "setup: unknown option $arg (expected --browser)" >&2; exit 2 ;;
  esac
done
say() { printf '[setup] %s\n' "$*"; }
sha() { sha256sum "$1" | cut -c1-64; }

# --- 1. Debian packages: compilers for the native bindings, Cairo/Pango and fonts for canvas. --
# fonts-nanum: Korean in the PNGs canvas draws, and the font exported Korean pages embed (run_notebooks.py).
APT_PACKAGES=(build-essential python3 pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev
  fonts-nanum)
[ "$WANT_BROWSER" = 1 ] && APT_PACKAGES+=(chromium fonts-dejavu-core)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. Python virtual environment (Jupyter tools, and TensorFlow for its C library and Keras). -
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$(sha requirements.txt)" ]; then
  say "creating the Python virtual environment .venv from requirements.txt (pinned)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
  sha requirements.txt > .venv/.requirements.sha256
fi

# --- 3. npm packages, install scripts deferred so tfjs-node can be handled on its own. ---------
TFJS_NODE=node_modules/@tensorflow/tfjs-node
if [ ! -f node_modules/.setup-lock.sha256 ] || [ "$(cat node_modules/.setup-lock.sha256)" != "$(sha package-lock.json)" ]; then
  say "installing npm packages from package-lock.json"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  # Every other package's install script (canvas, zeromq, esbuild, ...), now.
  others=$(npm query ':attr(scripts, [install]), :attr(scripts, [postinstall])' 2>/dev/null |
    node -e 'const p=JSON.parse(require("fs").readFileSync(0,"utf8"));
             console.log([...new Set(p.map(x=>x.name))].filter(n=>n!=="@tensorflow/tfjs-node").join(" "))')
  if [ -n "$others" ]; then
    say "running install scripts: $others"
    # shellcheck disable=SC2086 # a list of package names
    npm rebuild $others --loglevel=error >/dev/null
  fi
  sha package-lock.json > node_modules/.setup-lock.sha256
fi

# --- 4. Native TensorFlow for tfjs-node. ------------------------------------------------------
# The binding is always built from source with scripts/tfjs-node/binding-owned-memory.patch: stock
# tfjs-node shares JS typed arrays' memory with TensorFlow, and TensorFlow can release it on one of
# its own threads, which corrupts the heap (scripts/tfjs-node/README.md). The C library comes from
# tfjs-node's own download where that works, else from the tensorflow-cpu wheel.
LIBTF_VERSION=$(node -p 'require("./'"$TFJS_NODE"'/scripts/deps-constants.js").LIBTENSORFLOW_VERSION')
BINDING_PATCH=scripts/tfjs-node/binding-owned-memory.patch
# A second, small patch lets a session take a ConfigProto (compiled()'s mixed_bfloat16 precision).
SESSION_PATCH=scripts/tfjs-node/session-config.patch
native_works() { node -e 'require("@tensorflow/tfjs-node")' >/dev/null 2>&1; }
# The session-config patch, by behaviour: a bad config is refused as such (stock tfjs-node ignores it).
native_takes_config() {
  TF_CPP_MIN_LOG_LEVEL=3 node -e '
    const binding = require("@tensorflow/tfjs-node").backend().binding;
    try { binding.loadSavedModel("/nonexistent", "serve", new Uint8Array([255])); } catch (error) {
      process.exit(/session config/.test(error.message) ? 0 : 1);
    }
    process.exit(1);' >/dev/null 2>&1
}
PROBE_LOG=/tmp/tfjs-node-probe.$$.log
# The patched binding copies JS data: lib/backend.ts's probe tells it from the stock one by behaviour.
native_safe() {
  TF_CPP_MIN_LOG_LEVEL=3 node --import tsx -e '
    const { bindingCopiesJsData } = require("./lib/backend");
    process.exit(bindingCopiesJsData(require("@tensorflow/tfjs-node")) ? 0 : 1);' >/dev/null 2>"$PROBE_LOG"
}

patch_binding_sources() {
  local patch_file marker
  for patch_file in "$BINDING_PATCH" "$SESSION_PATCH"; do
    marker=$([ "$patch_file" = "$BINDING_PATCH" ] && echo 'gan-notebooks patch' || echo 'gan-notebooks session config')
    if grep -q "$marker" "$TFJS_NODE/binding/tfjs_backend.cc"; then continue; fi
    say "patching the tfjs-node binding sources ($patch_file)"
    patch --quiet --forward -p1 -d "$TFJS_NODE" < "$patch_file" ||
      { echo "setup: $patch_file does not apply to $TFJS_NODE/binding (another tfjs-node version?)" >&2; exit 1; }
  done
}

stage_from_wheel() {
  local site tfdir version
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  tfdir="$site/tensorflow"
  for need in libtensorflow_cc.so.2 libtensorflow_framework.so.2 include/tensorflow/c/c_api.h; do
    if [ ! -e "$tfdir/$need" ]; then
      echo "setup: the TensorFlow wheel in .venv lacks $need ($tfdir/$need); cannot stage the C library." >&2
      exit 1
    fi
  done
  version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("tensorflow-cpu"))')
  say "staging the TensorFlow $version C library from the tensorflow-cpu wheel into $TFJS_NODE/deps"
  rm -rf "$TFJS_NODE/deps"
  mkdir -p "$TFJS_NODE/deps/lib" "$TFJS_NODE/deps/include"
  # Hard links when possible: the libraries are 680 MB and already on this disk.
  for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
    cp -l "$tfdir/$lib" "$TFJS_NODE/deps/lib/" 2>/dev/null || cp "$tfdir/$lib" "$TFJS_NODE/deps/lib/"
  done
  ( cd "$TFJS_NODE/deps/lib"
    ln -sf libtensorflow_cc.so.2 "libtensorflow.so.$LIBTF_VERSION"  # what install.js checks
    ln -sf libtensorflow_cc.so.2 libtensorflow.so                    # what -ltensorflow links
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so )
  # The headers the binding includes: the C and eager C APIs and the string type they use.
  for dir in tensorflow/c tensorflow/core/platform tsl/platform xla/tsl/c; do
    if [ -d "$tfdir/include/$dir" ]; then
      mkdir -p "$TFJS_NODE/deps/include/$dir"
      cp -r "$tfdir/include/$dir/." "$TFJS_NODE/deps/include/$dir/"
    fi
  done
  echo "tensorflow-cpu $version wheel from PyPI (libtensorflow_cc.so.2), staged by scripts/setup.sh" > "$TFJS_NODE/deps/SOURCE.txt"
}

# tfjs-node's install script, compiling the (patched) binding: it downloads libtensorflow first
# unless deps/lib holds it, and --build-from-source stops node-pre-gyp fetching the stock binary.
build_binding() {
  npm rebuild @tensorflow/tfjs-node --build-from-source --foreground-scripts --loglevel=error >"$1" 2>&1 && native_works
}

if native_works && native_safe && native_takes_config; then
  rm -f "$PROBE_LOG"
else
  patch_binding_sources
  DOWNLOAD_LOG=/tmp/tfjs-node-download.$$.log
  BUILD_LOG=/tmp/tfjs-node-build.$$.log
  LIBTF_STAGED="$TFJS_NODE/deps/lib/libtensorflow.so.$LIBTF_VERSION"
  built=0
  if [ ! -e "$LIBTF_STAGED" ]; then
    say "building the native backend: trying tfjs-node's own libtensorflow download first"
    if build_binding "$DOWNLOAD_LOG"; then
      built=1
      say "tfjs-node downloaded libtensorflow itself; binding compiled from the patched sources"
    elif [ -e "$LIBTF_STAGED" ]; then
      # The download worked and the compile failed: a build problem, not a network one.
      tail -40 "$DOWNLOAD_LOG" >&2
      echo "setup: compiling the patched tfjs-node binding against the downloaded libtensorflow failed (log above)." >&2
      exit 1
    else
      why=$(grep -m1 -oE 'ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|[0-9]{3} [A-Z][a-z]+' "$DOWNLOAD_LOG" ||
        echo "see $DOWNLOAD_LOG")
      say "tfjs-node's download failed ($why); using the TensorFlow wheel from PyPI instead"
      stage_from_wheel
    fi
  fi
  if [ "$built" = 0 ]; then
    source_text=$(cat "$TFJS_NODE/deps/SOURCE.txt" 2>/dev/null || echo "libtensorflow $LIBTF_VERSION")
    say "compiling the patched tfjs-node binding against $source_text (node-gyp)"
    if ! build_binding "$BUILD_LOG"; then
      tail -40 "$BUILD_LOG" >&2
      echo "setup: building @tensorflow/tfjs-node against the staged TensorFlow failed (log above)." >&2
      exit 1
    fi
  fi
  if ! native_safe; then
    cat "$PROBE_LOG" >&2
    echo "setup: the rebuilt tfjs-node binding does not pass the copy check (lib/backend.ts bindingCopiesJsData;" \
      "its output above): was $BINDING_PATCH applied?" >&2
    exit 1
  fi
  if ! native_takes_config; then
    echo "setup: the rebuilt tfjs-node binding ignores a session config: was $SESSION_PATCH applied?" >&2
    exit 1
  fi
  rm -f "$BUILD_LOG" "$DOWNLOAD_LOG" "$PROBE_LOG"
fi

# --- 5. The tslab kernelspec, inside .venv (never the user-global Jupyter folders). ------------
# JupyterLab and nbclient in .venv find kernels in .venv/share/jupyter/kernels; the spec starts
# this checkout's own node_modules tslab through scripts/tslab-kernel.js (which lets notebooks
# import the library's TypeScript from '../lib'), so tslab and its TypeScript are the versions
# package-lock.json pins. Rewritten only when its content would change (a moved checkout).
KERNEL_DIR=.venv/share/jupyter/kernels/tslab
kernel_json=$(node -e '
  const [launcher] = process.argv.slice(1);
  process.stdout.write(JSON.stringify({
    argv: ["node", launcher, "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript (tslab)",
    language: "typescript",
    env: { TF_CPP_MIN_LOG_LEVEL: "1" },
  }, null, 1) + "\n");' "$ROOT/scripts/tslab-kernel.js")
if [ "$(cat "$KERNEL_DIR/kernel.json" 2>/dev/null)" != "$kernel_json" ]; then
  say "installing the tslab kernelspec into $KERNEL_DIR"
  staging=$(mktemp -d); chmod 755 "$staging"
  printf '%s\n' "$kernel_json" > "$staging/kernel.json"
  .venv/bin/jupyter kernelspec install --sys-prefix --name tslab --replace "$staging" >/dev/null 2>&1 ||
    { echo "setup: jupyter kernelspec install failed for the tslab kernel" >&2; rm -rf "$staging"; exit 1; }
  rm -rf "$staging"
fi

node_modules/.bin/tsx scripts/check-backend.ts
say "done in $((SECONDS - START)) s"
