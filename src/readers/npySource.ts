import { XentError } from "../errors.js";
import { type NpyFile, npyRows, npyValues, openNpy } from "./npy.js";
import type { PredictionSource, TargetKind, TargetSource } from "./types.js";

/** The class axis as a non-negative number; `axis` may count from the end like numpy's (−1 = last). */
export function resolveAxis(axis: number | undefined, ndim: number, path: string): number {
  const a = axis === undefined ? ndim - 1 : axis < 0 ? ndim + axis : axis;
  if (!(a >= 0 && a < ndim)) {
    throw new XentError("usage", `--class-axis ${axis} is out of range for a ${ndim}-dimensional array`, {
      file: path,
    });
  }
  return a;
}

const shapeText = (shape: readonly number[]) => `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;

export async function openNpyPredictions(
  path: string,
  classAxis: number | undefined,
): Promise<PredictionSource & { file: NpyFile; axis: number }> {
  const file = await openNpy(path);
  const { shape, dtype } = file.header;
  if (dtype.kind !== "f") {
    await file.handle.close();
    throw new XentError("format", `predictions must be float16/32/64, the file holds ${dtype.name}`, {
      file: path,
    });
  }
  if (shape.length < 2) {
    await file.handle.close();
    throw new XentError(
      "shape",
      `predictions need at least 2 dimensions (rows × classes), the shape is ${shapeText(shape)}`,
      {
        file: path,
      },
    );
  }
  const axis = resolveAxis(classAxis, shape.length, path);
  return {
    file,
    axis,
    info: { path, format: "npy", dtype: dtype.name, shape },
    classes: shape[axis]!,
    classNames: null,
    targetKind: null,
    targetColumn: null,
    async *chunks(chunkRows) {
      try {
        for await (const block of npyRows(file, axis, chunkRows))
          yield { start: block.start, rows: block.rows, scores: block.data };
      } finally {
        await file.handle.close();
      }
    },
  };
}

/**
 * Targets in NPY: the predictions' row shape holds one class index per row (any integer dtype, or
 * integral floats); the predictions' own shape holds probabilities along the same class axis.
 */
export async function openNpyTargets(
  path: string,
  predictions: { shape: readonly number[]; axis: number },
  forced: TargetKind | undefined,
): Promise<TargetSource> {
  const file = await openNpy(path);
  const { shape, dtype } = file.header;
  const rowShape = predictions.shape.filter((_, i) => i !== predictions.axis);
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((d, i) => d === b[i]);
  let kind: TargetKind;
  if (same(shape, rowShape) && forced !== "probs" && forced !== "name") kind = "index";
  else if (same(shape, predictions.shape) && dtype.kind === "f" && (forced ?? "probs") === "probs")
    kind = "probs";
  else {
    await file.handle.close();
    const why = forced === "name" ? "an NPY file cannot hold class names; " : "";
    throw new XentError(
      "shape",
      `${why}targets of shape ${shapeText(shape)} (${dtype.name}) fit neither the row shape ${shapeText(rowShape)} (class indices) nor the predictions' shape ${shapeText(predictions.shape)} (probabilities)`,
      { file: path },
    );
  }
  return {
    info: { path, format: "npy", dtype: dtype.name, shape, kind },
    kind,
    async *chunks(chunkRows) {
      try {
        if (shape.length === 0) return;
        // Index targets: one value per row, the whole array in C order.
        const blocks =
          kind === "index" ? npyValues(file, chunkRows) : npyRows(file, predictions.axis, chunkRows);
        for await (const block of blocks) {
          yield {
            start: block.start,
            rows: block.rows,
            targets: { kind, values: Float64Array.from(block.data) },
          };
        }
      } finally {
        await file.handle.close();
      }
    },
  };
}
