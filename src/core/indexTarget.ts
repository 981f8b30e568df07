import { type ErrorContext, XentError } from "../errors.js";

/** Whether y is a class index of C classes: a whole number in [0, C). */
export const isClassIndex = (y: number, C: number) => Number.isInteger(y) && y >= 0 && y < C;

/** The one error for an index target that is neither the ignore index nor a class index. */
export const notAClassIndex = (y: number, C: number, where: ErrorContext = {}) =>
  new XentError("value", `target ${y} is not a class index in [0, ${C})`, where);
