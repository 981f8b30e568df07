import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { allocRowResults } from "../../src/core/rowResults.js";
import { DEFAULT_IGNORE_INDEX, IGNORED, type LossOptions, USED } from "../../src/core/types.js";
import { Stats, summarize } from "../../src/metrics/stats.js";
import { CsvPrinter } from "../../src/output/csv.js";
import { JsonPrinter } from "../../src/output/json.js";
import { NdjsonPrinter } from "../../src/output/ndjson.js";
import type { Printer } from "../../src/output/printer.js";
import { makeStyle } from "../../src/output/style.js";
import { TablePrinter } from "../../src/output/table.js";
import { Writer } from "../../src/output/writer.js";
import type { Report, RunInfo } from "../../src/wire/eval.js";
import { DEFAULT_OPTIONS } from "../helpers/options.js";

const options: LossOptions = { ...DEFAULT_OPTIONS };

/** Two rows, one used (class 1, loss ln 2) and one ignored: what every printer is given. */
function rows() {
  const res = allocRowResults(2);
  res.rows = 2;
  res.status.set([USED, IGNORED]);
  res.loss.set([Math.LN2, 0]);
  res.weight.set([1, 0]);
  res.nll.set([Math.LN2, Number.NaN]);
  res.entropy.set([Math.LN2, Number.NaN]);
  res.brier.set([0.5, Number.NaN]);
  res.confidence.set([0.5, Number.NaN]);
  res.pTarget.set([0.5, Number.NaN]);
  res.pred.set([0, -1]);
  res.target.set([1, DEFAULT_IGNORE_INDEX]);
  res.rank.set([1, -1]);
  return res;
}

function run(perSample: boolean): RunInfo {
  return {
    inputs: {
      predictions: { path: "p.npy", format: "npy", dtype: "float32", shape: [2, 2] },
      targets: { path: "t.npy", format: "npy", kind: "index" },
    },
    options,
    classNames: ["cat", "dog"],
    perSample,
    worst: 0,
    perClass: true,
    display: { sortClasses: "class", topClasses: null },
  };
}

async function print(
  printer: (out: Writer) => Printer | Promise<Printer>,
  perSample: boolean,
): Promise<string> {
  let text = "";
  const out = new Writer(
    new Writable({
      write(chunk, _e, done) {
        text += chunk.toString();
        done();
      },
    }),
  );
  const p = await printer(out);
  const info = run(perSample);
  await p.begin(info);
  const res = rows();
  await p.samples(res, { ids: ["a", "b"] });
  const stats = new Stats(2, options, { perClass: true, worst: 0 });
  stats.add(res);
  const report: Report = {
    run: info,
    summary: summarize(stats, info.classNames),
    assertions: [{ expr: "loss<=1", value: Math.LN2, passed: true }],
  };
  await p.end(report);
  await out.end();
  return text;
}

describe("printers", () => {
  it("json writes one document in the schema's key order, per_sample spooled in", async () => {
    const doc = JSON.parse(await print((out) => new JsonPrinter(out), true));
    expect(Object.keys(doc)).toEqual([
      "schema",
      "inputs",
      "options",
      "counts",
      "loss",
      "metrics",
      "per_class",
      "per_sample",
      "assertions",
    ]);
    expect(doc.loss).toBe(Math.LN2);
    expect(doc.per_sample).toEqual([
      { index: 0, id: "a", target: 1, loss: Math.LN2, nll: Math.LN2, pred: 0, p_target: 0.5, ignored: false },
      { index: 1, id: "b", target: -100, loss: 0, nll: null, pred: null, p_target: null, ignored: true },
    ]);
    expect(doc.per_class[1]).toMatchObject({ class: 1, name: "dog", count: 1, accuracy: 0 });
  });

  it("ndjson writes a sample line per row, then the summary", async () => {
    const lines = (await print((out) => new NdjsonPrinter(out), true))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(["sample", "sample", "summary"]);
    expect(lines[2].loss).toBe(Math.LN2);
    expect(lines[2].per_sample).toBeUndefined();
  });

  it("csv writes the contract's header and a row per sample, empty fields for none", async () => {
    const text = await print((out) => new CsvPrinter(out), true);
    expect(text).toBe(
      `index,id,target,loss,nll,pred,p_target\n0,a,1,${Math.LN2},${Math.LN2},0,0.5\n1,b,-100,0,,,\n`,
    );
  });

  it("table lines the numbers up and names the classes, without colour at level 0", async () => {
    const text = await print(async (out) => new TablePrinter(out, await makeStyle(0)), false);
    expect(text).toMatch(/^loss\s+0\.69315$/m);
    expect(text).toMatch(/^\s+1\s+dog\s+1\s/m);
    expect(text).toMatch(/^PASS\s+loss<=1\s+0\.69315$/m);
    expect(text.includes("\u001b[")).toBe(false);
  });
});
