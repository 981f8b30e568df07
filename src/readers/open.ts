import type { Readable } from "node:stream";
import { usage, XentError } from "../errors.js";
import type { ArrowOptions, Slicing } from "./arrow/arrow.js";
import { type ByteSource, openByteSource, streamKind } from "./byteSource.js";
import type { CsvParser } from "./csv/table.js";
import { NPY_MAGIC } from "./npy/header.js";
import { type NpyArray, openNpy } from "./npy/npy.js";
import { LOGITS_KEYS, openNpz, PICKLE_MESSAGE, pickKey, TARGET_KEYS } from "./npy/npz.js";
import { npySegments } from "./npy/segments.js";
import { type NpyLayout, npyPredictions, npyTargets } from "./npy/source.js";
import { openNpyStream } from "./npy/stream.js";
import { looksLikeSafetensors, openSafetensors } from "./safetensors.js";
import { npzTensors, safetensorsTensors, type TensorArchive } from "./tensorArchive.js";
import type {
  InputFormat,
  InputInfo,
  PositionalNpy,
  PredictionSource,
  TargetKind,
  TargetSource,
} from "./types.js";
import { unwrap } from "./wrappers.js";

export interface OpenOptions extends ArrowOptions {
  /** What `-` reads (process.stdin unless a test feeds its own pieces). */
  stdin?: Readable | undefined;
  classAxis?: number | undefined;
  logitsKey?: string | undefined;
  targetsKey?: string | undefined;
  targetType?: TargetKind | undefined;
  /** CSV/TSV: `--header` (true), `--no-header` (false), else detected. */
  header?: boolean | undefined;
  /** CSV/TSV: which parser reads the data (see CsvParser). */
  csvParser?: CsvParser | undefined;
  /** Arrow: when record batches are read in slices of rows (tests and the fuzzer lower it). */
  arrowSlicing?: Slicing | undefined;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const ZIP_EMPTY = [0x50, 0x4b, 0x05, 0x06];
const ARROW_FILE = "ARROW1";

const startsWith = (head: Uint8Array, bytes: readonly number[]) => bytes.every((b, i) => head[i] === b);

const BINARY_EXTENSIONS: [RegExp, InputFormat][] = [
  [/\.npy$/i, "npy"],
  [/\.npz$/i, "npz"],
  [/\.(arrow|feather|ipc)$/i, "arrow"],
  [/\.arrows$/i, "arrows"],
  [/\.safetensors$/i, "safetensors"],
  [/\.(parquet|pq)$/i, "parquet"],
];

// Arrow (apache-arrow: 90 ms to load) and CSV (csv-parse) readers are imported when a file needs
// them, so that an NPY run starts without them.

/**
 * The format from the content (NPY and zip magic, Arrow file magic, the Arrow stream's
 * continuation marker), with the extension as a hint for what content cannot tell: TSV, and the
 * pre-1.0 Arrow stream without a marker. A binary extension on text is an error, never garbage.
 */
export function detectFormat(source: ByteSource, forced: InputFormat | undefined): InputFormat {
  if (forced) return forced;
  const head = source.head;
  if (startsWith(head, [...NPY_MAGIC])) return "npy";
  if (startsWith(head, ZIP_MAGIC) || startsWith(head, ZIP_EMPTY)) return "npz";
  if (Buffer.from(head.subarray(0, 6)).toString("latin1") === ARROW_FILE) return "arrow";
  if (startsWith(head, [0xff, 0xff, 0xff, 0xff])) return "arrows";
  if (looksLikeSafetensors(head)) return "safetensors";
  if (Buffer.from(head.subarray(0, 4)).toString("latin1") === "PAR1") return "parquet";
  const hinted = BINARY_EXTENSIONS.find(([re]) => re.test(source.name))?.[1];
  if (hinted && head.length === 0)
    throw new XentError("format", `empty file (0 bytes), not ${hinted.toUpperCase()}`, { file: source.name });
  if (hinted === "arrows") return "arrows";
  if (hinted) {
    throw new XentError(
      "format",
      `named .${source.name.split(".").pop()} but the content is not ${hinted.toUpperCase()}; pass --input-format to read it as another format`,
      {
        file: source.name,
      },
    );
  }
  const known = knownBinary(head);
  if (known !== null) throw new XentError("format", known, { file: source.name });
  if (!looksLikeText(head)) {
    throw new XentError(
      "format",
      "binary content of no known format (NPY, NPZ, Arrow, gzip/zstd, CSV or TSV expected)",
      { file: source.name },
    );
  }
  return /\.tsv$/i.test(source.name) ? "tsv" : "csv";
}

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Formats xent recognises but does not read, with the way out; null for anything else. */
function knownBinary(head: Uint8Array): string | null {
  if (startsWith(head, HDF5_MAGIC))
    return "an HDF5 file, which xent does not read: save the arrays with numpy.save (NPY/NPZ) or safetensors";
  // Pickle protocols 2 to 5 open with PROTO (0x80) and the protocol number: torch.save's legacy
  // format and pickle.dump. Unpickling runs arbitrary code.
  if (head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5)
    return PICKLE_MESSAGE("a Python pickle (torch.save's legacy format, pickle.dump)");
  return null;
}

/**
 * Whether the first bytes can start a text table: no control characters but tab, newline and
 * carriage return, and valid UTF-8 (an incomplete character at the very end aside). Binary
 * content is refused here rather than quoted raw in a CSV error further on.
 */
function looksLikeText(head: Uint8Array): boolean {
  for (const b of head) if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13) || b === 0x7f) return false;
  for (let cut = 0; cut < 4 && cut <= head.length; cut++) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try without a last, possibly incomplete, character
    }
  }
  return false;
}

export interface OpenedPredictions {
  source: PredictionSource;
  /** Shape and class axis of NPY/NPZ predictions, which NPY targets are checked against. */
  layout: NpyLayout | null;
  /** NPZ or safetensors predictions: the file whose other arrays may hold the targets. */
  archive: TensorArchive | null;
}

async function npyArray(source: ByteSource): Promise<NpyArray> {
  return source.path !== null ? openNpy(source.path) : openNpyStream(source.stream(), source.name);
}

/** The path of an input read by offset (NPZ, safetensors, Parquet), which a stream cannot be. */
function archivePath(source: ByteSource, format: "npz" | "safetensors" | "parquet"): string {
  if (source.path === null) {
    const what = { npz: "an NPZ archive", safetensors: "a safetensors file", parquet: "a Parquet file" }[
      format
    ];
    const why = format === "safetensors" ? "its tensors are read by offset" : "its index is at the end";
    throw usage(
      `${what} cannot be read from ${streamKind(source)} (${why}); ${source.wrappers ? "decompress it to a regular file" : "pass a regular file"}`,
    );
  }
  return source.path;
}

/** Opens an input and removes gzip/zstd wrappers around it. */
async function openInput(path: string, options: OpenOptions): Promise<ByteSource> {
  return unwrap(await openByteSource(path, options.stdin));
}

/** Records the wrappers an input had in what the run reports of it. */
function noteWrappers<T extends { info: InputInfo }>(source: ByteSource, opened: T): T {
  if (source.wrappers?.length) opened.info.wrapper = source.wrappers.join("+");
  return opened;
}

export async function openPredictions(
  path: string,
  forced: InputFormat | undefined,
  options: OpenOptions,
  withTargets: boolean,
): Promise<OpenedPredictions> {
  const source = await openInput(path, options);
  const opened = await predictionsOf(source, forced, options, withTargets);
  noteWrappers(source, opened.source);
  return opened;
}

async function predictionsOf(
  source: ByteSource,
  forced: InputFormat | undefined,
  options: OpenOptions,
  withTargets: boolean,
): Promise<OpenedPredictions> {
  const format = detectFormat(source, forced);
  if (options.classAxis !== undefined && format !== "npy" && format !== "npz" && format !== "safetensors")
    throw usage("--class-axis applies to NPY, NPZ and safetensors predictions");
  if (options.logitsKey !== undefined && format !== "npz" && format !== "safetensors")
    throw usage("--logits-key applies to NPZ and safetensors predictions");
  if (options.logitsColumn !== undefined && format !== "arrow" && format !== "arrows" && format !== "parquet")
    throw usage("--logits-column applies to Arrow and Parquet predictions");
  switch (format) {
    case "npy": {
      const p = await npyPredictions(await npyArray(source), options.classAxis, "npy");
      if (source.path !== null) {
        const at: PositionalNpy = { path: source.path, header: p.header, axis: p.layout.axis };
        p.segments = async (chunkRows, targets) => npySegments(at, p.classes, targets, chunkRows);
      }
      return { source: p, layout: p.layout, archive: null };
    }
    case "npz":
    case "safetensors": {
      const archive = await openArchive(source, format);
      const key = pickKey(archive, options.logitsKey, LOGITS_KEYS, "--logits-key");
      if (key === null) {
        throw new XentError(
          "format",
          `no predictions array (${LOGITS_KEYS.join(", ")}) in the ${format === "npz" ? "archive" : "file"}, which holds ${archive.keys.join(", ") || "nothing"}; pick one with --logits-key`,
          {
            file: source.name,
          },
        );
      }
      const p = await npyPredictions(await archive.array(key), options.classAxis, format);
      p.info.member = key;
      // A safetensors tensor lies at an offset of a regular file (dataOffset is absolute):
      // worker threads read it as they read an NPY.
      if (format === "safetensors") {
        const at: PositionalNpy = { path: archive.path, header: p.header, axis: p.layout.axis };
        p.segments = async (chunkRows, targets) => npySegments(at, p.classes, targets, chunkRows);
      }
      return { source: p, layout: p.layout, archive };
    }
    case "arrow":
    case "arrows": {
      const arrow = await import("./arrow/arrow.js");
      const p = await arrow.arrowPredictions(
        await arrow.openArrow(source, format, options.arrowSlicing),
        options,
        withTargets,
      );
      return { source: p, layout: null, archive: null };
    }
    case "parquet": {
      const [arrow, parquet] = await Promise.all([
        import("./arrow/arrow.js"),
        import("./parquet/parquet.js"),
      ]);
      const input = await parquet.openParquet(archivePath(source, format), source.name);
      return {
        source: await arrow.arrowPredictions(input, options, withTargets),
        layout: null,
        archive: null,
      };
    }
    default: {
      const csv = await import("./csv/table.js");
      const p = await csv.openCsvPredictions(
        source,
        { format, ...options, parser: options.csvParser },
        withTargets,
      );
      return { source: p, layout: null, archive: null };
    }
  }
}

export async function openTargets(
  path: string,
  forced: InputFormat | undefined,
  options: OpenOptions,
  predictions: OpenedPredictions,
): Promise<TargetSource> {
  const source = await openInput(path, options);
  return noteWrappers(source, await targetsOf(source, forced, options, predictions));
}

async function targetsOf(
  source: ByteSource,
  forced: InputFormat | undefined,
  options: OpenOptions,
  predictions: OpenedPredictions,
): Promise<TargetSource> {
  const format = detectFormat(source, forced);
  const C = predictions.source.classes;
  // CSV/Arrow predictions: rows are not known before reading (−1).
  const layout = predictions.layout ?? { shape: [-1, C], axis: 1, path: predictions.source.info.path };
  switch (format) {
    case "npy": {
      const t = await npyTargets(await npyArray(source), layout, options.targetType, "npy");
      if (source.path !== null)
        t.positional = { path: source.path, header: t.header, axis: t.header.shape.length };
      return t;
    }
    case "npz":
    case "safetensors":
      return archiveTargets(await openArchive(source, format), options, layout, true);
    case "arrow":
    case "arrows": {
      const arrow = await import("./arrow/arrow.js");
      return arrow.arrowTargets(
        await arrow.openArrow(source, format, options.arrowSlicing),
        { ...options, scoreColumns: undefined, dropColumns: undefined },
        C,
      );
    }
    case "parquet": {
      const [arrow, parquet] = await Promise.all([
        import("./arrow/arrow.js"),
        import("./parquet/parquet.js"),
      ]);
      return arrow.arrowTargets(
        await parquet.openParquet(archivePath(source, format), source.name),
        { ...options, scoreColumns: undefined, dropColumns: undefined },
        C,
      );
    }
    default: {
      const csv = await import("./csv/table.js");
      return csv.openCsvTargets(
        source,
        { format, ...options, scoreColumns: undefined, dropColumns: undefined },
        C,
      );
    }
  }
}

/** An NPZ archive or a safetensors file, from a regular file. */
async function openArchive(source: ByteSource, format: "npz" | "safetensors"): Promise<TensorArchive> {
  const path = archivePath(source, format);
  return format === "npz" ? npzTensors(await openNpz(path)) : safetensorsTensors(await openSafetensors(path));
}

/** Targets from an NPZ archive or safetensors file: `--targets-key`, else labels/targets/y. */
export async function archiveTargets(
  archive: TensorArchive,
  options: OpenOptions,
  layout: NpyLayout,
  required: boolean,
): Promise<TargetSource> {
  const key = pickKey(archive, options.targetsKey, TARGET_KEYS, "--targets-key");
  if (key === null) {
    const why = required ? "" : "give a targets file, or ";
    throw new XentError(
      "usage",
      `no targets: ${why}an array named ${TARGET_KEYS.join(", ")} in the archive (or --targets-key); it holds ${archive.keys.join(", ")}`,
      {
        file: archive.path,
      },
    );
  }
  const t = await npyTargets(await archive.array(key), layout, options.targetType, archive.format);
  t.info.member = key;
  if (archive.format === "safetensors")
    t.positional = { path: archive.path, header: t.header, axis: t.header.shape.length };
  return t;
}
