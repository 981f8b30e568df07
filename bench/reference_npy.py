"""The numpy evaluator xent is measured against: memory-maps the logits and computes the mean
cross-entropy with log-sum-exp in chunks of 8,192 rows of 1,000 classes (8.2 M values; fewer rows
for wider ones), as a careful user would write it."""
import json
import sys

import numpy as np

logits = np.load(sys.argv[1], mmap_mode="r")
labels = np.load(sys.argv[2])
rows = max(1, 8_192_000 // logits.shape[1])
total = 0.0
# --shift: a causal language model's loss (one sequence): row t against the label of row t + 1.
shift = "--shift" in sys.argv[3:]
n = logits.shape[0] - 1 if shift else logits.shape[0]
targets = labels[1:] if shift else labels
for i in range(0, n, rows):
    x = np.asarray(logits[i:min(i + rows, n)], dtype=np.float64)
    m = x.max(1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(x - m).sum(1))
    total += float((lse - x[np.arange(len(x)), targets[i:i + len(x)]]).sum())
print(json.dumps({"loss": total / n}))
