import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAsciiNumber, splitRows } from "../../../src/readers/csv/fastRows.js";
import type { CsvParser } from "../../../src/readers/csv/table.js";
import { parseNumber } from "../../../src/readers/parseNumber.js";
import { tempDir, writeText } from "../../helpers/files.js";
import { runInProcess } from "../../helpers/run.js";

const ascii = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

/** Numbers as tools write them: printf %g/%e/%f, repr, pandas, hand-edited. */
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((x) => x.toPrecision(7)),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }).map((x) => x.toExponential(6)),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }).map((x) => x.toFixed(12)),
  fc.integer().map(String),
  fc.constantFrom(
    "0",
    "-0",
    "+1",
    ".5",
    "5.",
    "1e5",
    "1E-5",
    "00012.50",
    "123456789012345678",
    "0.1234567890123456789",
    "1e400",
    "1e-400",
    "nan",
    "-inf",
    "Infinity",
    " 3 ",
    "1e",
    "e5",
    "--1",
    "1.2.3",
    "",
    "abc",
    "0x1F",
    "1,5",
  ),
);

describe("parseAsciiNumber", () => {
  it("gives Number()'s bits, or undefined, exactly as parseNumber does on the text", () => {
    fc.assert(
      fc.property(numberText, (text) => {
        const fast = parseAsciiNumber(ascii(text), 0, text.length);
        const slow = parseNumber(text);
        expect(Object.is(fast, slow) || (Number.isNaN(fast) && Number.isNaN(slow))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("splitRows", () => {
  it("gives each field parseNumber's number, whether its split parsed it or handed it on", async () => {
    const field = numberText.filter((t) => !t.includes(","));
    const lines = fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(lines, fc.integer({ min: 1, max: 64 }), async (rows, pieceSize) => {
        const text = rows.map((r) => r.join(",")).join("\n");
        const bytes = ascii(text);
        async function* pieces() {
          for (let i = 0; i < bytes.length; i += pieceSize) yield bytes.slice(i, i + pieceSize);
        }
        const seen: (number | undefined)[][] = [];
        for await (const row of splitRows(pieces(), "t.csv", ",", 0, 1 << 20))
          seen.push(Array.from({ length: row.width }, (_, k) => row.number(k)));
        const expected = rows.filter((r) => r.join(",") !== "").map((r) => r.map((t) => parseNumber(t)));
        expect(seen).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

const dir = tempDir();
let serial = 0;

/** The same file through the byte-level fast path and through csv-parse: identical output or error. */
async function bothPaths(text: string, extra: string[] = []) {
  const file = writeText(dir, `f${serial++}.csv`, text);
  const run = async (csvParser: CsvParser) => {
    try {
      const argv = ["eval", file, "--json", "--per-sample", "--chunk-rows", "3", ...extra];
      return (await runInProcess(argv, undefined, { csvParser })).stdout;
    } catch (e) {
      return `error: ${(e as Error & { describe?: () => string }).describe?.() ?? (e as Error).message}`;
    }
  };
  return { fast: await run("fast"), slow: await run("csv-parse") };
}

const row = (C: number) =>
  fc.tuple(fc.array(numberText, { minLength: C, maxLength: C }), fc.integer({ min: 0, max: C - 1 }));

describe("the fast CSV path agrees with csv-parse on every input", () => {
  it("on random numeric files, with or without header, CRLF, blank lines and a BOM", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 5 })
          .chain((C) => fc.tuple(fc.constant(C), fc.array(row(C), { minLength: 1, maxLength: 12 }))),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async ([C, rows], header, crlf, blanks, bom) => {
          const eol = crlf ? "\r\n" : "\n";
          const lines = rows.map(([scores, y]) => [...scores, String(y)].join(","));
          if (blanks) lines.splice(Math.floor(lines.length / 2), 0, "");
          if (header) lines.unshift([...Array.from({ length: C }, (_, c) => `c${c}`), "label"].join(","));
          const text = (bom ? "\ufeff" : "") + lines.join(eol) + eol;
          const { fast, slow } = await bothPaths(text, header ? [] : ["--target-column", String(C)]);
          // With two bad records, csv-parse's stream may fail on the later one first (it parses
          // ahead); the fast path names the first. Otherwise the outputs are the same, byte for byte.
          if (fast.startsWith("error") || slow.startsWith("error"))
            expect(fast.slice(0, 6)).toBe(slow.slice(0, 6));
          else expect(fast).toBe(slow);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("on quoted fields (a header with commas, a quoted number, a quoted newline) and ragged rows", async () => {
    for (const text of [
      '"a,1","b""2",label\n1.5,"2",0\n3,4,1\n',
      'a,b,label\n1,2,0\n"3\n",4,1\n5,6,1\n',
      "a,b,label\n1,2,0\n3,4\n5,6,1\n",
      "a,b,label\n1,2,0\n3,4,1,9\n",
      'a,b,label\n1,2,0\n"3,4,1\n',
      "a,b,label\n1,,0\n",
    ]) {
      const { fast, slow } = await bothPaths(text);
      expect(fast).toBe(slow);
    }
  });
});
