import type { RowBlock, TargetBlock } from "../core/types.js";
import { XentError } from "../errors.js";
import type { PredictionSource, RawTargets, TargetSource } from "./types.js";

export interface PairOptions {
  chunkRows: number;
  classNames: readonly string[] | null;
  ignoreIndex: number;
}

/**
 * Joins the predictions with their targets (from a second file, or the predictions' own target
 * column) into the RowBlocks the kernels take, checking every target on the way: class indices
 * in range, class names known, probabilities finite and ≥ 0, and the same number of rows in both.
 *
 * Every reader yields chunks of exactly `chunkRows` rows but the last, so the two streams line up.
 */
export async function* rowBlocks(
  predictions: PredictionSource,
  targets: TargetSource | null,
  options: PairOptions,
): AsyncGenerator<RowBlock> {
  const C = predictions.classes;
  const names = options.classNames ? new Map(options.classNames.map((n, i) => [n, i])) : null;
  const resolve = (raw: RawTargets, file: string, start: number, lines: Uint32Array | undefined) =>
    resolveTargets(raw, { C, names, ignoreIndex: options.ignoreIndex, file, start, lines });
  const scoreChunks = predictions.chunks(options.chunkRows)[Symbol.asyncIterator]();
  const targetChunks = targets?.chunks(options.chunkRows)[Symbol.asyncIterator]();
  let predictionRows = 0;
  let targetRows = 0;
  for (;;) {
    const p = await scoreChunks.next();
    const t = targetChunks ? await targetChunks.next() : undefined;
    predictionRows += p.done ? 0 : p.value.rows;
    targetRows += t === undefined || t.done ? 0 : t.value.rows;
    if (t !== undefined && predictionRows !== targetRows) {
      predictionRows += await countRest(scoreChunks);
      targetRows += await countRest(targetChunks!);
      throw new XentError(
        "shape",
        `row counts differ: ${predictions.info.path} has ${predictionRows} rows, ${targets!.info.path} has ${targetRows}`,
      );
    }
    if (p.done) return;
    const chunk = p.value;
    let block: TargetBlock;
    if (t && !t.done) {
      block = resolve(t.value.targets, targets!.info.path, t.value.start, t.value.lines);
    } else if (chunk.targets) {
      block = resolve(chunk.targets, predictions.info.path, chunk.start, chunk.lines);
    } else {
      // config.ts refuses to start without targets; reaching this is a bug.
      throw new Error("predictions chunk without targets");
    }
    yield {
      start: chunk.start,
      rows: chunk.rows,
      classes: C,
      scores: chunk.scores,
      targets: block,
      ids: chunk.ids,
      lines: chunk.lines,
    };
  }
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
  file: string;
  start: number;
  lines: Uint32Array | undefined;
}

function resolveTargets(raw: RawTargets, ctx: ResolveContext): TargetBlock {
  const where = (r: number) => ({ file: ctx.file, row: ctx.start + r, line: ctx.lines?.[r] });
  if (raw.kind === "index") {
    const v = raw.values;
    for (let r = 0; r < v.length; r++) {
      const y = v[r]!;
      if (y !== ctx.ignoreIndex && !(Number.isInteger(y) && y >= 0 && y < ctx.C)) {
        throw new XentError("value", `target ${y} is not a class index in [0, ${ctx.C})`, where(r));
      }
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
  for (let i = 0; i < v.length; i++) {
    const t = v[i]!;
    if (!(t >= 0 && t < Number.POSITIVE_INFINITY)) {
      const r = Math.floor(i / ctx.C);
      throw new XentError(
        "value",
        `target probability ${t} of class ${i % ctx.C} is not a finite number ≥ 0`,
        where(r),
      );
    }
  }
  return raw;
}
