"""Benchmark inputs with a fixed seed: an 800 MB float32 NPY (200,000 × 1,000) with int64 labels,
a 100,000 × 100 logits CSV (%.7g numbers) with a labels CSV, and LLM-sized rows: 2,000 × 131,072
float32 (1 GiB) with labels. bench/arrow.mjs writes the first as Arrow."""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261127)
if not os.path.exists(os.path.join(out, "logits.npy")):
    N, C = 200_000, 1_000
    a = np.lib.format.open_memmap(os.path.join(out, "logits.npy.tmp"), mode="w+", dtype=np.float32, shape=(N, C))
    for i in range(0, N, 10_000):
        a[i:i + 10_000] = rng.standard_normal((10_000, C), dtype=np.float32) * 3
    a.flush()
    del a
    np.save(os.path.join(out, "labels.npy"), rng.integers(0, C, N))
    os.replace(os.path.join(out, "logits.npy.tmp"), os.path.join(out, "logits.npy"))
if not os.path.exists(os.path.join(out, "logits.csv")):
    N, C = 100_000, 100
    x = rng.standard_normal((N, C)) * 3
    np.savetxt(os.path.join(out, "logits.csv.tmp"), x, fmt="%.7g", delimiter=",",
               header=",".join(f"c{i}" for i in range(C)), comments="")
    np.savetxt(os.path.join(out, "labels.csv"), rng.integers(0, C, N), fmt="%d", header="label", comments="")
    os.replace(os.path.join(out, "logits.csv.tmp"), os.path.join(out, "logits.csv"))
if not os.path.exists(os.path.join(out, "vocab.npy")):
    N, C = 2_000, 131_072
    a = np.lib.format.open_memmap(os.path.join(out, "vocab.npy.tmp"), mode="w+", dtype=np.float32, shape=(N, C))
    for i in range(0, N, 100):
        a[i:i + 100] = rng.standard_normal((100, C), dtype=np.float32) * 3
    a.flush()
    del a
    np.save(os.path.join(out, "vocab_labels.npy"), rng.integers(0, C, N))
    os.replace(os.path.join(out, "vocab.npy.tmp"), os.path.join(out, "vocab.npy"))
