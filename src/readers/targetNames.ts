/** Column names a target column is recognised by (CSV, Arrow), compared case-insensitively. */
export const TARGET_NAMES = ["label", "target", "y", "class"];
