/**
 * How many rows a worker takes at a time from a batch of one column per class: the columns are
 * read where they lie, a segment's rows of each column in one read.
 */

/**
 * Bytes of scores in a segment of uncompressed class columns: a worker reads each column's rows
 * of the segment at once and evaluates them a block (`--chunk-rows`) at a time. A block's 1,048
 * rows of 1,000 float32 columns were reads of 4 KiB: 340 ms of a worker's 960 on 800 MB. 16 MiB
 * was ~3% faster still but took the 800 MB bench in 25 LZ4 batches to 159–162 MiB peak (8 MiB:
 * 147–149 MiB; the target is 160).
 */
export const COLUMN_SEGMENT_BYTES = 8 * 2 ** 20;

/**
 * Rows of a segment of C class columns in a batch of `rows`: whole blocks of chunkRows,
 * ~COLUMN_SEGMENT_BYTES of them, and 8 segments to the batch at least (a batch of 8 blocks or
 * more): threads take segments, and a few large ones would leave threads idle.
 */
export function columnSegmentRows(chunkRows: number, C: number, size: number, rows: number): number {
  const blocks = Math.min(
    Math.floor(COLUMN_SEGMENT_BYTES / (chunkRows * C * size)),
    Math.floor(rows / (8 * chunkRows)),
  );
  return chunkRows * Math.max(1, blocks);
}

/**
 * Rows of a segment read in place from a batch's stored LZ4 blocks (blocks of `blockRows` rows;
 * `rows` when every column is one block): a divisor of blockRows, ~COLUMN_SEGMENT_BYTES of scores,
 * so that no segment crosses a block. 0 when only slivers of a large block divide it (decoded then, as
 * any batch).
 */
export function inPlaceRows(blockRows: number, rows: number, C: number, size: number): number {
  const limit = Math.max(1, Math.floor(COLUMN_SEGMENT_BYTES / (C * size)));
  if (blockRows >= rows) return Math.min(limit, rows);
  let parts = Math.ceil(blockRows / limit);
  while (blockRows % parts !== 0) parts++;
  const step = blockRows / parts;
  return parts === 1 || step >= Math.min(256, limit) ? step : 0;
}
