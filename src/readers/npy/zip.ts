import type { FileHandle } from "node:fs/promises";
import { XentError } from "../../errors.js";
import { readExactly } from "../files.js";

/** One member of a zip archive, as its central directory describes it. */
export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the member's local header. */
  headerOffset: number;
  /** CRC-32 of the uncompressed bytes (numpy checks it; so does xent). */
  crc: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function bad(what: string): never {
  throw new XentError("format", `not a valid NPZ (zip) archive: ${what}`);
}

/**
 * The members of a zip archive (what np.savez and np.savez_compressed write, zip64 included), read
 * from the central directory at the end of the file.
 */
export async function zipMembers(handle: FileHandle, size: number): Promise<ZipMember[]> {
  // The end record is 22 bytes plus a comment of up to 65,535 bytes.
  const tailLength = Math.min(size, 22 + 0xffff + 20);
  const tail = await readExactly(handle, size - tailLength, tailLength);
  const view = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad("no end of central directory");
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocd >= 20) {
    if (view.getUint32(eocd - 20, true) !== ZIP64_LOCATOR) bad("zip64 sizes without a zip64 locator");
    const recordOffset = Number(view.getBigUint64(eocd - 20 + 8, true));
    const record = await readExactly(handle, recordOffset, 56);
    const rv = new DataView(record.buffer);
    if (rv.getUint32(0, true) !== ZIP64_EOCD) bad("broken zip64 end record");
    count = Number(rv.getBigUint64(32, true));
    cdSize = Number(rv.getBigUint64(40, true));
    cdOffset = Number(rv.getBigUint64(48, true));
  }
  if (cdOffset + cdSize > size || cdSize > 64 << 20) bad("central directory outside the file");
  const cd = await readExactly(handle, cdOffset, cdSize);
  const cv = new DataView(cd.buffer);
  const members: ZipMember[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== CENTRAL) bad("broken central directory");
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    let compressedSize = cv.getUint32(p + 20, true);
    let uncompressed = cv.getUint32(p + 24, true);
    const nameLength = cv.getUint16(p + 28, true);
    const extraLength = cv.getUint16(p + 30, true);
    const commentLength = cv.getUint16(p + 32, true);
    let headerOffset = cv.getUint32(p + 42, true);
    if (p + 46 + nameLength + extraLength + commentLength > cd.length) bad("broken central directory");
    const name = Buffer.from(cd.subarray(p + 46, p + 46 + nameLength)).toString("utf8");
    // Zip64 extra field: the 64-bit values, in this order, of whichever fields are 0xFFFFFFFF.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = cv.getUint16(e, true);
      const length = cv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > Math.min(extraEnd, e + 4 + length)) bad(`a short zip64 field for ${name}`);
          const v = Number(cv.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (uncompressed === 0xffffffff) uncompressed = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (headerOffset === 0xffffffff) headerOffset = next();
      }
      e += 4 + length;
    }
    if (method === 0 && compressedSize !== uncompressed) bad(`stored member ${name} states two sizes`);
    members.push({ name, method, compressedSize, size: uncompressed, headerOffset, crc });
    p = extraEnd + commentLength;
  }
  // Members lie before the central directory, one after the other: overlapping ones would let one
  // array's bytes be read as another's.
  const sorted = [...members].sort((a, b) => a.headerOffset - b.headerOffset);
  for (let k = 0; k < sorted.length; k++) {
    const m = sorted[k]!;
    const next = sorted[k + 1]?.headerOffset ?? cdOffset;
    if (m.headerOffset + 30 + m.compressedSize > next)
      bad(`member ${m.name} overlaps the next one or the directory`);
  }
  return members;
}

/** Where a member's data starts: after its local header, whose name and extra lengths may differ from the central ones. */
export async function memberDataOffset(handle: FileHandle, member: ZipMember): Promise<number> {
  const local = await readExactly(handle, member.headerOffset, 30);
  const lv = new DataView(local.buffer);
  if (lv.getUint32(0, true) !== LOCAL) bad(`no local header for ${member.name}`);
  return member.headerOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
}
