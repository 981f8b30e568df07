/**
 * JSON for people and programs alike: objects open one key per line, while arrays of numbers and
 * the objects inside arrays stay on one line each (a per-class row is one line). NaN and ±Infinity
 * become null, as JSON.stringify writes them.
 */
export function prettyJson(value: unknown, indent = ""): string {
  if (Array.isArray(value)) {
    if (!value.some((v) => v !== null && typeof v === "object")) return JSON.stringify(value);
    const inner = `${indent}  `;
    return `[\n${value.map((v) => inner + JSON.stringify(v)).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${prettyJson(v, inner)}`).join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value) ?? "null";
}
