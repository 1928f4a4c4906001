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
files the plan names in "offlineScripts" (from the project's node_modules). A page with Korean
text carries its own Korean font (embed_korean_font below); without the font file the page fails.

Each kernel is told its notebook's absolute path in JPY_SESSION_NAME, as JupyterLab's server does;
the library reads it to draw the Korean edition's (NAME.ko.ipynb) charts in Korean.

An executed notebook can also be exported on its own, without running it (the tests do this):

    python scripts/run_notebooks.py --export executed.ipynb out.html [--offline-script vega.min.js ...]
"""
import argparse
import asyncio
import base64
import html
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
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

    # What jupyter_server's SessionManager.get_kernel_env gives a JupyterLab kernel: the whole
    # environment plus the notebook's absolute path (the library picks the Korean edition from it).
    notebook_path = os.path.join(os.path.abspath(item["cwd"]), item["name"])
    kernel_env = {**os.environ, "JPY_SESSION_NAME": notebook_path}
    try:
        async with client.async_setup_kernel(env=kernel_env):
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


# --- Korean text in the offline pages ---------------------------------------------------------
# A page is read offline, on whatever machine it is copied to, and many machines have no Korean
# font: there Hangul would show as empty boxes ("tofu"). So a page with Hangul carries its own font,
# a subset of NanumGothic (Debian's fonts-nanum, which scripts/setup.sh installs) holding exactly
# the Korean characters the page uses, base64 in a data: URL; it never depends on the reader's fonts.
# The face covers only the Korean ranges (unicode-range), so Latin text keeps the template's fonts
# and pages without Hangul are left exactly as nbconvert wrote them. Charts are SVG pictures in <img>
# elements, which cannot use the page's fonts: each SVG with Hangul gets its own subset inside it.
KOREAN_FONT = "NanumGothic"
KOREAN_FONT_DEBIAN_PATH = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
# NanumGothic is under the SIL Open Font License 1.1 with "NanumGothic" (and "Nanum") as Reserved Font
# Names, which a modified font (a subset is one) may not carry: the subset goes by a name of its own,
# and keeps the copyright notice, with the license and where it comes from in its metadata.
EMBEDDED_FAMILY = "Embedded Korean"
EMBEDDED_POSTSCRIPT_NAME = "EmbeddedKorean-Regular"
EMBEDDED_LICENSE = (
    "This Font Software is licensed under the SIL Open Font License, Version 1.1. A subset of NanumGothic "
    "(Copyright 2011 NHN Corporation; Reserved Font Names: Nanum, NanumGothic, ...), renamed as the license asks."
)
EMBEDDED_LICENSE_URL = "https://openfontlicense.org"
HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff]")
# What the face serves: Hangul (jamo, compatibility jamo, syllables) and the CJK punctuation and
# full-width forms Korean text uses, which Latin fonts lack too.
KOREAN_TEXT = re.compile(
    "[\u1100-\u11ff\u3000-\u303f\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff\uff00-\uffef]"
)
KOREAN_UNICODE_RANGE = "U+1100-11FF, U+3000-303F, U+3130-318F, U+A960-A97F, U+AC00-D7A3, U+D7B0-D7FF, U+FF00-FFEF"
SVG_DATA_URI = re.compile(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)")
# (nbconvert writes the attributes in its own order.)
LIVE_CHART_SPEC = re.compile(r'<script\b[^>]*\bclass="gan-live-chart-spec"[^>]*>(.*?)</script>', re.S)
SCRIPT_ELEMENT = re.compile(r"(<script\b.*?</script>)", re.S | re.I)
INLINE_FONT_FAMILY = re.compile(r'(\sstyle="[^"]*?\bfont-family:\s*)', re.I)
# The font stacks the lab template's theme sets; the embedded face goes in front of each.
FONT_VARIABLES = ("--jp-ui-font-family", "--jp-content-font-family", "--jp-code-font-family-default")


class ExportError(Exception):
    """The page cannot be written as it must be (the Korean font is missing, say)."""


class KoreanFont:
    """NanumGothic from the system's fonts-nanum, subset per page with fontTools; found on first use."""

    def __init__(self):
        self._path = None
        self._cmap = None

    def path(self):
        if self._path is None:
            # GAN_NOTEBOOKS_KOREAN_FONT: another copy of NanumGothic.ttf (the tests name a missing one).
            chosen = os.environ.get("GAN_NOTEBOOKS_KOREAN_FONT")
            candidates = [chosen] if chosen else [KOREAN_FONT_DEBIAN_PATH]
            if not chosen and shutil.which("fc-list"):
                # fc-match would answer with some other font when NanumGothic is missing: ask fc-list.
                listed = subprocess.run(
                    ["fc-list", f"{KOREAN_FONT}:style=Regular", "file"], capture_output=True, text=True, check=False
                ).stdout
                candidates += [line.strip().rstrip(":") for line in listed.splitlines() if line.strip()]
            found = next((path for path in candidates if os.path.isfile(path)), None)
            if found is None:
                where = (
                    f"GAN_NOTEBOOKS_KOREAN_FONT names {chosen}, which does not exist"
                    if chosen
                    else f"{KOREAN_FONT_DEBIAN_PATH} does not exist and fontconfig knows no {KOREAN_FONT}"
                )
                raise ExportError(
                    f"the page has Korean text and the Korean font {KOREAN_FONT} is missing ({where}); "
                    "the page would show Korean only where the reader's machine has a Korean font, so it "
                    "is not written. Install it: `bash scripts/setup.sh` (Debian package fonts-nanum)."
                )
            self._path = found
        return self._path

    def subset(self, characters):
        """(font bytes, format, characters the font lacks) for the given characters."""
        try:
            from fontTools import subset
            from fontTools.ttLib import TTFont
        except ImportError as error:
            raise ExportError(
                f"fontTools is not installed in this Python ({error}), and a page with Korean text needs it to "
                "embed its font: run `bash scripts/setup.sh` (requirements.txt pins fonttools and brotli)."
            ) from error
        try:
            import brotli  # noqa: F401  (fontTools' woff2 needs it)

            flavor = "woff2"
        except ImportError:
            flavor = "woff"
        path = self.path()
        logging.getLogger("fontTools").setLevel(logging.ERROR)  # "TSI0 NOT subset": VTT sources, dropped
        options = subset.Options()
        options.flavor = flavor
        # No hinting instructions (a third of the size): browsers draw web fonts unhinted or lightly hinted.
        options.hinting = False
        options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]
        options.name_IDs = [0, 2, 5, 8, 9]  # copyright, style, version, maker, designers; names set below
        font = subset.load_font(path, options)
        if self._cmap is None:
            self._cmap = TTFont(path, lazy=True)["cmap"].getBestCmap()
        available = self._cmap
        codepoints = sorted({ord(character) for character in characters})
        missing = [code for code in codepoints if code not in available]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[code for code in codepoints if code in available])
        subsetter.subset(font)
        names = font["name"]
        for name_id, text in (
            (1, EMBEDDED_FAMILY),
            (3, f"{EMBEDDED_POSTSCRIPT_NAME};subset"),
            (4, f"{EMBEDDED_FAMILY} Regular"),
            (6, EMBEDDED_POSTSCRIPT_NAME),
            (13, EMBEDDED_LICENSE),
            (14, EMBEDDED_LICENSE_URL),
        ):
            names.removeNames(nameID=name_id)
            names.setName(text, name_id, 3, 1, 0x409)
        data = io.BytesIO()
        subset.save_font(font, data, options)
        return data.getvalue(), flavor, missing

    def face(self, characters):
        """An @font-face rule for the characters, and the characters the font lacks."""
        data, flavor, missing = self.subset(characters)
        source = f"data:font/{flavor};base64,{base64.b64encode(data).decode('ascii')}"
        rule = (
            f'@font-face {{ font-family: "{EMBEDDED_FAMILY}"; src: url({source}) format("{flavor}"); '
            f"font-weight: 400; font-style: normal; unicode-range: {KOREAN_UNICODE_RANGE}; }}"
        )
        return rule, missing


def korean_characters(text):
    return set(KOREAN_TEXT.findall(text))


def svg_with_font(svg, font):
    """The SVG picture with its own Korean face, first in each of its font-family stacks."""
    rule, missing = font.face(korean_characters(svg))
    family = f"'{EMBEDDED_FAMILY}'"
    svg = re.sub(r'font-family="([^"]*)"', lambda m: f'font-family="{family}, {m.group(1)}"', svg)
    svg = re.sub(r"font-family='([^']*)'", lambda m: f"font-family=\"{family}, {html.escape(m.group(1))}\"", svg)
    style = f"<style>{rule} svg {{ font-family: {family}, sans-serif; }}</style>"
    opening = re.search(r"<svg\b[^>]*>", svg)
    if opening is None:
        return svg, missing
    return svg[: opening.end()] + style + svg[opening.end() :], missing


def with_font_in_inline_styles(body):
    """Outputs' own inline fonts (style="font-family: monospace") with the Korean face in front, outside scripts."""
    parts = SCRIPT_ELEMENT.split(body)
    for index in range(0, len(parts), 2):  # the odd parts are the <script> elements, left alone
        parts[index] = INLINE_FONT_FAMILY.sub(lambda m: f"{m.group(1)}'{EMBEDDED_FAMILY}', ", parts[index])
    return "".join(parts)


def embed_korean_font(body, font):
    """The page with NanumGothic subsets embedded where it has Hangul; unchanged when it has none.

    Returns (page, notes); raises ExportError when the page needs the font and it is missing."""
    missing = set()

    def svg_picture(match):
        svg = base64.b64decode(match.group(1)).decode("utf-8", errors="replace")
        if not HANGUL.search(svg):
            return match.group(0)
        svg, lacking = svg_with_font(svg, font)
        missing.update(lacking)
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")

    body = SVG_DATA_URI.sub(svg_picture, body)
    # The page's own text (markdown, code, outputs), and the titles of live charts, which vega draws
    # in the page (their specs are JSON with the Korean written as \u escapes).
    text = html.unescape(SVG_DATA_URI.sub("", body))
    for spec in LIVE_CHART_SPEC.findall(body):
        try:
            text += json.dumps(json.loads(html.unescape(spec)), ensure_ascii=False)
        except ValueError:
            pass
    if HANGUL.search(text):
        body = with_font_in_inline_styles(body)
        rule, lacking = font.face(korean_characters(text))
        missing.update(lacking)
        stacks = []
        for variable in FONT_VARIABLES:
            found = re.search(re.escape(variable) + r":\s*([^;]+);", body)
            if found:
                stacks.append(f"  {variable}: \"{EMBEDDED_FAMILY}\", {' '.join(found.group(1).split())};")
        style = (
            '<style type="text/css" id="gan-korean-font">\n'
            "/* The Korean characters of this page, in a subset of NanumGothic (fonts-nanum; SIL Open Font\n"
            "   License 1.1, renamed as it asks), embedded because the reader's machine may have no Korean\n"
            "   font and the page must work offline. */\n"
            f"{rule}\n:root {{\n" + "\n".join(stacks) + "\n}\n"
            f'body {{ font-family: "{EMBEDDED_FAMILY}", serif; }}\n'
            f'svg text {{ font-family: "{EMBEDDED_FAMILY}", sans-serif; }}\n'
            "</style>\n"
        )
        head_end = body.find("</head>")
        if head_end < 0:
            raise ExportError("the page has no </head>: nowhere to put its Korean font")
        body = body[:head_end] + style + body[head_end:]
    notes = []
    if missing:
        listed = " ".join(f"U+{code:04X}" for code in sorted(missing)[:20]) + (" ..." if len(missing) > 20 else "")
        notes.append(
            f"{len(missing)} character(s) of the page are not in {KOREAN_FONT} ({listed}); "
            "they show in whatever font the reader's machine has"
        )
    return body, notes


def export_page(exporter, nb, name, offline_scripts, font):
    """The offline HTML page of an executed notebook, and notes about it. Raises ExportError."""
    interactive = has_interactive_chart(nb)
    resources = {
        "metadata": {"name": name.removesuffix(".ipynb")},
        "offline": {"scripts": offline_scripts.texts() if interactive else []},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body, font_notes = embed_korean_font(body, font)
    return body, export_notes(nb, interactive, offline_scripts) + font_notes


def offline_exporter():
    return HTMLExporter(template_name="offline", extra_template_basedirs=[TEMPLATES], embed_images=True)


def export_only(argv):
    """--export: an executed notebook to its page, without running it. Exit 1 when the page fails."""
    parser = argparse.ArgumentParser(prog="run_notebooks.py --export")
    parser.add_argument("notebook")
    parser.add_argument("html")
    parser.add_argument("--offline-script", action="append", default=[], dest="scripts")
    args = parser.parse_args(argv)
    with open(args.notebook, encoding="utf-8") as handle:
        nb = nbformat.read(handle, as_version=4)
    try:
        body, notes = export_page(
            offline_exporter(), nb, os.path.basename(args.notebook), OfflineScripts(args.scripts), KoreanFont()
        )
    except ExportError as error:
        print(f"{args.notebook}: {error}", file=sys.stderr)
        return 1
    write_atomically(os.path.abspath(args.html), body)
    for note in notes:
        print(f"{args.notebook}: note: {note}", file=sys.stderr)
    return 0


def main():
    if sys.argv[1:2] == ["--export"]:
        sys.exit(export_only(sys.argv[2:]))
    plan = json.load(sys.stdin)
    events = os.fdopen(3, "w", buffering=1)

    def emit(**event):
        events.write(json.dumps(event) + "\n")

    exporter = offline_exporter()
    offline_scripts = OfflineScripts(plan.get("offlineScripts", []))
    font = KoreanFont()
    for item in plan["notebooks"]:
        emit(event="start", name=item["name"])
        started = time.monotonic()
        nb = nbformat.reads(item["notebook"], as_version=4)
        status, failure = asyncio.run(execute(nb, item, plan))
        seconds = time.monotonic() - started
        write_atomically(item["executedPath"], nbformat.writes(nb))
        try:
            body, notes = export_page(exporter, nb, item["name"], offline_scripts, font)
            write_atomically(item["htmlPath"], body)
        except ExportError as error:
            # No page rather than one that needs the reader's fonts; nor last run's page, left to mislead.
            if os.path.exists(item["htmlPath"]):
                os.remove(item["htmlPath"])
            notes = []
            if status == "ok":
                status = "error"
                failure = {
                    "cellIndex": None,
                    "cellStart": "",
                    "ename": "ExportError",
                    "evalue": f"the HTML page was not written: {error}",
                    "text": f"ExportError: the HTML page was not written: {error}",
                }
            else:
                notes = [f"the HTML page was not written: {error}"]
        emit(event="done", name=item["name"], seconds=round(seconds, 3), status=status, failure=failure, **({"notes": notes} if notes else {}))
    events.close()


if __name__ == "__main__":
    main()
