// The independent reading of an uncompressed Arrow file or stream for fuzz.mjs: apache-arrow's own
// tableFromIPC (no xent code), the loss computed from its logits list (or per-class float columns)
// and its label column. Prints the loss, or nothing when apache-arrow refuses the bytes.
// Usage: node fuzz/arrowReference.mjs FILE [--stream]
import { readFileSync } from "node:fs";
import { tableFromIPC } from "apache-arrow";

try {
  // --stream: an Arrow file as standard input delivers it, read from the front (after its 8 bytes
  // of magic and padding) as a stream, its footer never read: a corrupted footer must not change
  // the reference for those runs (fuzz seed 103, case 98: the footer's block moved).
  const bytes = readFileSync(process.argv[2]);
  const table = tableFromIPC(process.argv[3] === "--stream" ? bytes.subarray(8) : bytes);
  const label = table.getChild("label");
  const list = table.getChild("logits");
  const rows = [];
  const ys = [];
  const sequences = table.getChild("labels");
  for (let i = 0; i < table.numRows; i++) {
    if (sequences) {
      // A list-of-lists column (sequences): every inner list is a row, its label from `labels`.
      const positions = list.get(i);
      const labels = sequences.get(i);
      if (positions.length !== labels.length) throw new Error("lengths differ");
      for (let t = 0; t < positions.length; t++) {
        rows.push(Array.from(positions.get(t)));
        ys.push(Number(labels.get(t)));
      }
      continue;
    }
    const row = list
      ? Array.from(list.get(i))
      : table.schema.fields.filter((f) => f.name !== "label").map((f) => table.getChild(f.name).get(i));
    rows.push(row);
    ys.push(Number(label.get(i)));
  }
  let sum = 0;
  let used = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const y = ys[i];
    if (y === -100) continue; // PyTorch's default ignore index, as xent's
    used++;
    const m = Math.max(...row);
    const s = row.reduce((a, x) => a + Math.exp(x - m), 0);
    sum += -(row[y] - m - Math.log(s));
  }
  const loss = sum / used;
  if (Number.isFinite(loss)) console.log(loss);
} catch {
  // refused: print nothing
}
