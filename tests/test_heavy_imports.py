"""Every `brief` process and the bot import retrieval/: libraries only a build or an unused class needs stay out."""

from __future__ import annotations

import json
import subprocess
import sys

MODULES = "retrieval.ingest, retrieval.answering, retrieval.embeddings, retrieval.e5_onnx.embedder, bot.app"


def test_serving_and_ingest_modules_leave_build_time_libraries_unimported() -> None:
    """scipy came with datasketch's LSH classes (0.6 s, 40 MB); `onnx` is for building the model in a child
    process (0.15 s, 12 MB)."""
    code = f"import json, sys, {MODULES}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))  # fmt: skip
    assert {"retrieval", "bot", "numpy"} <= loaded
    assert not loaded & {"scipy", "onnx", "datasketch"}
