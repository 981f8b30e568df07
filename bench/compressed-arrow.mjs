// Writes the NPY bench's logits (bench/data/logits.arrow, 200k × 1000 FixedSizeList<Float32>) as
// polars writes Feather V2 files: LZ4- and ZSTD-compressed, one record batch per 8,192 rows
// (batches_{lz4,zstd}.arrow), when nodejs-polars is installed aside (not a dependency of xent):
//   npm install --prefix /tmp/pq nodejs-polars nodejs-polars-linux-x64-gnu
//   NODE_PATH=/tmp/pq/node_modules npm run bench
// Prints nothing and writes nothing when polars is missing.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const dir = process.argv[2];
const require = createRequire(path.join(process.env.NODE_PATH ?? "/tmp/pq/node_modules", "x.js"));
let pl = null;
try {
  pl = require("nodejs-polars");
} catch {}
if (pl && !existsSync(`${dir}/batches_zstd.arrow`)) {
  // From bytes: polars' readIPC takes a path it cannot open as an IPC body.
  const df = pl.readIPC(readFileSync(`${dir}/logits.arrow`), { rechunk: false });
  const parts = [];
  for (let i = 0; i < df.height; i += 8192) parts.push(df.slice(i, Math.min(8192, df.height - i)));
  // vstack keeps each part a chunk, and polars writes a record batch per chunk.
  const batches = parts.reduce((a, b) => a.vstack(b));
  for (const codec of ["lz4", "zstd"])
    batches.writeIPC(`${dir}/batches_${codec}.arrow`, { compression: codec });
}
