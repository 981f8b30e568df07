import { describe, expect, it } from "vitest";
import { join } from "../../src/readers/join.js";
import type { PredictionSource, TargetSource } from "../../src/readers/types.js";

const C = 2;

/** A predictions source whose chunks have the given sizes; row i scores [i, −i]. */
function predictions(sizes: number[]): PredictionSource {
  return {
    info: { path: "p", format: "npy" },
    classes: C,
    progress: () => null,
    classNames: null,
    targetKind: null,
    targetColumn: null,
    [Symbol.asyncDispose]: async () => {},
    async *chunks() {
      let start = 0;
      for (const rows of sizes) {
        const scores = Float64Array.from(
          { length: rows * C },
          (_, k) => (k % C === 0 ? 1 : -1) * (start + Math.floor(k / C)),
        );
        yield { start, rows, scores };
        start += rows;
      }
    },
  };
}

function targets(sizes: number[]): TargetSource {
  return {
    info: { path: "t", format: "csv", kind: "index" },
    kind: "index",
    [Symbol.asyncDispose]: async () => {},
    async *chunks() {
      let start = 0;
      for (const rows of sizes) {
        yield {
          start,
          rows,
          targets: { kind: "index", values: Float64Array.from({ length: rows }, (_, i) => (start + i) % C) },
        };
        start += rows;
      }
    },
  };
}

async function collect(p: PredictionSource, t: TargetSource) {
  const out: { start: number; rows: number; first: number; target: number }[] = [];
  for await (const b of join(p, t, {
    chunkRows: 4,
    classNames: null,
    ignoreIndex: -100,
    task: "multiclass" as const,
  })) {
    out.push({ start: b.start, rows: b.rows, first: b.scores[0]!, target: b.targets.values[0]! });
  }
  return out;
}

describe("join", () => {
  it("cuts both streams at every boundary of either, keeping rows paired", async () => {
    const blocks = await collect(predictions([3, 4, 3]), targets([5, 5]));
    expect(blocks.map((b) => [b.start, b.rows])).toEqual([
      [0, 3],
      [3, 2],
      [5, 2],
      [7, 3],
    ]);
    for (const b of blocks) {
      expect(b.first).toBe(b.start);
      expect(b.target).toBe(b.start % C);
    }
  });

  it("names both row counts when they differ", async () => {
    await expect(collect(predictions([3, 4]), targets([5, 5]))).rejects.toThrow(/p has 7 rows, t has 10$/);
    await expect(collect(predictions([4, 4, 4]), targets([5]))).rejects.toThrow(/p has 12 rows, t has 5$/);
  });
});

describe("join returns both readers on every exit", () => {
  /** A source that records whether its generator's finally ran (files closed). */
  function tracked<T extends PredictionSource | TargetSource>(source: T, log: string[], name: string): T {
    const inner = source.chunks.bind(source);
    return {
      ...source,
      async *chunks(n: number) {
        try {
          yield* inner(n) as AsyncIterable<never>;
        } finally {
          log.push(`${name} closed`);
        }
      },
    } as T;
  }

  it("when the consumer stops early", async () => {
    const log: string[] = [];
    const blocks = join(tracked(predictions([3, 3, 3]), log, "p"), tracked(targets([2, 7]), log, "t"), {
      chunkRows: 4,
      classNames: null,
      ignoreIndex: -100,
      task: "multiclass" as const,
    });
    for await (const _ of blocks) break;
    expect(log.sort()).toEqual(["p closed", "t closed"]);
  });

  it("when a target fails its check", async () => {
    const log: string[] = [];
    const bad: TargetSource = {
      ...targets([9]),
      async *chunks() {
        yield { start: 0, rows: 1, targets: { kind: "index", values: Float64Array.of(7) } };
      },
    };
    const blocks = join(tracked(predictions([1]), log, "p"), tracked(bad, log, "t"), {
      chunkRows: 4,
      classNames: null,
      ignoreIndex: -100,
      task: "multiclass" as const,
    });
    await expect(async () => {
      for await (const _ of blocks) {
        // consumed
      }
    }).rejects.toThrow(/target 7 is not a class index/);
    expect(log.sort()).toEqual(["p closed", "t closed"]);
  });
});
