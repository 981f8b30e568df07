import type { NpyArray } from "./npy/npy.js";
import { type NpzArchive, npzArray } from "./npy/npz.js";
import { type SafetensorsFile, safetensorsArray } from "./safetensors.js";

/**
 * A file of named arrays (NPZ, safetensors): predictions and targets are picked by key
 * (`--logits-key`, `--targets-key`, or the default names) and read as NPY arrays.
 */
export interface TensorArchive {
  path: string;
  format: "npz" | "safetensors";
  keys: string[];
  array(key: string): Promise<NpyArray>;
  /** What `xent inspect` lists: each array with its dtype, shape and how it is stored. */
  describe(): Promise<{ key: string; dtype: string; shape: number[]; compressed: boolean }[]>;
}

export function npzTensors(archive: NpzArchive): TensorArchive {
  return {
    path: archive.path,
    format: "npz",
    keys: archive.keys,
    array: (key) => npzArray(archive, key),
    async describe() {
      const out = [];
      for (const key of archive.keys) {
        const array = await npzArray(archive, key);
        out.push({
          key,
          dtype: array.header.dtype.name,
          shape: array.header.shape,
          compressed: archive.members.get(key)!.method === 8,
        });
        await array.close();
      }
      return out;
    },
  };
}

export function safetensorsTensors(file: SafetensorsFile): TensorArchive {
  return {
    path: file.path,
    format: "safetensors",
    keys: file.keys,
    array: (key) => safetensorsArray(file, key),
    describe: async () =>
      file.keys.map((key) => {
        const t = file.tensors.get(key)!;
        return { key, dtype: t.dtype.name, shape: t.shape, compressed: false };
      }),
  };
}
