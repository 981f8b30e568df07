// The independent reading of an uncompressed Arrow file or stream for fuzz.mjs: apache-arrow's own
// tableFromIPC (no xent code), the loss computed from its logits list (or per-class float columns)
// and its label column. Prints the loss, or nothing when apache-arrow refuses the bytes.
import { readFileSync } from "node:fs";
import { tableFromIPC } from "apache-arrow";

try {
  const table = tableFromIPC(readFileSync(process.argv[2]));
  const label = table.getChild("label");
  const list = table.getChild("logits");
  const rows = [];
  for (let i = 0; i < table.numRows; i++) {
    const row = list
      ? Array.from(list.get(i))
      : table.schema.fields.filter((f) => f.name !== "label").map((f) => table.getChild(f.name).get(i));
    rows.push(row);
  }
  let sum = 0;
  let used = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const y = Number(label.get(i));
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
