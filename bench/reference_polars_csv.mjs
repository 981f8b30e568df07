// The polars evaluator of the CSV bench (when nodejs-polars is installed aside; not a dependency of
// xent): polars' multi-threaded read_csv of the logits and the labels, then the mean cross-entropy
// from the columns' float64 arrays, as a careful user of polars would write it.
//   npm install --prefix /tmp/pq nodejs-polars nodejs-polars-linux-x64-gnu
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? "/tmp/pq/node_modules", "x.js"));
const pl = require("nodejs-polars");
const [logitsPath, labelsPath] = process.argv.slice(2);
const x = pl.readCSV(logitsPath);
const y = pl.readCSV(labelsPath).getColumn("label").toTypedArray();
const columns = x.columns.map((c) => x.getColumn(c).cast(pl.Float64).toTypedArray());
const N = x.height;
const C = columns.length;
let total = 0;
for (let i = 0; i < N; i++) {
  let m = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < C; c++) m = Math.max(m, columns[c][i]);
  let s = 0;
  for (let c = 0; c < C; c++) s += Math.exp(columns[c][i] - m);
  total += m + Math.log(s) - columns[Number(y[i])][i];
}
console.log(JSON.stringify({ loss: total / N }));
