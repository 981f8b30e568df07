// Writes the NPY bench's logits as Parquet, with two real writers, when they are installed aside
// (they are not dependencies of xent):
//   npm install --prefix /tmp/pq nodejs-polars nodejs-polars-linux-x64-gnu parquet-wasm apache-arrow@21
//   NODE_PATH=/tmp/pq/node_modules npm run bench
// - columns_{snappy,zstd}.parquet: polars, one float32 column per class (200k × 1000, one row
//   group: polars' default for this size);
// - list_{snappy,zstd}.parquet: arrow-rs (parquet-wasm), the first 50k rows as one list<float>
//   column in 16,384-row row groups (parquet-wasm's 4 GB WebAssembly memory does not take the
//   800 MB table), beside logits50k.npy/labels50k.npy, the same rows as NPY.
// Prints nothing and writes nothing when the writers are missing.
import { closeSync, existsSync, openSync, readSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const dir = process.argv[2];
const require = createRequire(path.join(process.env.NODE_PATH ?? "/tmp/pq/node_modules", "x.js"));
const load = (name) => {
  try {
    return require(name);
  } catch {
    return null;
  }
};

/** The data of an NPY file (rows [0, rows) of it), and its header. */
function npy(name, rowBytes, rows) {
  const fd = openSync(`${dir}/${name}`, "r");
  const pre = Buffer.alloc(10);
  readSync(fd, pre, 0, 10, 0);
  const at = 10 + pre.readUInt16LE(8);
  const header = Buffer.alloc(at);
  readSync(fd, header, 0, at, 0);
  const bytes = Buffer.alloc(rowBytes * rows);
  readSync(fd, bytes, 0, bytes.length, at);
  closeSync(fd);
  return { header: header.toString("latin1"), bytes };
}

const N = 200_000;
const C = 1000;
const pl = load("nodejs-polars");
if (pl && !existsSync(`${dir}/columns_zstd.parquet`)) {
  const values = new Float32Array(npy("logits.npy", 4 * C, N).bytes.buffer);
  const labels = new BigInt64Array(npy("labels.npy", 8, N).bytes.buffer);
  const columns = [];
  for (let c = 0; c < C; c++) {
    const column = new Float32Array(N);
    for (let i = 0; i < N; i++) column[i] = values[i * C + c];
    columns.push(pl.Series(`c${c}`, column, pl.Float32));
  }
  const df = pl.DataFrame([...columns, pl.Series("label", labels, pl.Int64)]);
  for (const codec of ["snappy", "zstd"])
    df.writeParquet(`${dir}/columns_${codec}.parquet`, { compression: codec });
}

const arrow = load("apache-arrow");
const pw = load("parquet-wasm");
const M = 50_000;
if (arrow && pw && !existsSync(`${dir}/list_zstd.parquet`)) {
  const logits = npy("logits.npy", 4 * C, M);
  const labels = npy("labels.npy", 8, M);
  // The same rows as NPY: the header's shape changed, padded to its old length.
  const reshape = (header, shape) => {
    const h = header.replace(/'shape': \([^)]*\)/, `'shape': ${shape}`);
    return `${h.slice(0, -1).padEnd(header.length - 1, " ")}\n`;
  };
  writeFileSync(
    `${dir}/logits50k.npy`,
    Buffer.concat([Buffer.from(reshape(logits.header, `(${M}, ${C})`), "latin1"), logits.bytes]),
  );
  writeFileSync(
    `${dir}/labels50k.npy`,
    Buffer.concat([Buffer.from(reshape(labels.header, `(${M},)`), "latin1"), labels.bytes]),
  );
  const child = arrow.makeData({
    type: new arrow.Float32(),
    length: M * C,
    data: new Float32Array(logits.bytes.buffer),
  });
  const list = arrow.makeData({
    type: new arrow.List(new arrow.Field("item", new arrow.Float32(), false)),
    length: M,
    valueOffsets: Int32Array.from({ length: M + 1 }, (_, i) => i * C),
    child,
  });
  const table = new arrow.Table({
    logits: arrow.makeVector(list),
    label: arrow.makeVector(new BigInt64Array(labels.bytes.buffer)),
  });
  const ipc = arrow.tableToIPC(table, "stream");
  for (const [name, codec] of [
    ["snappy", pw.Compression.SNAPPY],
    ["zstd", pw.Compression.ZSTD],
  ]) {
    const props = new pw.WriterPropertiesBuilder()
      .setCompression(codec)
      .setDictionaryEnabled(false)
      .setMaxRowGroupSize(16_384)
      .build();
    writeFileSync(`${dir}/list_${name}.parquet`, pw.writeParquet(pw.Table.fromIPCStream(ipc), props));
  }
}
