import { XentError } from "../../errors.js";
import { once } from "../once.js";
import type { PredictionSource, TargetKind, TargetSource } from "../types.js";
import type { NpyHeader } from "./header.js";
import type { NpyArray } from "./npy.js";

/** The class axis as a non-negative number; `axis` may count from the end like numpy's (−1 = last). */
export function resolveAxis(axis: number | undefined, ndim: number, name: string): number {
  const a = axis === undefined ? ndim - 1 : axis < 0 ? ndim + axis : axis;
  if (!(a >= 0 && a < ndim)) {
    throw new XentError("usage", `--class-axis ${axis} is out of range for a ${ndim}-dimensional array`, {
      file: name,
    });
  }
  return a;
}

export const shapeText = (shape: readonly number[]) =>
  `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;

export interface NpyLayout {
  shape: number[];
  axis: number;
  /** The predictions file, named when the targets do not fit it. */
  path: string;
}

/** Predictions in an NPY array (a file, an NPZ member or a stream): floats, ≥ 2 dimensions. */
export async function npyPredictions(
  array: NpyArray,
  classAxis: number | undefined,
  format: "npy" | "npz" | "safetensors",
): Promise<PredictionSource & { layout: NpyLayout; header: NpyHeader }> {
  const { shape, dtype } = array.header;
  const fail = async (e: XentError) => {
    await array.close();
    throw e.at({ file: array.name });
  };
  if (dtype.kind !== "f" && dtype.kind !== "bf") {
    await fail(
      new XentError(
        "format",
        `predictions must be floats (float16/32/64, bfloat16), the file holds ${dtype.name}`,
      ),
    );
  }
  if (shape.length === 0) {
    await fail(new XentError("shape", "predictions need rows: the array is a scalar, shape ()"));
  }
  // A 1-D array is one score per row (binary): rows of one value, as if its shape were (N, 1).
  const vector = shape.length === 1;
  if (vector && classAxis !== undefined && classAxis !== -1 && classAxis !== 0) {
    await fail(new XentError("usage", `--class-axis ${classAxis} is out of range for a 1-dimensional array`));
  }
  const rowsShape = vector ? [shape[0]!, 1] : shape;
  const axis = vector ? 1 : resolveAxis(classAxis, shape.length, array.name);
  const total = rowsShape.reduce((a, b) => a * b, 1) / (rowsShape[axis] || 1);
  let done = 0;
  const close = once(() => array.close());
  return {
    [Symbol.asyncDispose]: close,
    header: array.header,
    progress: () => (total > 0 ? done / total : null),
    countRows: async () => total,
    layout: { shape: rowsShape, axis, path: array.name },
    info: { path: array.name, format, dtype: dtype.name, shape },
    classes: rowsShape[axis]!,
    classNames: null,
    targetKind: null,
    targetColumn: null,
    async *chunks(chunkRows) {
      try {
        for await (const block of vector ? array.values(chunkRows) : array.rows(axis, chunkRows)) {
          done = block.start + block.rows;
          yield { start: block.start, rows: block.rows, scores: block.data };
        }
      } finally {
        await close();
      }
    },
  };
}

/**
 * Targets in an NPY array: the predictions' row shape holds one class index per row (any integer
 * dtype, or integral floats); the predictions' own shape holds probabilities along the same class
 * axis. A −1 in the predictions' shape stands for a row count not known before reading (CSV).
 */
export async function npyTargets(
  array: NpyArray,
  predictions: NpyLayout,
  forced: TargetKind | undefined,
  format: "npy" | "npz" | "safetensors",
): Promise<TargetSource & { header: NpyHeader }> {
  const { shape, dtype } = array.header;
  const rowShape = predictions.shape.filter((_, i) => i !== predictions.axis);
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((d, i) => d === b[i] || b[i] === -1);
  let kind: TargetKind;
  if (same(shape, rowShape) && forced !== "probs" && forced !== "name") kind = "index";
  else if (same(shape, predictions.shape) && (forced ?? "probs") === "probs")
    // Integer and bool arrays of the predictions' shape are multi-hot targets (--task multilabel).
    kind = "probs";
  else {
    await array.close();
    const rows = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    if (
      forced !== "name" &&
      shape.length === rowShape.length &&
      rowShape.length === 1 &&
      rowShape[0] !== -1
    ) {
      throw new XentError(
        "shape",
        `row counts differ: ${predictions.path} has ${rows(rowShape)} rows, ${array.name} has ${rows(shape)}`,
      );
    }
    const why = forced === "name" ? "an NPY array cannot hold class names; " : "";
    throw new XentError(
      "shape",
      `${why}targets of shape ${shapeText(shape)} (${dtype.name}) fit neither the row shape ${shapeText(rowShape)} (class indices) nor the predictions' shape ${shapeText(predictions.shape)} (probabilities)`,
      { file: array.name },
    );
  }
  const close = once(() => array.close());
  return {
    [Symbol.asyncDispose]: close,
    header: array.header,
    info: { path: array.name, format, dtype: dtype.name, shape, kind },
    kind,
    countRows: async () =>
      shape.reduce((a, b) => a * b, 1) / (kind === "probs" ? shape[predictions.axis] || 1 : 1),
    async *chunks(chunkRows) {
      try {
        const blocks = kind === "index" ? array.values(chunkRows) : array.rows(predictions.axis, chunkRows);
        for await (const block of blocks) {
          yield {
            start: block.start,
            rows: block.rows,
            targets: { kind, values: Float64Array.from(block.data) },
          };
        }
      } finally {
        await close();
      }
    },
  };
}
