"""Writes lib/graph/opInputTypes.json: for each TensorFlow op that tfjs-node can run, which type
attribute each input sets (null where the input's type is fixed or a list of types).

A traced step (lib/graph/trace.ts) needs it: eager TensorFlow infers an op's type attributes from
its inputs, and tfjs-node relies on that (its Mean declares T from the original tensor, then feeds
a float32 copy); a GraphDef must state them. Run with the project's virtual environment, which
holds the tensorflow-cpu wheel whose C library tfjs-node links:

    .venv/bin/python scripts/op-input-types.py
"""
import json
import pathlib
import re

from tensorflow.python.framework import op_def_registry

root = pathlib.Path(__file__).resolve().parent.parent
sources = list((root / "node_modules/@tensorflow/tfjs-node/dist").rglob("*.js"))
sources += [root / "node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js"]
words = set()
for source in sources:
    words.update(re.findall(r"['\"]([A-Z][A-Za-z0-9]+)['\"]", source.read_text()))

table = {}
for name in sorted(words):
    op = op_def_registry.get(name)
    if op is None:
        continue
    attrs = []
    for arg in op.input_arg:
        if arg.number_attr:
            attrs.append([arg.number_attr, arg.type_attr or None])
            continue
        attrs.append(arg.type_attr or None)
    table[name] = attrs
out = root / "lib/graph/opInputTypes.json"
out.write_text(json.dumps(table, separators=(",", ":"), sort_keys=True) + "\n")
print(f"{len(table)} ops -> {out.relative_to(root)}")
