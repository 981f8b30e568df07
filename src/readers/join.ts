import { isClassIndex, notAClassIndex } from "../core/indexTarget.js";
import { slicePositions } from "../core/positions.js";
import { SUM_TOLERANCE } from "../core/probabilityLook.js";
import { notABinaryTarget } from "../core/sigmoidBlock.js";
import type { RowBlock, TargetBlock, Task } from "../core/types.js";
import { XentError } from "../errors.js";
import type { PredictionSource, RawTargets, ScoreChunk, TargetChunk, TargetSource } from "./types.js";

export interface PairOptions {
  chunkRows: number;
  classNames: readonly string[] | null;
  ignoreIndex: number;
  task: Task;
  /** `--rows`: rows before this are not wanted; a seeking reader may start later (own targets only). */
  fromRow?: number;
}

/**
 * Joins the predictions with their targets (from a second file, or the predictions' own target
 * column) into the RowBlocks the kernels take, checking every target on the way: class indices
 * in range, class names known, probabilities finite and ≥ 0, and the same number of rows in both.
 *
 * Readers may yield chunks of any size (Arrow record batches have their own); both streams are
 * cut at every boundary of either, with zero-copy views, so memory stays one chunk of each.
 * Both readers are returned on every exit (the end, an error, a consumer that stops early), so
 * their `finally` blocks close files and workers.
 */
export async function* join(
  predictions: PredictionSource,
  targets: TargetSource | null,
  options: PairOptions,
): AsyncGenerator<RowBlock> {
  const C = predictions.classes;
  const names = options.classNames ? new Map(options.classNames.map((n, i) => [n, i])) : null;
  const resolve = (raw: RawTargets, file: string, start: number, lines: Uint32Array | undefined) =>
    resolveTargets(raw, {
      C,
      names,
      ignoreIndex: options.ignoreIndex,
      task: options.task,
      file,
      start,
      lines,
    });
  // A targets file is read from its start: the predictions then must be too, row for row.
  const scoreChunks = predictions
    .chunks(options.chunkRows, targets === null ? (options.fromRow ?? 0) : 0)
    [Symbol.asyncIterator]();
  const targetChunks = targets?.chunks(options.chunkRows)[Symbol.asyncIterator]();
  try {
    yield* pairs(predictions, targets, scoreChunks, targetChunks, resolve, C);
  } finally {
    await Promise.allSettled([scoreChunks.return?.(), targetChunks?.return?.()]);
  }
}

async function* pairs(
  predictions: PredictionSource,
  targets: TargetSource | null,
  scoreChunks: AsyncIterator<ScoreChunk>,
  targetChunks: AsyncIterator<TargetChunk> | undefined,
  resolve: (raw: RawTargets, file: string, start: number, lines: Uint32Array | undefined) => TargetBlock,
  C: number,
): AsyncGenerator<RowBlock> {
  let p: ScoreChunk | null = null;
  let t: TargetChunk | null = null;
  let pOff = 0;
  let tOff = 0;
  let pSeen = 0;
  let tSeen = 0;
  for (;;) {
    if (p === null) {
      const next = await scoreChunks.next();
      p = next.done ? null : next.value;
      pOff = 0;
      pSeen += p?.rows ?? 0;
    }
    if (targetChunks && t === null) {
      const next = await targetChunks.next();
      t = next.done ? null : next.value;
      tOff = 0;
      tSeen += t?.rows ?? 0;
    }
    if (p === null || (targetChunks && t === null)) {
      if (targetChunks && (p !== null || t !== null)) {
        const predictionRows = pSeen + (p === null ? 0 : await countRest(scoreChunks));
        const targetRows = tSeen + (t === null ? 0 : await countRest(targetChunks));
        const notes = [predictions.headerNote?.(), targets!.headerNote?.()].filter((n) => n !== undefined);
        throw new XentError(
          "shape",
          `row counts differ: ${predictions.info.path} has ${predictionRows} rows, ${targets!.info.path} has ${targetRows}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`,
        );
      }
      return;
    }
    const n = t === null ? p.rows - pOff : Math.min(p.rows - pOff, t.rows - tOff);
    const start = p.start + pOff;
    let block: TargetBlock;
    if (t !== null) {
      block = resolve(
        sliceTargets(t.targets, tOff, tOff + n, C),
        targets!.info.path,
        t.start + tOff,
        t.lines?.subarray(tOff, tOff + n),
      );
    } else if (p.targets) {
      block = resolve(
        sliceTargets(p.targets, pOff, pOff + n, C),
        predictions.info.path,
        start,
        p.lines?.subarray(pOff, pOff + n),
      );
    } else {
      // config.ts refuses to start without targets; reaching this is a bug.
      throw new Error("predictions chunk without targets");
    }
    yield {
      start,
      rows: n,
      classes: C,
      scores: p.scores.subarray(pOff * C, (pOff + n) * C),
      targets: block,
      ids: p.ids?.slice(pOff, pOff + n) ?? t?.ids?.slice(tOff, tOff + n),
      groups: p.groups?.slice(pOff, pOff + n) ?? t?.groups?.slice(tOff, tOff + n),
      lines: p.lines?.subarray(pOff, pOff + n),
      pos: p.pos && slicePositions(p.pos, pOff, pOff + n),
      sequences: sameSequences(p, pOff, t, tOff, n, start, predictions, targets),
    };
    pOff += n;
    tOff += n;
    if (pOff === p.rows) p = null;
    if (t !== null && tOff === t.rows) t = null;
  }
}

/**
 * The rows' sequence numbers (list-of-lists layouts), checked to agree when both files have them:
 * two files with the same number of tokens cut into sequences differently would otherwise pair
 * every token with the wrong label.
 */
function sameSequences(
  p: ScoreChunk,
  pOff: number,
  t: TargetChunk | null,
  tOff: number,
  n: number,
  start: number,
  predictions: PredictionSource,
  targets: TargetSource | null,
): Float64Array | undefined {
  const a = p.sequences?.subarray(pOff, pOff + n);
  const b = t?.sequences?.subarray(tOff, tOff + n);
  if (a && b) {
    for (let r = 0; r < n; r++) {
      if (a[r] !== b[r]) {
        throw new XentError(
          "shape",
          `the files cut the tokens into sequences differently: token ${start + r} is in sequence ${a[r]} of ${predictions.info.path} and in sequence ${b[r]} of ${targets!.info.path} (their sequences' lengths differ)`,
        );
      }
    }
  }
  return a ?? b;
}

/** Rows [from, to) of a chunk's targets, as views where the values are typed arrays. */
function sliceTargets(raw: RawTargets, from: number, to: number, C: number): RawTargets {
  if (from === 0 && to * (raw.kind === "probs" ? C : 1) === raw.values.length) return raw;
  if (raw.kind === "name") return { kind: "name", values: raw.values.slice(from, to) };
  if (raw.kind === "index") return { kind: "index", values: raw.values.subarray(from, to) };
  return { kind: "probs", values: raw.values.subarray(from * C, to * C) };
}

/** Reads the rest of an input only to count its rows, for the row-count message. */
async function countRest(chunks: AsyncIterator<{ rows: number }>): Promise<number> {
  let rows = 0;
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) rows += next.value.rows;
  return rows;
}

interface ResolveContext {
  C: number;
  names: Map<string, number> | null;
  ignoreIndex: number;
  task: Task;
  file: string;
  start: number;
  lines: Uint32Array | undefined;
}

/** Booleans as text (pandas writes True/False) name binary targets when no class names are given. */
const BOOLEANS = new Map([
  ["true", 1],
  ["True", 1],
  ["TRUE", 1],
  ["false", 0],
  ["False", 0],
  ["FALSE", 0],
]);

function resolveTargets(raw: RawTargets, ctx: ResolveContext): TargetBlock {
  if (ctx.task === "binary") return resolveBinary(raw, ctx);
  if (ctx.task === "multilabel") return resolveMultilabel(raw, ctx);
  return resolveMulticlass(raw, ctx);
}

/** Binary: one value per row, 0, 1, a soft target in between, or the ignore index. */
function resolveBinary(raw: RawTargets, ctx: ResolveContext): TargetBlock {
  const where = (r: number) => ({ file: ctx.file, row: ctx.start + r, line: ctx.lines?.[r] });
  if (raw.kind === "name") {
    return resolveMulticlass(raw, { ...ctx, names: ctx.names ?? BOOLEANS, C: 2 });
  }
  // A (N, 1) array of floats arrives as probabilities of one class: the same values.
  const v = raw.values;
  for (let r = 0; r < v.length; r++) {
    const y = v[r]!;
    if (y !== ctx.ignoreIndex && !(y >= 0 && y <= 1)) throw notABinaryTarget(y, where(r));
  }
  return { kind: "index", values: v };
}

/** Multilabel: C values per row in [0, 1] (multi-hot, or probabilities), no sum to check. */
function resolveMultilabel(raw: RawTargets, ctx: ResolveContext): TargetBlock {
  const where = (r: number) => ({ file: ctx.file, row: ctx.start + r, line: ctx.lines?.[r] });
  if (raw.kind !== "probs") {
    throw new XentError(
      "shape",
      `multilabel targets are ${ctx.C} values per row (0/1 or probabilities), one per label; the file holds one ${raw.kind === "name" ? "name" : "value"} per row (class indices: --task multiclass)`,
      { file: ctx.file },
    );
  }
  const v = raw.values;
  for (let i = 0; i < v.length; i++) {
    const y = v[i]!;
    if (!(y >= 0 && y <= 1)) throw notABinaryTarget(y, where(Math.floor(i / ctx.C)), i % ctx.C);
  }
  return raw;
}

function resolveMulticlass(raw: RawTargets, ctx: ResolveContext): TargetBlock {
  const where = (r: number) => ({ file: ctx.file, row: ctx.start + r, line: ctx.lines?.[r] });
  if (raw.kind === "index") {
    const v = raw.values;
    for (let r = 0; r < v.length; r++) {
      const y = v[r]!;
      if (y !== ctx.ignoreIndex && !isClassIndex(y, ctx.C)) throw notAClassIndex(y, ctx.C, where(r));
    }
    return raw;
  }
  if (raw.kind === "name") {
    if (!ctx.names) {
      throw new XentError(
        "usage",
        "targets are class names, but the predictions have none: pass --class-names FILE|a,b,c",
        {
          file: ctx.file,
        },
      );
    }
    const values = new Float64Array(raw.values.length);
    for (let r = 0; r < values.length; r++) {
      const y = ctx.names.get(raw.values[r]!);
      if (y === undefined) {
        const known = [...ctx.names.keys()];
        const list = known.length > 12 ? `${known.slice(0, 12).join(", ")}, …` : known.join(", ");
        throw new XentError("value", `unknown class name '${raw.values[r]}' (classes: ${list})`, where(r));
      }
      values[r] = y;
    }
    return { kind: "index", values };
  }
  const v = raw.values;
  const C = ctx.C;
  for (let r = 0; r * C < v.length; r++) {
    let sum = 0;
    for (let c = 0; c < C; c++) {
      const t = v[r * C + c]!;
      if (!(t >= 0 && t < Number.POSITIVE_INFINITY)) {
        throw new XentError(
          "value",
          `target probability ${t} of class ${c} is not a finite number ≥ 0`,
          where(r),
        );
      }
      sum += t;
    }
    // Multi-hot rows (several 1s) are multi-label targets: softmax cross-entropy over them is not
    // what the model was trained on, and the loss would be plausible and wrong.
    if (!(Math.abs(sum - 1) <= SUM_TOLERANCE)) {
      throw new XentError(
        "value",
        `target probabilities sum to ${sum}, not 1 (±${SUM_TOLERANCE}); multi-hot targets? use --task multilabel`,
        where(r),
      );
    }
  }
  return raw;
}
