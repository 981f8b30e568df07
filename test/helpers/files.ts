import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary folder for one test file's inputs. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "xent-test-"));
}

/** The bytes of an NPY v1.0 file, as numpy writes it (header padded to 64 bytes). */
export function npyBytes(values: ArrayLike<number>, shape: number[], descr = "<f8", fortran = false): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = `${header}${" ".repeat(total - 10 - header.length - 1)}\n`;
  const size = Number(/\d+$/.exec(descr)![0]);
  const little = !descr.startsWith(">");
  const data = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (descr.endsWith("f8")) little ? data.writeDoubleLE(v, i * 8) : data.writeDoubleBE(v, i * 8);
    else if (descr.endsWith("f4")) little ? data.writeFloatLE(v, i * 4) : data.writeFloatBE(v, i * 4);
    else if (descr.endsWith("i8"))
      little ? data.writeBigInt64LE(BigInt(v), i * 8) : data.writeBigInt64BE(BigInt(v), i * 8);
    else if (descr.endsWith("i4")) little ? data.writeInt32LE(v, i * 4) : data.writeInt32BE(v, i * 4);
    else if (descr === "|u1" || descr === "|b1") data.writeUInt8(v, i);
    // half precision: the values are the raw 16-bit patterns
    else if (descr === "<f2") data.writeUInt16LE(v, i * 2);
    else throw new Error(`npyBytes: unsupported ${descr}`);
  }
  const preamble = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  preamble.writeUInt16LE(total - 10, 8);
  return Buffer.concat([preamble, Buffer.from(header, "latin1"), data]);
}

export function writeNpy(
  dir: string,
  name: string,
  values: ArrayLike<number>,
  shape: number[],
  descr = "<f8",
): string {
  const path = join(dir, name);
  writeFileSync(path, npyBytes(values, shape, descr));
  return path;
}

export function writeText(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
