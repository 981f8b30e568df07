import { describe, expect, it } from "vitest";
import { assignColumns, selectColumns, type TableColumn } from "../../src/readers/columns.js";
import { guessHeader } from "../../src/readers/csv/guessHeader.js";

const table = (...names: string[]): TableColumn[] => names.map((name) => ({ name, numeric: true }));
const rules = { targetsElsewhere: false };

describe("assignColumns", () => {
  it("reads every numeric column as scores but the target, the id and prediction-named columns", () => {
    const cols = table("logit_0", "logit_1", "logit_2", "y_pred", "y_true");
    expect(assignColumns(cols, rules, "f.csv")).toMatchObject({
      target: 4,
      id: undefined,
      scores: [0, 1, 2],
    });
  });

  it("recognises Hugging Face's labels, sklearn's y_true, and id / sample_id, in any case", () => {
    expect(assignColumns(table("a", "b", "Labels"), rules, "f").target).toBe(2);
    expect(assignColumns(table("a", "b", "Y_TRUE"), rules, "f").target).toBe(2);
    expect(assignColumns(table("sample_id", "a", "b", "label"), rules, "f")).toMatchObject({
      target: 3,
      id: 0,
      scores: [1, 2],
    });
    expect(assignColumns(table("a", "ID", "b", "y"), rules, "f").id).toBe(1);
  });

  it("takes pandas' unnamed index column as the id", () => {
    expect(assignColumns(table("", "0", "1", "label"), rules, "f")).toMatchObject({ id: 0, scores: [1, 2] });
  });

  it("keeps a target-named column out of the scores when the targets come from another file", () => {
    const r = assignColumns(table("a", "b", "label"), { targetsElsewhere: true, targetColumn: "x" }, "f");
    expect(r).toMatchObject({ target: undefined, shadowedTarget: 2, scores: [0, 1] });
  });

  it("takes --score-columns in the order given, and refuses the target, twice, or nothing", () => {
    const cols = table("id", "p_a", "p_b", "p_c", "label");
    expect(assignColumns(cols, { ...rules, scoreColumns: "p_c,p_a" }, "f").scores).toEqual([3, 1]);
    expect(assignColumns(cols, { ...rules, scoreColumns: "p_*" }, "f").scores).toEqual([1, 2, 3]);
    expect(assignColumns(cols, { ...rules, scoreColumns: "1:4" }, "f").scores).toEqual([1, 2, 3]);
    expect(() => assignColumns(cols, { ...rules, scoreColumns: "p_a,label" }, "f")).toThrow(/target column/);
    expect(() => assignColumns(cols, { ...rules, scoreColumns: "p_a,p_*" }, "f")).toThrow(/selected twice/);
    expect(() => assignColumns(cols, { ...rules, scoreColumns: "q_*" }, "f")).toThrow(
      /--score-columns q_\*: no such column in f; its columns are id, p_a, p_b, p_c, label/,
    );
  });

  it("drops --drop-columns from the scores", () => {
    const cols = table("a", "b", "confidence", "label");
    expect(assignColumns(cols, { ...rules, dropColumns: "confidence" }, "f").scores).toEqual([0, 1]);
  });
});

describe("selectColumns", () => {
  const cols = table("0", "1", "2", "x");
  it("prefers a name to an index of the same spelling, as pandas writes integer names", () => {
    const shifted = table("", "0", "1");
    expect(selectColumns("0", shifted, "--f", "f")).toEqual([1]);
    expect(selectColumns("2", shifted, "--f", "f")).toEqual([2]);
  });
  it("reads open ranges as Python slices and refuses empty or outside ones", () => {
    expect(selectColumns(":2", cols, "--f", "f")).toEqual([0, 1]);
    expect(selectColumns("2:", cols, "--f", "f")).toEqual([2, 3]);
    expect(() => selectColumns("3:3", cols, "--f", "f")).toThrow(/not a range/);
    expect(() => selectColumns("2:9", cols, "--f", "f")).toThrow(/not a range/);
  });
  it("escapes and cuts hostile names in its messages", () => {
    const evil = table(`a\nb${"x".repeat(500)}`);
    let message = "";
    try {
      selectColumns("zz", evil, "--f", "f");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toContain("\n");
    expect(message.length).toBeLessThan(200);
  });
});

describe("guessHeader", () => {
  it("is a header with any field that is not a number", () => {
    expect(guessHeader(["a", "1"], ["1", "2"])).toBe("header");
    expect(guessHeader(["", "0"], ["1", "2"])).toBe("header");
  });
  it("is a header of integer names above float data (pandas' to_csv of a float frame)", () => {
    expect(guessHeader(["0", "1", "2"], ["0.5", "-1.0", "3e-2"])).toBe("header");
    expect(guessHeader(["100", "101"], ["0.5", "1.0"])).toBe("header");
    expect(guessHeader(["0"], ["0.25"])).toBe("header");
  });
  it("is ambiguous for exactly the positions above integers, or alone", () => {
    expect(guessHeader(["0"], ["3"])).toBe("ambiguous");
    expect(guessHeader(["0", "1"], ["1", "0"])).toBe("ambiguous");
    expect(guessHeader(["0"], undefined)).toBe("ambiguous");
  });
  it("is data otherwise: negative, repeated, float or non-position integers", () => {
    expect(guessHeader(["3"], ["5"])).toBe("data");
    expect(guessHeader(["0", "0", "1"], ["0.5", "0.5", "0"])).toBe("data");
    expect(guessHeader(["-1", "2"], ["0.5", "0.1"])).toBe("data");
    expect(guessHeader(["0.0", "1.0"], ["0.5", "0.1"])).toBe("data");
    expect(guessHeader(["01", "1"], ["0.5", "0.1"])).toBe("data");
  });
});
