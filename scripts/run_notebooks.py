"""Executes notebooks with nbclient on the tslab kernel and exports them to standalone HTML.

The TypeScript entry point (scripts/run-notebooks.ts, tools/runner.ts) decides what runs:
it reads the profiles, validates and injects the parameters, and sends a plan as JSON on stdin:

    {"kernelName": "tslab", "cellTimeoutSeconds": 120, "startupTimeoutSeconds": 60,
     "notebooks": [{"name": "00-setup-check.ipynb", "notebook": "<nbformat 4 JSON text>",
                    "cwd": "/abs/notebooks", "executedPath": "/abs/out.ipynb", "htmlPath": "/abs/out.html"}]}

It answers with one JSON line per event on file descriptor 3 (stdout and stderr stay with the
kernels, whose own chatter would otherwise corrupt the protocol):

    {"event": "start", "name": ...}
    {"event": "done", "name": ..., "seconds": 3.2, "status": "ok" | "error" | "timeout" | "dead-kernel"
     | "kernel-start", "failure": {...} (absent when ok)}

Failures carry the 0-based cell index in the executed notebook, the error text and cellSeconds
(from that cell's start until the failure was noticed); the runner turns them into sentences.
Every notebook is written out, failed ones too, so the executed copy shows where it stopped.
"notes" (absent when none) are warnings about the export.

The HTML is offline: the template in scripts/nbconvert/offline/ leaves out every script nbconvert
would fetch from a CDN, and pages with interactive charts get vega and vega-lite inlined from the
files the plan names in "offlineScripts" (from the project's node_modules).
"""
import asyncio
import json
import os
import re
import signal
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbconvert import HTMLExporter

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbconvert")
VEGA_LITE_MIME = "application/vnd.vegalite.v5+json"
# TeX the way Jupyter markdown writes it: $...$, $$...$$, \(...\), \[...\], \begin{...}.
TEX_MATH = re.compile(r"(?<![\\$])\$\$?[^$\s][^$]*?\$|\\\(|\\\[|\\begin\{")


def strip_ansi(text):
    return ANSI_ESCAPE.sub("", text)


def write_atomically(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def first_line(source):
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def cell_error_text(cell):
    """What the cell wrote to stderr and any error outputs: where tslab puts its messages."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            parts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            parts.append("\n".join(output.get("traceback", [])) or f"{output.get('ename')}: {output.get('evalue')}")
    return strip_ansi("".join(parts)).strip()


async def exit_status(client):
    """The dead kernel's exit code (negative: killed by that signal), if the provisioner knows it."""
    provisioner = getattr(client.km, "provisioner", None)
    if provisioner is None:
        return None
    try:
        return await provisioner.poll()
    except Exception:  # a provisioner without a process to poll
        return None


def describe_exit(code):
    if code is None:
        return "its exit status is unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"it was killed by {name}" + (" (often the out-of-memory killer)" if name == "SIGKILL" else "")
    return f"it exited with code {code}"


async def execute(nb, item, plan):
    """Runs every cell; returns (status, failure or None). Leaves outputs in nb."""
    client = NotebookClient(
        nb,
        kernel_name=plan.get("kernelName", "tslab"),
        timeout=plan.get("cellTimeoutSeconds") or None,
        startup_timeout=plan.get("startupTimeoutSeconds", 60),
        resources={"metadata": {"path": item["cwd"]}},
        record_timing=False,
    )
    client.reset_execution_trackers()
    current = {"index": None, "started": time.monotonic()}
    status, failure = "ok", None

    def cell_seconds():
        # From the failing cell's start to the moment the failure was noticed: for a kernel that
        # dies at once, how long the runner took to see it (nbclient polls once a second).
        return round(time.monotonic() - current["started"], 3)

    try:
        async with client.async_setup_kernel():
            try:
                reply = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
                if reply is not None and "language_info" in reply["content"]:
                    nb.metadata["language_info"] = reply["content"]["language_info"]
                for index, cell in enumerate(nb.cells):
                    current["index"] = index
                    current["started"] = time.monotonic()
                    await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                current["index"] = None
            except DeadKernelError:
                index = current["index"]
                seconds = cell_seconds()
                code = await exit_status(client)
                status = "dead-kernel"
                failure = {
                    "cellIndex": index,
                    "cellStart": first_line(nb.cells[index].source) if index is not None else "",
                    "message": f"the kernel died ({describe_exit(code)})",
                    "exitCode": code,
                    "cellSeconds": seconds,
                    "text": cell_error_text(nb.cells[index]) if index is not None else "",
                }
                client.shutdown_kernel = "immediate"
            except CellTimeoutError:
                index = current["index"]
                status = "timeout"
                failure = {
                    "cellIndex": index,
                    "cellStart": first_line(nb.cells[index].source),
                    "message": f"the cell did not finish within {plan.get('cellTimeoutSeconds')} s",
                    "cellSeconds": cell_seconds(),
                    "text": cell_error_text(nb.cells[index]),
                }
                # A busy kernel ignores the polite shutdown request: stop it at once.
                client.shutdown_kernel = "immediate"
            except CellExecutionError as error:
                index = current["index"]
                cell = nb.cells[index]
                status = "error"
                failure = {
                    "cellIndex": index,
                    "cellStart": first_line(cell.source),
                    "ename": error.ename,
                    "cellSeconds": cell_seconds(),
                    "evalue": error.evalue,
                    "traceback": strip_ansi(error.traceback or ""),
                    "text": cell_error_text(cell),
                }
    except Exception as error:  # the kernel did not start: missing kernelspec, broken tslab, ...
        if status == "ok":
            status = "kernel-start"
            failure = {
                "cellIndex": current["index"],
                "cellStart": "",
                "message": f"{type(error).__name__}: {error}",
                "text": "",
            }
    return status, failure


class OfflineScripts:
    """The scripts an interactive chart needs in the page, read once, on first use."""

    def __init__(self, paths):
        self.paths = list(paths)
        self._texts = None
        self.problem = None

    def texts(self):
        if self._texts is None:
            self._texts = []
            try:
                for path in self.paths:
                    with open(path, encoding="utf-8") as handle:
                        # An inline script ends at the first "</script"; in JavaScript "<\/" means the same.
                        self._texts.append(handle.read().replace("</script", "<\\/script"))
            except OSError as error:
                self.problem = f"cannot read {error.filename} ({error.strerror}); run `npm run setup`"
                self._texts = []
            if not self.paths:
                self.problem = "the plan names no offlineScripts"
        return self._texts


def has_interactive_chart(nb):
    """True when an output carries a vega-lite spec that asks to stay interactive in the export."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            spec = output.get("data", {}).get(VEGA_LITE_MIME)
            if isinstance(spec, dict) and spec.get("usermeta", {}).get("htmlExport") == "interactive" \
                    and "image/svg+xml" in output.get("data", {}):
                return True
    return False


def export_notes(nb, interactive, offline_scripts):
    """Warnings about the offline page: TeX it cannot typeset, charts that stayed static."""
    notes = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and TEX_MATH.search(cell.source):
            notes.append(
                f"markdown cell {index + 1} has TeX math; the offline page carries no MathJax, so it shows the TeX source"
            )
    if interactive and offline_scripts.problem:
        notes.append(f"interactive charts stay static in the page: {offline_scripts.problem}")
    return notes


def main():
    plan = json.load(sys.stdin)
    events = os.fdopen(3, "w", buffering=1)

    def emit(**event):
        events.write(json.dumps(event) + "\n")

    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[TEMPLATES], embed_images=True)
    offline_scripts = OfflineScripts(plan.get("offlineScripts", []))
    for item in plan["notebooks"]:
        emit(event="start", name=item["name"])
        started = time.monotonic()
        nb = nbformat.reads(item["notebook"], as_version=4)
        status, failure = asyncio.run(execute(nb, item, plan))
        seconds = time.monotonic() - started
        write_atomically(item["executedPath"], nbformat.writes(nb))
        interactive = has_interactive_chart(nb)
        resources = {
            "metadata": {"name": item["name"].removesuffix(".ipynb")},
            "offline": {"scripts": offline_scripts.texts() if interactive else []},
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        write_atomically(item["htmlPath"], body)
        notes = export_notes(nb, interactive, offline_scripts)
        emit(event="done", name=item["name"], seconds=round(seconds, 3), status=status, failure=failure, **({"notes": notes} if notes else {}))
    events.close()


if __name__ == "__main__":
    main()
