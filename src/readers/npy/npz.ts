import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { crc32, createInflateRaw } from "node:zlib";
import { usage, XentError } from "../../errors.js";
import { describeIoError, openFile } from "../files.js";
import { type NpyArray, openNpy } from "./npy.js";
import { openNpyStream } from "./stream.js";
import { memberDataOffset, type ZipMember, zipMembers } from "./zip.js";

/** Member names looked for when no --logits-key / --targets-key is given, in order. */
export const LOGITS_KEYS = ["logits", "predictions", "probs"];
export const TARGET_KEYS = ["labels", "targets", "y"];

export interface NpzArchive {
  path: string;
  /** Array names: member names without `.npy`. */
  keys: string[];
  members: Map<string, ZipMember>;
}

/** What xent says of pickled inputs, whatever wrote them. */
export const PICKLE_MESSAGE = (what: string) =>
  `${what}: pickled Python objects are not read (unpickling is unsafe: it runs code); save the tensors with numpy.save (NPY/NPZ) or safetensors`;

export async function openNpz(path: string): Promise<NpzArchive> {
  const handle = await openFile(path);
  try {
    const members = await zipMembers(handle, (await handle.stat()).size);
    // torch.save writes a zip of a pickle (archive/data.pkl) and raw storages: not NPZ.
    if (members.some((m) => m.name === "data.pkl" || m.name.endsWith("/data.pkl"))) {
      throw new XentError("format", PICKLE_MESSAGE("a PyTorch file (torch.save)"));
    }
    const map = new Map(members.filter((m) => m.name.endsWith(".npy")).map((m) => [m.name.slice(0, -4), m]));
    return { path, keys: [...map.keys()], members: map };
  } catch (e) {
    throw e instanceof XentError ? e.at({ file: path }) : e;
  } finally {
    await handle.close();
  }
}

/** The key to read: the one asked for, else the first default present; null when none is. */
export function pickKey(
  archive: { path: string; keys: readonly string[] },
  asked: string | undefined,
  defaults: string[],
  flag: string,
): string | null {
  if (asked !== undefined) {
    if (!archive.keys.includes(asked)) {
      throw usage(
        `${flag} ${asked}: no such array in ${archive.path}; it holds ${archive.keys.join(", ") || "none"}`,
      );
    }
    return asked;
  }
  return defaults.find((k) => archive.keys.includes(k)) ?? null;
}

const crcError = (member: ZipMember, path: string) =>
  new XentError("format", `member ${member.name} fails its CRC-32 check (corrupted archive)`, { file: path });

/** A stored member's CRC-32, read through once in 4 MiB pieces before any of it is trusted. */
async function checkCrc(handle: FileHandle, base: number, member: ZipMember, path: string): Promise<void> {
  const piece = new Uint8Array(Math.min(member.size, 4 << 20));
  let crc = 0;
  for (let done = 0; done < member.size; ) {
    const { bytesRead } = await handle.read(
      piece,
      0,
      Math.min(piece.length, member.size - done),
      base + done,
    );
    if (bytesRead === 0) throw new XentError("format", `member ${member.name} is cut short`, { file: path });
    crc = crc32(piece.subarray(0, bytesRead), crc);
    done += bytesRead;
  }
  if (crc !== member.crc) throw crcError(member, path);
}

/**
 * One array of the archive: a stored member is read in place (positional reads, any layout); a
 * deflated one (np.savez_compressed) is inflated as a stream.
 */
export async function npzArray(archive: NpzArchive, key: string): Promise<NpyArray> {
  const member = archive.members.get(key)!;
  const name = `${archive.path}:${member.name}`;
  const handle = await openFile(archive.path);
  let base: number;
  try {
    base = await memberDataOffset(handle, member);
  } catch (e) {
    await handle.close();
    throw e instanceof XentError ? e.at({ file: archive.path }) : e;
  }
  if (member.method === 0) {
    if (base + member.size > (await handle.stat()).size) {
      await handle.close();
      throw new XentError("format", `member ${member.name} reaches past the end of the archive`, {
        file: archive.path,
      });
    }
    await checkCrc(handle, base, member, archive.path).catch(async (e) => {
      await handle.close();
      throw e;
    });
    const array = await openNpy(archive.path, { handle, base, size: member.size, name });
    return { ...array, close: () => handle.close() };
  }
  await handle.close();
  if (member.method !== 8)
    throw new XentError(
      "format",
      `member ${member.name} uses zip method ${member.method}; only stored and deflated are supported`,
      { file: archive.path },
    );
  if (member.compressedSize === 0)
    throw new XentError("format", `member ${member.name} is empty`, { file: archive.path });
  const raw = createReadStream(archive.path, { start: base, end: base + member.compressedSize - 1 });
  const inflate = createInflateRaw();
  raw.on("error", (e) => inflate.destroy(e));
  const bytes = (async function* () {
    let crc = 0;
    let size = 0;
    try {
      for await (const chunk of raw.pipe(inflate)) {
        size += (chunk as Uint8Array).length;
        // More than the directory states: a lie, and a way to fill memory.
        if (size > member.size)
          throw new XentError(
            "format",
            `member ${member.name} inflates beyond its stated ${member.size} bytes`,
            { file: archive.path },
          );
        crc = crc32(chunk as Uint8Array, crc);
        yield chunk as Uint8Array;
      }
    } catch (e) {
      if (e instanceof XentError) throw e;
      throw new XentError("format", `cannot inflate ${member.name}: ${describeIoError(e)}`, {
        file: archive.path,
      });
    }
    if (size !== member.size || crc !== member.crc) throw crcError(member, archive.path);
  })();
  return openNpyStream(bytes, name);
}
