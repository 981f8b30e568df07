import type { FileHandle } from "node:fs/promises";
import { XentError } from "../../errors.js";
import { countValues, decodeStruct, Struct } from "./thrift.js";

/**
 * A Parquet file's footer, checked before anything is read by it: the schema tree, every
 * column chunk's byte range inside the data area and its physical type against the schema,
 * row counts that add up. Field numbers are parquet.thrift's (apache/parquet-format).
 */

export const PHYSICAL = [
  "BOOLEAN",
  "INT32",
  "INT64",
  "INT96",
  "FLOAT",
  "DOUBLE",
  "BYTE_ARRAY",
  "FIXED_LEN_BYTE_ARRAY",
] as const;
export type Physical = (typeof PHYSICAL)[number];

export const CODECS = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"] as const;
export type Codec = (typeof CODECS)[number];

/** What a column's values are read as. */
export type ValueKind =
  | "float32"
  | "float64"
  | "float16"
  | "bool"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "string"
  /** Stored but not read by xent (INT96, decimals, binary, structs, maps, nested lists). */
  | "other";

/** A top-level field of the file: a flat column or a list of one leaf column. */
export interface ParquetField {
  name: string;
  /** Parquet's own description, for `inspect` ("list<float>", "int64", "string"). */
  type: string;
  kind: ValueKind;
  list: boolean;
  /** Index of its leaf column in each row group's column chunks (null: "other" groups). */
  column: number | null;
  physical: Physical;
  typeLength: number;
  maxDef: number;
  maxRep: number;
  /** Lists: definition levels below this are a null list… */
  listDefined: number;
  /** …below this an empty list, from this on an element (null below maxDef). */
  elementDefined: number;
  /**
   * A list of lists (maxRep 2: a language model's positions, each a list of scores): the inner
   * lists' levels as listDefined and elementDefined are the outer one's; null for other fields.
   */
  inner: { listDefined: number; elementDefined: number } | null;
}

export interface ColumnChunk {
  codec: Codec;
  /** Byte range of its pages (dictionary page first when there is one). */
  start: number;
  end: number;
  /** Level entries (values and nulls) over its pages. */
  values: number;
}

export interface RowGroup {
  rows: number;
  /** Per leaf column. */
  chunks: ColumnChunk[];
}

export interface ParquetMeta {
  rows: number;
  fields: ParquetField[];
  rowGroups: RowGroup[];
  createdBy: string | null;
  codecs: Codec[];
}

/** Footers beyond this are refused rather than read into memory (polars' for 1,000 columns × 4 row groups: ~1 MB). */
const MAX_FOOTER = 64 * 2 ** 20;
/**
 * Values in a footer (fields, list elements): polars' footer for 1,000 columns in one row group
 * holds ~25,000 (151 KB); 4M is 1,000 columns in some 150 row groups, ~300 MB of decoded objects.
 */
const MAX_FOOTER_VALUES = 4_000_000;
/** Deeper schemas are refused (a corrupted num_children must not recurse without end). */
const MAX_DEPTH = 64;

export async function readParquetMeta(handle: FileHandle, file: string): Promise<ParquetMeta> {
  const size = (await handle.stat()).size;
  const tail = Buffer.alloc(8);
  if (size >= 12) await handle.read(tail, 0, 8, size - 8);
  const magic = tail.subarray(4).toString("latin1");
  if (magic === "PARE")
    throw new XentError("format", "an encrypted Parquet file, which xent does not read", { file });
  const length = tail.readUInt32LE(0);
  if (size < 12 || magic !== "PAR1" || length === 0 || length > size - 12) {
    throw new XentError(
      "format",
      "truncated Parquet file: no footer (the file must end with its metadata's length and PAR1)",
      { file },
    );
  }
  if (length > MAX_FOOTER)
    throw new XentError("format", `Parquet metadata of ${length} bytes; xent reads up to ${MAX_FOOTER}`, {
      file,
    });
  const bytes = new Uint8Array(length);
  await handle.read(bytes, 0, length, size - 8 - length);
  let root: Struct;
  try {
    countValues(bytes, 0, MAX_FOOTER_VALUES);
    const { raw, end } = decodeStruct(bytes, 0);
    if (end !== length) throw new RangeError(`${length - end} bytes after it`);
    root = new Struct(raw, "file metadata", file);
  } catch (e) {
    if (e instanceof XentError) throw e;
    throw new XentError("format", `corrupt Parquet metadata: ${(e as Error).message}`, { file });
  }
  return checkMeta(root, size - 8 - length);
}

interface SchemaNode {
  el: Struct;
  name: string;
  repetition: number;
  children: SchemaNode[] | null;
}

function schemaTree(elements: Struct[], root: Struct): SchemaNode[] {
  let next = 1;
  const node = (depth: number): SchemaNode => {
    const el = elements[next++];
    if (!el) root.fail("the schema's num_children exceed its elements");
    if (depth > MAX_DEPTH) el.fail(`schema deeper than ${MAX_DEPTH} levels`);
    const name = el.string(4, "name");
    const repetition = el.int(3, "repetition_type", 0, 2, 0) ?? 0;
    const n = el.int(5, "num_children", 0, elements.length, null);
    let children: SchemaNode[] | null = null;
    // A group has num_children (0 is a group without columns); a leaf has a type.
    if (n !== null && !el.has(1)) {
      children = [];
      for (let i = 0; i < n; i++) children.push(node(depth + 1));
    } else if (!el.has(1)) el.fail(`schema element '${name}' has neither a type nor children`);
    return { el, name, repetition, children };
  };
  const top = elements[0]!.int(5, "num_children", 0, elements.length);
  const fields: SchemaNode[] = [];
  for (let i = 0; i < top; i++) fields.push(node(1));
  if (next !== elements.length) root.fail(`the schema has ${elements.length} elements, its tree ${next}`);
  return fields;
}

const REQUIRED = 0;
const REPEATED = 2;
/** converted_type / LogicalType ids used below. */
const CONVERTED_UTF8 = 0;
const CONVERTED_LIST = 3;
const CONVERTED_ENUM = 4;
const CONVERTED_UNSIGNED = [11, 12, 13, 14];
const CONVERTED_JSON = 19;

function logicalId(el: Struct): number | null {
  const logical = el.struct(10, "logicalType", el.where, true);
  if (!logical) return null;
  for (let id = 1; id <= 20; id++) if (logical.has(id)) return id;
  return null;
}

function unsignedInt(el: Struct): boolean {
  const logical = el.struct(10, "logicalType", el.where, true);
  const int = logical?.struct(10, "INTEGER", el.where, true);
  if (int) return !int.bool(2, true);
  return CONVERTED_UNSIGNED.includes(el.int(6, "converted_type", 0, 255, -1) ?? -1);
}

function leafKind(el: Struct): { kind: ValueKind; physical: Physical; typeLength: number; type: string } {
  const physical = PHYSICAL[el.int(1, "type", 0, PHYSICAL.length - 1)]!;
  const typeLength = el.int(2, "type_length", 0, 2 ** 31 - 1, 0) ?? 0;
  const logical = logicalId(el);
  const converted = el.int(6, "converted_type", 0, 255, -1) ?? -1;
  const decimal = logical === 5 || converted === 5;
  const kind = ((): ValueKind => {
    if (decimal) return "other";
    switch (physical) {
      case "FLOAT":
        return "float32";
      case "DOUBLE":
        return "float64";
      case "BOOLEAN":
        return "bool";
      case "INT32":
        return unsignedInt(el) ? "uint32" : "int32";
      case "INT64":
        return unsignedInt(el) ? "uint64" : "int64";
      case "FIXED_LEN_BYTE_ARRAY":
        return logical === 15 && typeLength === 2 ? "float16" : "other";
      case "BYTE_ARRAY":
        return logical === 1 ||
          logical === 4 ||
          logical === 12 ||
          converted === CONVERTED_UTF8 ||
          converted === CONVERTED_ENUM ||
          converted === CONVERTED_JSON
          ? "string"
          : "other";
      default:
        return "other";
    }
  })();
  const type =
    kind === "float32"
      ? "float"
      : kind === "float64"
        ? "double"
        : kind === "bool"
          ? "boolean"
          : kind === "other"
            ? physical.toLowerCase() + (decimal ? " (decimal)" : "")
            : kind;
  return { kind, physical, typeLength, type };
}

function field(node: SchemaNode, column: number): ParquetField {
  const other = (type: string): ParquetField => ({
    name: node.name,
    type,
    kind: "other",
    list: false,
    column: null,
    physical: "BYTE_ARRAY",
    typeLength: 0,
    maxDef: 0,
    maxRep: 0,
    listDefined: 0,
    elementDefined: 0,
    inner: null,
  });
  const def = (n: SchemaNode) => (n.repetition === REQUIRED ? 0 : 1);
  if (node.children === null) {
    const leaf = leafKind(node.el);
    // A repeated leaf at the top is a list (Parquet's oldest list form).
    const list = node.repetition === REPEATED;
    return {
      name: node.name,
      ...leaf,
      type: list ? `list<${leaf.type}>` : leaf.type,
      list,
      column,
      maxDef: def(node),
      maxRep: list ? 1 : 0,
      listDefined: 0,
      elementDefined: list ? 1 : 0,
      inner: null,
    };
  }
  if (!isList(node)) return other("group");
  const listDefined = def(node);
  const elementDefined = listDefined + 1;
  const element = listElement(node);
  if (element === null) return other("list<group>");
  if (element.node.children === null) {
    const leaf = leafKind(element.node.el);
    return {
      name: node.name,
      ...leaf,
      type: `list<${leaf.type}>`,
      list: true,
      column,
      maxDef: element.twoLevel ? elementDefined : elementDefined + def(element.node),
      maxRep: 1,
      listDefined,
      elementDefined,
      inner: null,
    };
  }
  // A list of lists: the element is itself a LIST group of leaves.
  const inner = isList(element.node) ? listElement(element.node) : null;
  if (element.twoLevel || inner === null || inner.node.children !== null) return other("list<group>");
  const leaf = leafKind(inner.node.el);
  const innerListDefined = elementDefined + def(element.node);
  const innerElementDefined = innerListDefined + 1;
  return {
    name: node.name,
    ...leaf,
    type: `list<list<${leaf.type}>>`,
    list: true,
    column,
    maxDef: inner.twoLevel ? innerElementDefined : innerElementDefined + def(inner.node),
    maxRep: 2,
    listDefined,
    elementDefined,
    inner: { listDefined: innerListDefined, elementDefined: innerElementDefined },
  };
}

/** A group annotated as a LIST (logical type or converted type) with one child. */
const isList = (node: SchemaNode): boolean =>
  node.children !== null &&
  node.children.length === 1 &&
  (logicalId(node.el) === 3 || node.el.int(6, "converted_type", 0, 255, -1) === CONVERTED_LIST);

/**
 * A LIST group's element: three levels (LIST group, repeated group, element), or two (the
 * repeated node is the element). Null when the repeated node is not repeated or holds several.
 */
function listElement(node: SchemaNode): { node: SchemaNode; twoLevel: boolean } | null {
  const repeated = node.children![0]!;
  if (repeated.repetition !== REPEATED) return null;
  if (repeated.children === null) return { node: repeated, twoLevel: true };
  if (repeated.children.length !== 1) return null;
  return { node: repeated.children[0]!, twoLevel: false };
}

/**
 * The leaf columns under a node, in row groups' column-chunk order: each one's path from the
 * top-level field down (as path_in_schema names it) and physical type.
 */
function leaves(node: SchemaNode, prefix: string[] = []): { path: string[]; physical: Physical }[] {
  const path = [...prefix, node.name];
  if (node.children !== null) return node.children.flatMap((c) => leaves(c, path));
  return [{ path, physical: PHYSICAL[node.el.int(1, "type", 0, PHYSICAL.length - 1)]! }];
}

function checkMeta(root: Struct, dataEnd: number): ParquetMeta {
  const elements = root.structs(2, "schema", (i) => `schema element ${i}`);
  if (elements.length === 0) root.fail("no schema");
  const tree = schemaTree(elements, root);
  const fields: ParquetField[] = [];
  const paths: string[][] = [];
  const physical: Physical[] = [];
  for (const node of tree) {
    fields.push(field(node, paths.length));
    for (const leaf of leaves(node)) {
      paths.push(leaf.path);
      physical.push(leaf.physical);
    }
  }
  for (const f of fields) if (f.kind === "other") f.column = null;
  const rows = root.int(3, "num_rows", 0, Number.MAX_SAFE_INTEGER);
  const codecs = new Set<Codec>();
  const rowGroups = root
    .structs(4, "row_groups", (i) => `row group ${i}`)
    .map((group): RowGroup => {
      const columns = group.structs(1, "columns", (i) => `${group.where}, column ${paths[i]?.join(".")}`);
      if (columns.length !== paths.length)
        group.fail(`${columns.length} column chunks for ${paths.length} columns`);
      const chunks = columns.map((chunk, i): ColumnChunk => {
        if (chunk.string(1, "file_path", true) !== null)
          chunk.fail("its data is in another file, which xent does not read");
        const meta = chunk.struct(3, "meta_data");
        if (PHYSICAL[meta.int(1, "type", 0, PHYSICAL.length - 1)] !== physical[i])
          meta.fail(`type ${PHYSICAL[meta.int(1, "type", 0, 7)]} where the schema says ${physical[i]}`);
        const path = meta.list(3, "path_in_schema");
        if (
          path.length !== paths[i]!.length ||
          path.some((p, j) => !(p instanceof Uint8Array) || Buffer.from(p).toString() !== paths[i]![j])
        )
          meta.fail("path_in_schema does not match the schema");
        const codec = CODECS[meta.int(4, "codec", 0, CODECS.length - 1)]!;
        const values = meta.int(5, "num_values", 0, Number.MAX_SAFE_INTEGER);
        const length = meta.int(7, "total_compressed_size", 1, dataEnd);
        const data = meta.int(9, "data_page_offset", 4, dataEnd - 1);
        const dictionary = meta.int(11, "dictionary_page_offset", 0, dataEnd - 1, null);
        // Some writers set dictionary_page_offset 0 for "none".
        const start = dictionary !== null && dictionary >= 4 && dictionary < data ? dictionary : data;
        if (start + length > dataEnd)
          meta.fail(`its pages (${length} bytes at ${start}) run past the data, which ends at ${dataEnd}`);
        codecs.add(codec);
        return { codec, start, end: start + length, values };
      });
      return { rows: group.int(3, "num_rows", 0, Number.MAX_SAFE_INTEGER), chunks };
    });
  const sum = rowGroups.reduce((n, g) => n + g.rows, 0);
  if (sum !== rows) root.fail(`num_rows is ${rows}, its row groups hold ${sum}`);
  for (const [g, group] of rowGroups.entries()) {
    for (const f of fields) {
      if (f.column === null) continue;
      const chunk = group.chunks[f.column]!;
      // A flat column has one level entry per row; a list at least one.
      if (f.list ? chunk.values < group.rows : chunk.values !== group.rows)
        root.fail(`row group ${g}, column '${f.name}': ${chunk.values} values for ${group.rows} rows`);
    }
  }
  return {
    rows,
    fields,
    rowGroups,
    createdBy: root.string(6, "created_by", true),
    codecs: [...codecs],
  };
}
