// Writes the first 50,000 rows of the NPY bench's logits (bench/data/logits.arrow) as polars writes
// a DataFrame: one record batch for the whole file, uncompressed, LZ4 and ZSTD, both as one
// FixedSizeList<Float32> column (single_list_*.arrow) and as one float32 column per class
// (single_cols_*.arrow), each with the label column. The same rows are bench/data/logits50k.npy.
// Needs nodejs-polars installed aside (see bench/compressed-arrow.mjs); writes nothing without it.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const dir = process.argv[2];
const require = createRequire(path.join(process.env.NODE_PATH ?? "/tmp/pq/node_modules", "x.js"));
let pl = null;
try {
  pl = require("nodejs-polars");
} catch {}
if (pl && !existsSync(`${dir}/single_cols_zstd.arrow`)) {
  const all = pl.readIPC(readFileSync(`${dir}/logits.arrow`), { rechunk: false });
  // One chunk: polars writes a record batch per chunk.
  const list = all.slice(0, 50_000).rechunk();
  const C = 1000;
  const cols = list
    .select(
      ...Array.from({ length: C }, (_, i) =>
        pl.col("logits").cast(pl.List(pl.Float32)).lst.get(i).alias(`c${i}`),
      ),
      pl.col("label"),
    )
    .rechunk();
  for (const [codec, suffix] of [
    ["uncompressed", "plain"],
    ["lz4", "lz4"],
    ["zstd", "zstd"],
  ]) {
    list.writeIPC(`${dir}/single_list_${suffix}.arrow`, { compression: codec });
    cols.writeIPC(`${dir}/single_cols_${suffix}.arrow`, { compression: codec });
  }
}
