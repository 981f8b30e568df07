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
