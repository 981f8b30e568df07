// Writes bench/data/logits.npy and labels.npy as an Arrow IPC file (FixedSizeList<Float32> logits,
// int64 labels, 8,192-row record batches), so that Arrow and NPY runs read the same numbers.
import { createWriteStream, existsSync, openSync, readSync, renameSync } from "node:fs";
import {
  Field,
  FixedSizeList,
  Float32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
} from "apache-arrow";

const dir = process.argv[2];
const target = `${dir}/logits.arrow`;
if (existsSync(target)) process.exit(0);

function header(fd) {
  const pre = Buffer.alloc(10);
  readSync(fd, pre, 0, 10, 0);
  const length = 10 + pre.readUInt16LE(8);
  const text = Buffer.alloc(length);
  readSync(fd, text, 0, length, 0);
  const shape = /'shape': \(([^)]*)\)/
    .exec(text.toString("latin1"))[1]
    .split(",")
    .filter((s) => s.trim())
    .map(Number);
  return { offset: length, shape };
}

const logits = openSync(`${dir}/logits.npy`, "r");
const labels = openSync(`${dir}/labels.npy`, "r");
const { offset, shape } = header(logits);
const labelOffset = header(labels).offset;
const [N, C] = shape;
const B = 8192;
const listType = new FixedSizeList(C, new Field("item", new Float32(), false));
const schema = new Schema([new Field("logits", listType, false), new Field("label", new Int64(), false)]);
const writer = RecordBatchFileWriter.throughNode();
const out = createWriteStream(`${target}.tmp`);
writer.pipe(out);
for (let start = 0; start < N; start += B) {
  const rows = Math.min(B, N - start);
  const values = new Float32Array(rows * C);
  readSync(logits, new Uint8Array(values.buffer), 0, values.byteLength, offset + start * C * 4);
  const y = new BigInt64Array(rows);
  readSync(labels, new Uint8Array(y.buffer), 0, y.byteLength, labelOffset + start * 8);
  const child = makeData({ type: new Float32(), length: rows * C, data: values });
  const list = makeData({ type: listType, length: rows, nullCount: 0, child });
  const label = makeData({ type: new Int64(), length: rows, data: y });
  writer.write(
    new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: rows, children: [list, label] }),
    ),
  );
}
writer.end();
out.on("finish", () => renameSync(`${target}.tmp`, target));
