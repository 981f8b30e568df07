"""Benchmark inputs with a fixed seed: an 800 MB float32 NPY (200,000 × 1,000) with int64 labels,
a 100,000 × 100 logits CSV (%.7g numbers) with a labels CSV, and LLM-sized rows: 2,000 × 131,072
float32 (1 GiB) with labels, and a binary classifier's 10,000,000 float32 logits (1-D) with int64
0/1 labels, and the first logits again as float16. bench/arrow.mjs writes the first as Arrow."""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261127)


def npy_logits(name, labels, N, C, step):
    """N x C float32 N(0, 9) logits written step rows at a time (bounded memory), int64 labels beside."""
    if os.path.exists(os.path.join(out, name)):
        return
    a = np.lib.format.open_memmap(os.path.join(out, name + ".tmp"), mode="w+", dtype=np.float32, shape=(N, C))
    for i in range(0, N, step):
        a[i:i + step] = rng.standard_normal((step, C), dtype=np.float32) * 3
    a.flush()
    del a
    np.save(os.path.join(out, labels), rng.integers(0, C, N))
    os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))


npy_logits("logits.npy", "labels.npy", 200_000, 1_000, 10_000)
if not os.path.exists(os.path.join(out, "logits.csv")):
    N, C = 100_000, 100
    x = rng.standard_normal((N, C)) * 3
    np.savetxt(os.path.join(out, "logits.csv.tmp"), x, fmt="%.7g", delimiter=",",
               header=",".join(f"c{i}" for i in range(C)), comments="")
    np.savetxt(os.path.join(out, "labels.csv"), rng.integers(0, C, N), fmt="%d", header="label", comments="")
    os.replace(os.path.join(out, "logits.csv.tmp"), os.path.join(out, "logits.csv"))
npy_logits("vocab.npy", "vocab_labels.npy", 2_000, 131_072, 100)
if not os.path.exists(os.path.join(out, "binary.npy")):
    x = rng.standard_normal(10_000_000, dtype=np.float32) * 3
    np.save(os.path.join(out, "binary_labels.npy"), (rng.random(x.shape) < 1 / (1 + np.exp(-x))).astype(np.int64))
    np.save(os.path.join(out, "binary.npy.tmp.npy"), x)
    os.replace(os.path.join(out, "binary.npy.tmp.npy"), os.path.join(out, "binary.npy"))
if not os.path.exists(os.path.join(out, "logits16.npy")):
    # The NPY bench's logits as float16 (400 MB), converted a slice at a time.
    src = np.load(os.path.join(out, "logits.npy"), mmap_mode="r")
    dst = np.lib.format.open_memmap(os.path.join(out, "logits16.npy.tmp"), mode="w+", dtype=np.float16, shape=src.shape)
    for i in range(0, src.shape[0], 10_000):
        dst[i:i + 10_000] = src[i:i + 10_000].astype(np.float16)
    dst.flush()
    del dst
    os.replace(os.path.join(out, "logits16.npy.tmp"), os.path.join(out, "logits16.npy"))


def vocab_copy(name, write):
    """The vocab bench's logits in another dtype (512 MB), converted 100 rows at a time."""
    if os.path.exists(os.path.join(out, name)):
        return
    src = np.load(os.path.join(out, "vocab.npy"), mmap_mode="r")
    with open(os.path.join(out, name + ".tmp"), "wb") as f:
        write(f, src)
    os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))


def npy16(f, src):
    np.lib.format.write_array_header_1_0(f, {"descr": "<f2", "fortran_order": False, "shape": src.shape})
    for i in range(0, src.shape[0], 100):
        f.write(src[i:i + 100].astype(np.float16).tobytes())


def safetensors_bf16(f, src):
    # bfloat16 is float32's top 16 bits, rounded to nearest even (as torch's .to(torch.bfloat16)).
    import json as _json
    header = _json.dumps({"logits": {"dtype": "BF16", "shape": list(src.shape),
                                      "data_offsets": [0, src.size * 2]}}).encode()
    header += b" " * (-len(header) % 8)
    f.write(len(header).to_bytes(8, "little") + header)
    for i in range(0, src.shape[0], 100):
        bits = np.ascontiguousarray(src[i:i + 100]).view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        f.write(rounded.astype(np.uint16).tobytes())


# LLM-sized rows in the dtypes models are run in (the language-model bench rows).
vocab_copy("vocab16.npy", npy16)
vocab_copy("vocab_bf16.safetensors", safetensors_bf16)
