import {
  Binary,
  Bool,
  type Data,
  type DataType,
  Field,
  type Float,
  Float16,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  makeVector,
  Uint32,
  Uint64,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import type { ParquetField, ValueKind } from "./metadata.js";
import { type Page, type PageValues, RawValues } from "./pages.js";

/** Where a cursor's pages come from: a column chunk's ChunkPages (or a test's own pages). */
export interface PageSource {
  next(): Promise<Page | null>;
  fail(what: string): never;
}

/**
 * A column of one row group read in runs of rows, page by page, as Arrow data: what the Arrow
 * reader's slices (nulls named by row, list lengths checked) read from any record batch.
 */

export function arrowType(field: ParquetField): DataType {
  const item = ((kind: ValueKind): DataType => {
    switch (kind) {
      case "float32":
        return new Float32();
      case "float64":
        return new Float64();
      case "float16":
        return new Float16();
      case "bool":
        return new Bool();
      case "int32":
        return new Int32();
      case "uint32":
        return new Uint32();
      case "int64":
        return new Int64();
      case "uint64":
        return new Uint64();
      case "string":
        return new Utf8();
      case "other":
        return new Binary();
    }
  })(field.kind);
  const list = (of: DataType) => new List(new Field("item", of, true));
  return field.inner ? list(list(item)) : field.list ? list(item) : item;
}

type Numeric = Exclude<PageValues, string[] | RawValues>;

/** A growable array of one kind of values. */
class Values {
  array: Numeric | string[];
  length = 0;
  /** `recycled`: an earlier run's array, written over when it is of the kind and large enough. */
  constructor(
    private readonly like: PageValues,
    capacity: number,
    recycled: Numeric | null = null,
  ) {
    this.array = Array.isArray(like)
      ? new Array<string>(capacity)
      : recycled !== null && recycled.length >= capacity && recycled.constructor === this.make(0).constructor
        ? recycled
        : this.make(capacity);
  }
  private make(n: number): Numeric {
    if (this.like instanceof RawValues) return this.like.make(n);
    return new ((this.like as Numeric).constructor as new (n: number) => Numeric)(n);
  }
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.array.length) return;
    if (Array.isArray(this.array)) return;
    const grown = this.make(Math.max(need, this.array.length * 2));
    (grown as Float64Array).set(this.array as Float64Array);
    this.array = grown;
  }
  /** Appends values [from, from + n) of a page. */
  copy(values: PageValues, from: number, n: number): void {
    this.reserve(n);
    if (Array.isArray(this.array)) {
      const src = values as string[];
      for (let i = 0; i < n; i++) this.array[this.length + i] = src[from + i]!;
    } else if (values instanceof RawValues) {
      const w = values.width;
      const into = new Uint8Array(this.array.buffer, this.array.byteOffset + this.length * w, n * w);
      into.set(values.bytes.subarray(from * w, (from + n) * w));
    } else {
      (this.array as Float64Array).set((values as Float64Array).subarray(from, from + n), this.length);
    }
    this.length += n;
  }
  /** A null's place (a zero, or null for strings). */
  gap(): void {
    this.reserve(1);
    this.length++;
  }
  result(): PageValues {
    return Array.isArray(this.array) ? this.array.slice(0, this.length) : this.array.subarray(0, this.length);
  }
}

/** Validity bytes (1 valid, 0 null) as Arrow's bitmap. */
function bitmap(valid: Uint8Array, n: number): Uint8Array {
  const bits = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (valid[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/** Validity bytes for `length` entries with nulls at `positions` (null when there are none). */
function validity(positions: readonly number[], length: number): Uint8Array | null {
  if (positions.length === 0) return null;
  const valid = new Uint8Array(length).fill(1);
  for (const k of positions) valid[k] = 0;
  return valid;
}

function nulls(valid: Uint8Array | null, n: number): number {
  if (valid === null) return 0;
  let k = 0;
  for (let i = 0; i < n; i++) if (!valid[i]) k++;
  return k;
}

function leafData(type: DataType, values: PageValues, valid: Uint8Array | null, n: number): Data {
  if (Array.isArray(values) || type instanceof Bool) {
    const src = values as ArrayLike<string | number>;
    const items = Array.from({ length: n }, (_, i) =>
      valid && !valid[i] ? null : type instanceof Bool ? src[i] === 1 : src[i],
    );
    return vectorFromArray(items, type).data[0]!;
  }
  // makeData builds from the type's id; its props are typed per type, which a union cannot name.
  return makeData({
    type: type as Float,
    length: n,
    data: values as Float32Array,
    nullCount: nulls(valid, n),
    ...(valid ? { nullBitmap: bitmap(valid, n) } : {}),
  });
}

export class ColumnCursor {
  private page: Page | null = null;
  /** Next level entry and next value of the page. */
  private pos = 0;
  private vpos = 0;
  readonly type: DataType;
  /** Elements per row seen first: the capacity guess for a list column's values. */
  private perRow = 1;
  /** The last run's array, when runs are recycled. */
  private spare: Numeric | null = null;

  private keep(out: Values | null): void {
    if (this.recycle && out !== null && !Array.isArray(out.array)) this.spare = out.array;
  }

  constructor(
    private readonly field: ParquetField,
    private readonly pages: PageSource,
    /**
     * Write each run's values over the previous run's array: for a reader that is done with a run
     * before it takes the next (a worker thread), it saves an allocation and its page faults per run.
     */
    private readonly recycle = false,
  ) {
    this.type = arrowType(field);
  }

  private async current(): Promise<Page | null> {
    while (this.page === null || this.pos >= this.page.count) {
      this.page = await this.pages.next();
      this.pos = 0;
      this.vpos = 0;
      if (this.page === null) return null;
    }
    return this.page;
  }

  /** Checks that the column chunk holds nothing after the rows taken (a list column could). */
  async end(): Promise<void> {
    if ((this.page !== null && this.pos < this.page.count) || (await this.pages.next()) !== null)
      this.pages.fail("the column holds more rows than its row group");
  }

  /** The next `n` rows as Arrow data. */
  async take(n: number): Promise<Vector> {
    if (this.field.inner) return makeVector(await this.takeNested(n));
    return makeVector(this.field.list ? await this.takeLists(n) : await this.takeFlat(n));
  }

  private async takeFlat(n: number): Promise<Data> {
    let out: Values | null = null;
    let valid: Uint8Array | null = null;
    let filled = 0;
    const max = this.field.maxDef;
    while (filled < n) {
      const page = await this.current();
      if (page === null) this.pages.fail(`the column ends after ${filled} of the row group's rows`);
      const k = Math.min(n - filled, page.count - this.pos);
      out ??= new Values(page.values, n, this.spare);
      if (page.defs === null || page.defined === page.count) {
        out.copy(page.values, this.vpos, k);
        this.vpos += k;
      } else {
        valid ??= new Uint8Array(n).fill(1, 0, filled);
        for (let i = 0; i < k; i++) {
          if (page.defs[this.pos + i] === max) {
            out.copy(page.values, this.vpos++, 1);
            valid[filled + i] = 1;
          } else out.gap();
        }
      }
      if (valid && page.defined === page.count) valid.fill(1, filled, filled + k);
      this.pos += k;
      filled += k;
    }
    this.keep(out);
    return leafData(this.type, out?.result() ?? new Float32Array(0), valid, n);
  }

  /**
   * A list element at level entry i (a value, or a null item kept as its position); in a page
   * without nulls, the whole run of values up to `runEnd(i + 1)` at once. Returns the next entry.
   */
  private element(
    page: Page,
    i: number,
    def: number,
    out: Values,
    nullItems: number[],
    runEnd: (from: number) => number,
  ): number {
    if (def === this.field.maxDef && page.defined === page.count) {
      const end = runEnd(i + 1);
      out.copy(page.values, this.vpos, end - i);
      this.vpos += end - i;
      return end;
    }
    if (def === this.field.maxDef) out.copy(page.values, this.vpos++, 1);
    else {
      nullItems.push(out.length);
      out.gap();
    }
    return i + 1;
  }

  /**
   * The next `n` rows of a list of lists (maxRep 2): repetition level 0 starts a row, 1 an inner
   * list of the row, 2 continues the inner list; definition levels say which of the row, an inner
   * list or an element is null or empty.
   */
  private async takeNested(n: number): Promise<Data> {
    const f = this.field;
    const inner = f.inner!;
    const rowOffsets = new Int32Array(n + 1);
    let listOffsets = new Int32Array(Math.max(16, n * 4));
    let lists = 0;
    let rowValid: Uint8Array | null = null;
    const nullLists: number[] = [];
    const nullItems: number[] = [];
    let out: Values | null = null;
    let rows = 0;
    let first = true;
    /** Whether the row has lists (a level 1 may add one) and the last of them is open (a level 2 may add to it). */
    let rowOpen = false;
    let listOpen = false;
    const startList = (at: number) => {
      if (lists + 2 > listOffsets.length) {
        const grown = new Int32Array(listOffsets.length * 2);
        grown.set(listOffsets);
        listOffsets = grown;
      }
      listOffsets[lists++] = at;
    };
    for (;;) {
      const page = await this.current();
      if (page === null) break;
      out ??= new Values(page.values, n * this.perRow, this.spare);
      const reps = page.reps!;
      const defs = page.defs;
      let i = this.pos;
      if (first && rows === 0 && reps[i] !== 0) this.pages.fail("a list row starts inside the previous one");
      first = false;
      let done = false;
      while (i < page.count) {
        const rep = reps[i]!;
        if (rep === 0) {
          if (rows === n) {
            done = true;
            break;
          }
          rowOffsets[rows] = lists;
          rows++;
          rowOpen = false;
          listOpen = false;
        }
        const def = defs === null ? f.maxDef : defs[i]!;
        // Levels that continue a row or list that is null, empty or absent: corrupted, never data.
        if (
          (rep === 1 && (!rowOpen || def < f.elementDefined)) ||
          (rep === 2 && (!listOpen || def < inner.elementDefined))
        )
          this.pages.fail("a repetition level continues a list that has none");
        if (def < f.listDefined) {
          rowValid ??= new Uint8Array(n).fill(1);
          rowValid[rows - 1] = 0;
        } else if (def >= f.elementDefined) {
          if (rep <= 1) startList(out.length);
          rowOpen = true;
          listOpen = def >= inner.elementDefined;
          if (def < inner.listDefined) nullLists.push(lists - 1);
          else if (def >= inner.elementDefined) {
            // The inner list's values run up to the next entry that does not continue it.
            i = this.element(page, i, def, out, nullItems, (from) => {
              let end = from;
              while (end < page.count && reps[end] === 2) end++;
              return end;
            });
            continue;
          }
        }
        i++;
      }
      this.pos = i;
      if (done) break;
    }
    if (rows < n) this.pages.fail(`the column ends after ${rows} of the row group's rows`);
    this.keep(out);
    const values = out?.result() ?? new Float32Array(0);
    rowOffsets[n] = lists;
    listOffsets[lists] = values.length;
    if (n > 0) this.perRow = Math.max(1, Math.ceil(values.length / n));
    const itemValid = validity(nullItems, values.length);
    const listValid = validity(nullLists, lists);
    const outer = this.type as List;
    const innerType = outer.valueType as List;
    const child = makeData({
      type: innerType,
      length: lists,
      valueOffsets: listOffsets.subarray(0, lists + 1),
      child: leafData(innerType.valueType, values, itemValid, values.length),
      nullCount: nulls(listValid, lists),
      ...(listValid ? { nullBitmap: bitmap(listValid, lists) } : {}),
    });
    return makeData({
      type: outer,
      length: n,
      valueOffsets: rowOffsets,
      child,
      nullCount: nulls(rowValid, n),
      ...(rowValid ? { nullBitmap: bitmap(rowValid, n) } : {}),
    });
  }

  private async takeLists(n: number): Promise<Data> {
    const f = this.field;
    const offsets = new Int32Array(n + 1);
    let rowValid: Uint8Array | null = null;
    /** Positions of null elements among the values (rare: validity is built from them at the end). */
    const nullItems: number[] = [];
    let out: Values | null = null;
    let rows = 0;
    let first = true;
    for (;;) {
      const page = await this.current();
      if (page === null) break;
      out ??= new Values(page.values, n * this.perRow, this.spare);
      const reps = page.reps!;
      const defs = page.defs;
      let i = this.pos;
      if (first && rows === 0 && reps[i] !== 0) this.pages.fail("a list row starts inside the previous one");
      first = false;
      let done = false;
      while (i < page.count) {
        if (reps[i] === 0) {
          if (rows === n) {
            done = true;
            break;
          }
          offsets[rows] = out.length;
          rows++;
        }
        const def = defs === null ? f.maxDef : defs[i]!;
        if (def < f.listDefined) {
          rowValid ??= new Uint8Array(n).fill(1);
          rowValid[rows - 1] = 0;
          i++;
          continue;
        }
        if (def < f.elementDefined) {
          i++;
          continue;
        }
        // The row's values run up to the next row start.
        i = this.element(page, i, def, out, nullItems, (from) => {
          const end = reps.indexOf(0, from);
          return end < 0 ? page.count : end;
        });
      }
      this.pos = i;
      if (done) break;
    }
    if (rows < n) this.pages.fail(`the column ends after ${rows} of the row group's rows`);
    this.keep(out);
    const values = out?.result() ?? new Float32Array(0);
    offsets[n] = values.length;
    if (n > 0) this.perRow = Math.max(1, Math.ceil(values.length / n));
    const itemValid = validity(nullItems, values.length);
    const child = leafData((this.type as List).valueType, values, itemValid, values.length);
    return makeData({
      type: this.type as List,
      length: n,
      valueOffsets: offsets,
      child,
      nullCount: nulls(rowValid, n),
      ...(rowValid ? { nullBitmap: bitmap(rowValid, n) } : {}),
    });
  }
}
