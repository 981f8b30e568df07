import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { metricNames } from "../../src/cli/values.js";
import { tempDir, writeNpy, writeText } from "../helpers/files.js";
import { BIN, runInProcess } from "../helpers/run.js";

/**
 * Binary and multilabel runs keep the promises multiclass ones do: chunking, threads and shard
 * merges never change a bit, and per-sample output has each task's fields.
 */
const dir = tempDir();
let serial = 0;

const binary = fc.integer({ min: 1, max: 40 }).chain((N) =>
  fc.record({
    N: fc.constant(N),
    scores: fc.array(fc.double({ min: -40, max: 40, noNaN: true }), { minLength: N, maxLength: N }),
    targets: fc.array(fc.oneof(fc.constantFrom(0, 1, -100), fc.double({ min: 0, max: 1, noNaN: true })), {
      minLength: N,
      maxLength: N,
    }),
    posWeight: fc.option(fc.double({ min: 0.1, max: 5, noNaN: true })),
    smoothing: fc.constantFrom(0, 0.1),
    threshold: fc.constantFrom(0.5, 0.2),
  }),
);

const multilabel = fc
  .record({ N: fc.integer({ min: 1, max: 30 }), C: fc.integer({ min: 1, max: 6 }) })
  .chain(({ N, C }) =>
    fc.record({
      N: fc.constant(N),
      C: fc.constant(C),
      scores: fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: N * C, maxLength: N * C }),
      targets: fc.array(fc.constantFrom(0, 1, 0.25), { minLength: N * C, maxLength: N * C }),
      weights: fc.option(
        fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: C, maxLength: C }),
      ),
      smoothing: fc.constantFrom(0, 0.2),
    }),
  );

async function sameForChunks(args: string[], N: number) {
  const outputs = await Promise.all(
    [1, 7, N].map((rows) => runInProcess([...args, "--chunk-rows", String(rows)]).then((r) => r.stdout)),
  );
  expect(outputs[0]).toMatch(/"schema"/);
  expect(outputs[1]).toBe(outputs[0]);
  expect(outputs[2]).toBe(outputs[0]);
}

describe("--task binary and multilabel", () => {
  it("binary: --chunk-rows 1, 7 and all rows give bit-identical JSON", async () => {
    await fc.assert(
      fc.asyncProperty(
        binary.filter((p) => p.targets.some((t) => t !== -100)),
        async (p) => {
          const id = serial++;
          const scores = writeNpy(dir, `b${id}.npy`, p.scores, [p.N]);
          const targets = writeNpy(dir, `bt${id}.npy`, p.targets, [p.N]);
          const args = ["eval", scores, targets, "--json", "--per-sample", "--per-class"];
          args.push("--smoothing", String(p.smoothing), "--threshold", String(p.threshold));
          if (p.posWeight !== null) args.push("--pos-weight", String(p.posWeight));
          await sameForChunks(args, p.N);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("multilabel: --chunk-rows 1, 7 and all rows give bit-identical JSON", async () => {
    await fc.assert(
      fc.asyncProperty(multilabel, async (p) => {
        const id = serial++;
        const scores = writeNpy(dir, `m${id}.npy`, p.scores, [p.N, p.C]);
        const targets = writeNpy(dir, `mt${id}.npy`, p.targets, [p.N, p.C]);
        const args = [
          "eval",
          scores,
          targets,
          "--task",
          "multilabel",
          "--json",
          "--worst",
          "3",
          "--per-class",
        ];
        args.push("--smoothing", String(p.smoothing));
        if (p.weights !== null) args.push("--class-weights", p.weights.join(","));
        await sameForChunks(args, p.N);
      }),
      { numRuns: 30 },
    );
  });

  // Deterministic inputs large enough for several blocks on several threads.
  const N = 6000;
  const C = 5;
  const wave = (i: number) => Math.sin(i * 12.9898) * 8;
  const scores1 = writeNpy(
    dir,
    "big.npy",
    Float64Array.from({ length: N }, (_, i) => wave(i)),
    [N],
  );
  const targets1 = writeNpy(
    dir,
    "bigy.npy",
    Float64Array.from({ length: N }, (_, i) => (i % 101 === 0 ? -100 : wave(i + 7) > 0 ? 1 : 0)),
    [N],
    "<i8",
  );
  const scoresC = writeNpy(
    dir,
    "bigm.npy",
    Float64Array.from({ length: N * C }, (_, i) => wave(i)),
    [N, C],
  );
  const targetsC = writeNpy(
    dir,
    "bigmy.npy",
    Uint8Array.from({ length: N * C }, (_, i) => (wave(i * 3 + 1) > 2 ? 1 : 0)),
    [N, C],
    "|u1",
  );
  const cases = [
    ["binary", [scores1, targets1, "--pos-weight", "2", "--per-class", "--worst", "4"]],
    ["multilabel", [scoresC, targetsC, "--task", "multilabel", "--per-class", "--worst", "4"]],
  ] as const;

  for (const [task, args] of cases) {
    it(`${task}: --threads 1, 2 and 3 on worker threads give bit-identical JSON`, async () => {
      const run = (threads: number, chunk: number) =>
        runInProcess(
          ["eval", ...args, "--json", "--threads", String(threads), "--chunk-rows", String(chunk)],
          undefined,
          {
            parallelMinBytes: 0,
          },
        ).then((r) => r.stdout);
      const reference = await run(1, N);
      expect(JSON.parse(reference).options.task).toBe(task);
      for (const [threads, chunk] of [
        [2, 500],
        [3, 777],
      ] as const) {
        expect(await run(threads, chunk)).toBe(reference);
      }
    });

    it(`${task}: shards' states merge to the whole file's numbers, bit for bit`, async () => {
      const whole = JSON.parse((await runInProcess(["eval", ...args, "--json"])).stdout);
      // Shards as files of rows [0, 2500) and [2500, N).
      const states: string[] = [];
      for (const [from, to] of [
        [0, 2500],
        [2500, N],
      ] as const) {
        const part = (path: string, width: number, descr: string, values: ArrayLike<number>) =>
          writeNpy(
            dir,
            `${task}-${from}-${path}`,
            Array.from(values).slice(from * width, to * width),
            width === 1 && task === "binary" ? [to - from] : [to - from, width],
            descr,
          );
        const w = task === "binary" ? 1 : C;
        const s = part(
          "s.npy",
          w,
          "<f8",
          Float64Array.from({ length: N * w }, (_, i) => wave(i)),
        );
        const t =
          task === "binary"
            ? part(
                "t.npy",
                1,
                "<i8",
                Float64Array.from({ length: N }, (_, i) => (i % 101 === 0 ? -100 : wave(i + 7) > 0 ? 1 : 0)),
              )
            : part(
                "t.npy",
                C,
                "|u1",
                Uint8Array.from({ length: N * C }, (_, i) => (wave(i * 3 + 1) > 2 ? 1 : 0)),
              );
        const doc = (await runInProcess(["eval", s, t, ...args.slice(2), "--json", "--emit-state"])).stdout;
        states.push(writeText(dir, `${task}-${from}.json`, doc));
      }
      const merged = JSON.parse((await runInProcess(["merge", ...states, "--json"])).stdout);
      for (const key of ["counts", "loss", "metrics", "per_class", "per_sample", "options"]) {
        expect(merged[key]).toEqual(whole[key]);
      }
    });
  }

  it("binary on file workers names the earliest bad target and its file", async () => {
    const bad = writeNpy(
      dir,
      "bad.npy",
      Float64Array.from({ length: N }, (_, i) => (i === 4000 || i === 1500 ? 3 : i % 2)),
      [N],
      "<i8",
    );
    const r = spawnSync(
      process.execPath,
      [BIN, "eval", scores1, bad, "--threads", "2", "--chunk-rows", "500"],
      {
        encoding: "utf8",
        env: { ...process.env, XENT_PARALLEL_MIN_BYTES: "0", XENT_DEBUG: "1" },
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/evaluating on 2 threads reading the file/);
    expect(r.stderr).toMatch(
      /xent: error: target 3 is outside \[0, 1\]: binary targets .*bad\.npy row 1500\n$/,
    );
  });

  it("warns when a binary classifier's scores all lie in [0, 1] (probabilities read as logits)", () => {
    const p = writeNpy(dir, "p.npy", [0.2, 0.9, 0.6, 0.1], [4]);
    const y = writeNpy(dir, "py.npy", [0, 1, 1, 0], [4], "<i8");
    const r = spawnSync(process.execPath, [BIN, "eval", p, y, "--json"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /^xent: warning: every score in .*p\.npy lies in \[0, 1\]: are these probabilities\? pass --input-type probs/,
    );
  });

  it("checks a binary state's own fields before merging it", async () => {
    const doc = JSON.parse(
      (await runInProcess(["eval", scores1, targets1, "--json", "--emit-state"])).stdout,
    );
    const tampered = structuredClone(doc);
    tampered.state.stats.labels.tp[0] = tampered.state.stats.labels.positives[0] + 1;
    const noTargets = structuredClone(doc);
    delete noTargets.state.stats.ece.target;
    const badThreshold = structuredClone(doc);
    badThreshold.state.options.threshold = 2;
    for (const [name, state, message] of [
      ["tp.json", tampered, /stats\.labels\.tp exceeds its label's positives or predictions/],
      ["ece.json", noTargets, /stats\.ece\.target is not an array/],
      ["threshold.json", badThreshold, /options\.threshold is not in \[0, 1\]/],
    ] as const) {
      const file = writeText(dir, name, JSON.stringify(state));
      const r = spawnSync(process.execPath, [BIN, "merge", file], { encoding: "utf8" });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("prints each task's per-sample fields (CSV)", async () => {
    const b = await runInProcess(["eval", scores1, targets1, "--format", "csv", "--chunk-rows", "3"]);
    const lines = b.stdout.split("\n");
    expect(lines[0]).toBe("index,id,target,loss,nll,pred,p");
    expect(lines[1]).toBe(`0,,-100,0,,,`);
    expect(lines[2]).toMatch(/^1,,[01],[0-9.e-]+,[0-9.e-]+,[01],[0-9.e-]+$/);
    const m = await runInProcess(["eval", scoresC, targetsC, "--task", "multilabel", "--format", "csv"]);
    expect(m.stdout.split("\n")[0]).toBe("index,id,loss,nll,positives,predicted,wrong");
  });

  it("--assert knows exactly the metrics each task reports", async () => {
    const binaryDoc = JSON.parse((await runInProcess(["eval", scores1, targets1, "--json"])).stdout);
    const multilabelDoc = JSON.parse(
      (await runInProcess(["eval", scoresC, targetsC, "--task", "multilabel", "--json"])).stdout,
    );
    expect(["loss", ...Object.keys(binaryDoc.metrics)]).toEqual(metricNames("binary", []));
    expect(["loss", ...Object.keys(multilabelDoc.metrics)]).toEqual(metricNames("multilabel", []));
  });

  it("reads True/False labels and class names for binary", async () => {
    const file = writeText(dir, "tf.csv", "logit,label\n2,True\n-1,False\n0.5,False\n");
    const doc = JSON.parse((await runInProcess(["eval", file, "--json"])).stdout);
    expect(doc.options.task).toBe("binary");
    expect(doc.metrics.tp).toBe(1);
    expect(doc.metrics.fp).toBe(1);
    expect(doc.metrics.tn).toBe(1);
    const named = writeText(dir, "named.csv", "logit,label\n2,spam\n-1,ham\n");
    const n = JSON.parse((await runInProcess(["eval", named, "--json", "--class-names", "ham,spam"])).stdout);
    expect(n.metrics.accuracy).toBe(1);
  });
});
