/** A close that runs its work the first time only: a source may be disposed of by more than one owner. */
export function once(close: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => {
    done ??= close();
    return done;
  };
}
