import type { RowBlock } from "../core/types.js";
import { withinRows } from "../core/withinRows.js";
import { shiftLabels, withSequenceNumbers, withSequences } from "../lm/shiftLabels.js";
import { withGroups } from "../readers/groups.js";
import { join } from "../readers/join.js";
import type { EvalPlan } from "./plan.js";

/**
 * A planned run's rows as the kernels take them, for eval and compare alike: predictions joined
 * with their targets, then `--groups FILE`, sequence numbers, `--shift-labels` and
 * `--per-sequence`. `transformed`: the blocks are not the files' rows as stored, so worker
 * threads must not read the files themselves (they would score the unshifted targets).
 */
export function planBlocks(
  plan: EvalPlan,
  lm: { shiftLabels: boolean; perSequence: boolean },
): { blocks: AsyncIterable<RowBlock>; transformed: boolean } {
  const joined = join(plan.predictions, plan.targets, {
    chunkRows: plan.chunkRows,
    classNames: plan.classNames,
    ignoreIndex: plan.loss.ignoreIndex,
    task: plan.loss.task,
    // --groups FILE is lined up row by row from the start.
    fromRow: plan.groups === null ? (plan.range?.start ?? 0) : 0,
  });
  let blocks: AsyncIterable<RowBlock> = plan.groups
    ? withGroups(joined, plan.groups, plan.chunkRows)
    : joined;
  if (plan.sequenceLength !== null)
    blocks = withSequenceNumbers(
      blocks,
      plan.sequenceLength,
      plan.targets?.info.path ?? plan.predictions.info.path,
    );
  if (lm.shiftLabels) blocks = shiftLabels(blocks, plan.loss.ignoreIndex);
  if (lm.perSequence) blocks = withSequences(blocks);
  const transformed = blocks !== joined;
  // Last: the shift above has seen the label after the range's last row. (Worker threads that
  // read the file take the range's segments themselves.)
  if (plan.range) blocks = withinRows(blocks, plan.range.start, plan.range.end);
  return { blocks, transformed };
}
