// The WebAssembly SIMD kernel of xent, as WebAssembly text. Written as a small generator because
// the exp approximation is inlined four times per loop iteration (V8 does not inline wasm calls)
// and the f32 and f64 variants differ only in their loads. `scripts/build-wasm.mjs` compiles it.
//
// Per row of C logits (index target y, or y = -1 for a row to leave alone) it computes, in f64:
//   m = max x, pred = first argmax, above = #{x_c > x_y}, ties = #{c < y : x_c == x_y}, lo = min x,
//   S = Σ e_c, T = Σ e_c·d_c, Q = Σ e_c², D = Σ w_c·d_c   with d_c = x_c − m, e_c = exp(d_c)
// and stores them in a 64-byte record; src/core/wasmKernel.ts turns the sums into losses and
// metrics. D only matters with label smoothing, so each input type has three functions: without
// D, with D = Σ d_c, and with class weights. Rows with a non-finite value are flagged, not
// computed: the TypeScript kernel takes them.

// exp(r) on |r| <= ln2/2: degree-7 polynomial with c0 = 1 exactly (so exp(0) = 1 and the row's
// maximum adds exactly 1 to S), near-minimax with relative error 5.4e-11, fitted by weighted least
// squares on Chebyshev nodes (numpy). Every exp error is relative to its own term, so the sums
// keep about ten digits where a loss needs six (test/core/wasmKernel.test.ts checks 1e-6).
/**
 * The 64-byte record the kernel writes per row and src/core/wasmKernel.ts reads, as byte offsets:
 * m (max score), S = Σe, T = Σe·d, Q = Σe², D = Σw·d (f64 each), xy (the target's score), then
 * pred, above and ties (the target's rank counts) and the flag (i32 each). build-wasm.mjs writes
 * it beside the binary, so neither side spells a number of its own.
 */
export const RECORD = {
  bytes: 64,
  m: 0,
  S: 8,
  T: 16,
  Q: 24,
  D: 32,
  xy: 40,
  pred: 48,
  above: 52,
  ties: 56,
  flag: 60,
};
/** The record's flag: evaluated, ignored (the target is the ignore index), or left to the TypeScript kernel. */
export const FLAG = { used: 0, ignored: 1, fallback: 2 };

const COEFFS = [
  1.0, 1.0000000003304392, 0.5000000078273865, 0.16666664538800421, 0.041666269901544664,
  0.008333659450144342, 0.0013946043633765752, 0.000197281987973844,
];
const LOG2E = Math.LOG2E;
// One-constant range reduction: |k| <= 1022, so k·LN2 errs by under 1e-13, far inside the polynomial's error.
const LN2 = Math.LN2;
// Adding 1.5·2^52 + 1023 rounds d·log2(e) to an integer k (to nearest, ties to even) and leaves
// k + 1023 in the low mantissa bits, which shifted left by 52 are the exponent field of 2^k: no
// float-to-int conversion. d >= -708 keeps k + 1023 >= 1.
const SHIFT = 6755399441055744 + 1023;

const f64 = (x) => `(v128.const f64x2 ${x} ${x})`;

/** Statements splitting $d{id} into $k{id} (k + 1023 in the low bits, see SHIFT) and $r{id} = d − k·ln2. */
function rangeReduce(id) {
  const g = (n) => `(local.get $${n}${id})`;
  return `
      (local.set $k${id} (f64x2.add (f64x2.mul ${g("d")} ${f64(LOG2E)}) ${f64(SHIFT)}))
      (local.set $r${id} (f64x2.sub ${g("d")} (f64x2.mul (f64x2.sub ${g("k")} ${f64(SHIFT)}) ${f64(LN2)})))`;
}

/**
 * Statements computing $e{id} = exp($d{id}) for -708 <= d <= 0; the caller clamps d to -708 first
 * (exp underflows there: such terms add 2.6e-308, which no sum can see).
 */
function exp(id) {
  const g = (n) => `(local.get $${n}${id})`;
  const c = (i) => f64(COEFFS[i]);
  const lin = (a, b) => `(f64x2.add ${c(a)} (f64x2.mul ${g("r")} ${c(b)}))`;
  // Estrin's scheme: a short dependency chain instead of Horner's seven.
  const q03 = `(f64x2.add ${lin(0, 1)} (f64x2.mul ${g("r2")} ${lin(2, 3)}))`;
  const q47 = `(f64x2.add ${lin(4, 5)} (f64x2.mul ${g("r2")} ${lin(6, 7)}))`;
  const poly = `(f64x2.add ${q03} (f64x2.mul ${g("r4")} ${q47}))`;
  const scale = `(i64x2.shl ${g("k")} (i32.const 52))`;
  return `${rangeReduce(id)}
      (local.set $r2${id} (f64x2.mul ${g("r")} ${g("r")}))
      (local.set $r4${id} (f64x2.mul ${g("r2")} ${g("r2")}))
      (local.set $e${id} (f64x2.mul ${poly} ${scale}))`;
}
// The polynomial of exp for float32 inputs: degree 6 with c0 = 1 exactly, fitted like COEFFS,
// evaluated in f32x4 (four lanes where f64x2 has two). Range reduction stays in f64, where
// d = x − m of two floats is exact, so r reaches the f32 polynomial rounded by at most 2e-8
// relative; in f32 arithmetic the polynomial is within 1e-7 of e^r (simulated with numpy on 2·10^6
// points), and the scale 2^k is applied back in f64. Every term keeps about 1.2e-7 relative error,
// so S − 1, T and Q − 1 keep it, and loss, entropy and Brier stay within 3e-7 of the f64 kernel.
const COEFFS32 = [
  1.0, 1.0000000321686884, 0.49999994208307597, 0.16666431250653896, 0.04166800213813802, 0.00837415609785169,
  0.0013843650461448395,
];
const f32x4 = (x) => `(v128.const f32x4 ${x} ${x} ${x} ${x})`;

/**
 * Statements computing $e{a} and $e{b} = exp($d{a}), exp($d{b}) (f64x2 each, -708 <= d <= 0):
 * reduction in f64, the polynomial on the four r values at once in f32x4.
 */
function exp32pair(a, b) {
  const g = (n, id) => `(local.get $${n}${id})`;
  const r = g("r32", a);
  const r2 = g("r2_", a);
  const c = (i) => f32x4(COEFFS32[i]);
  const lin = (i, j) => `(f32x4.add ${c(i)} (f32x4.mul ${r} ${c(j)}))`;
  // (c0 + c1·r) + r²·(c2 + c3·r) + r⁴·(c4 + c5·r + c6·r²): Estrin again, which measured ~10% faster than Horner.
  const q46 = `(f32x4.add ${lin(4, 5)} (f32x4.mul ${r2} ${c(6)}))`;
  const poly = `(f32x4.add (f32x4.add ${lin(0, 1)} (f32x4.mul ${r2} ${lin(2, 3)})) (f32x4.mul (f32x4.mul ${r2} ${r2}) ${q46}))`;
  const high = (v) => `(i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v})`;
  return `${rangeReduce(a)}${rangeReduce(b)}
      (local.set $r32${a} (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero ${g("r", a)}) (f32x4.demote_f64x2_zero ${g("r", b)})))
      (local.set $r2_${a} (f32x4.mul ${r} ${r}))
      (local.set $p32${a} ${poly})
      (local.set $e${a} (f64x2.mul (f64x2.promote_low_f32x4 ${g("p32", a)}) (i64x2.shl ${g("k", a)} (i32.const 52))))
      (local.set $e${b} (f64x2.mul (f64x2.promote_low_f32x4 ${high(g("p32", a))}) (i64x2.shl ${g("k", b)} (i32.const 52))))`;
}
const expLocals = (id) =>
  ["d", "k", "r", "r2", "r4", "e", "r32", "r2_", "p32"].map((n) => `(local $${n}${id} v128)`).join(" ");

/**
 * One row function. `f32`: the row is float32, loaded 16 at a time and widened; else float64, 8
 * at a time. `sums`: "plain" (S, T, Q), "d" (also D = Σ d) or "w" (also D = Σ w·d). Lanes past the
 * row's end (the last, partial group) are masked out.
 */
function rowsFunction(f32, sums) {
  const size = f32 ? 4 : 8;
  // f64x2 vectors per iteration of the second pass. Sixteen float32 elements measured 14% faster
  // than eight: more independent work per iteration, though V8 then spills registers.
  const vectors = f32 ? 8 : 4;
  const group = 2 * vectors;
  const ids = Array.from({ length: vectors }, (_, v) => v);
  // Second pass: the f64x2 vectors of elements [i, i + group), from memory at $p. Float32 pairs are
  // loaded 8 bytes at a time (load64_zero): cheaper than splitting 16-byte loads by shuffles.
  const loads = ids
    .map((v) =>
      f32
        ? `(local.set $d${v} (f64x2.promote_low_f32x4 (v128.load64_zero offset=${8 * v} (local.get $p))))`
        : `(local.set $d${v} (v128.load offset=${16 * v} (local.get $p)))`,
    )
    .join("\n      ");
  // Masks for a partial last group: lane j of vector v holds element i + 2v + j.
  const tailMask = (v) =>
    `(i64x2.lt_s (i64x2.add (local.get $lane) (v128.const i64x2 ${2 * v} ${2 * v + 1})) (local.get $remv))`;
  // d = x − m, masked and clamped, and its part of D.
  const before = (v, masked, clamp) => {
    const d = `(local.get $d${v})`;
    const mask = masked ? tailMask(v) : null;
    const wd = sums === "w" ? `(f64x2.mul ${d} (v128.load offset=${16 * v} (local.get $wp)))` : d;
    return `
      (local.set $d${v} (f64x2.sub ${d} (local.get $mv)))
      ${masked ? `(local.set $d${v} (v128.bitselect ${d} ${f64(-1000)} ${mask}))` : ""}
      ${sums === "plain" ? "" : `(local.set $dd (f64x2.add (local.get $dd) ${masked ? `(v128.and ${wd} ${mask})` : wd}))`}
      ${clamp ? `(local.set $d${v} (f64x2.pmax ${d} ${f64(-708)}))` : ""}`;
  };
  // One accumulator per sum: two (to shorten the chains of adds) measured slower, through spills.
  const after = (v, masked) => `
      ${masked ? `(local.set $e${v} (v128.and (local.get $e${v}) ${tailMask(v)}))` : ""}
      (local.set $s (f64x2.add (local.get $s) (local.get $e${v})))
      (local.set $t (f64x2.add (local.get $t) (f64x2.mul (local.get $e${v}) (local.get $d${v}))))
      (local.set $q (f64x2.add (local.get $q) (f64x2.mul (local.get $e${v}) (local.get $e${v}))))`;
  const exps = f32
    ? ids
        .filter((v) => v % 2 === 0)
        .map((v) => exp32pair(v, v + 1))
        .join("")
    : ids.map((v) => exp(v)).join("");
  const accumulate = (masked, clamp) =>
    ids.map((v) => before(v, masked, clamp)).join("") + exps + ids.map((v) => after(v, masked)).join("");
  // The loop over whole groups. Rows spanning at most 700 (nearly all) need no clamp of d, which
  // measured 4% faster.
  const loop = (clamp) => `
            (block $p2_done (loop $p2
              (br_if $p2_done (i32.ge_u (local.get $i) (local.get $full)))
              ${loads}
              ${accumulate(false, clamp)}
              (local.set $p (i32.add (local.get $p) (i32.const ${group * size})))
              (local.set $wp (i32.add (local.get $wp) (i32.const ${group * 8})))
              (local.set $i (i32.add (local.get $i) (i32.const ${group})))
              (br $p2)))`;
  const load1 = f32 ? "f32.load" : "f64.load";
  const lanes = f32 ? 4 : 2;
  const T = f32 ? "f32x4" : "f64x2";
  const I = f32 ? "i32x4" : "i64x2";
  const scalarT = f32 ? "f32" : "f64";
  const iota = f32 ? "(v128.const i32x4 0 1 2 3)" : "(v128.const i64x2 0 1)";
  // One group of lanes: `vmax` has masked lanes at -inf (for max and the counts), `vmin` at +inf.
  const pass1Update = (vmax, vmin) => `
          (local.set $maxv (${T}.pmax (local.get $maxv) ${vmax}))
          (local.set $minv (${T}.pmin (local.get $minv) ${vmin}))
          (local.set $gtv (${I}.sub (local.get $gtv) (${T}.gt ${vmax} (local.get $xyv))))
          (local.set $eqv (${I}.sub (local.get $eqv) (${T}.eq ${vmax} (local.get $xyv))))`;
  const lane = (v, j) =>
    f32
      ? `(f64.promote_f32 (f32x4.extract_lane ${j} (local.get ${v})))`
      : `(f64x2.extract_lane ${j} (local.get ${v}))`;
  const ilane = (v, j) =>
    f32
      ? `(i32x4.extract_lane ${j} (local.get ${v}))`
      : `(i32.wrap_i64 (i64x2.extract_lane ${j} (local.get ${v})))`;
  const laneReduce = () =>
    Array.from(
      { length: lanes },
      (_, j) => `
        (local.set $m (f64.max (local.get $m) ${lane("$maxv", j)}))
        (local.set $lo (f64.min (local.get $lo) ${lane("$minv", j)}))
        (local.set $above (i32.add (local.get $above) ${ilane("$gtv", j)}))
        (local.set $ties (i32.add (local.get $ties) ${ilane("$eqv", j)}))`,
    ).join("");
  const laneSum = (v) =>
    `(f64.add (f64x2.extract_lane 0 (local.get ${v})) (f64x2.extract_lane 1 (local.get ${v})))`;
  const promote = (x) => (f32 ? `(f64.promote_f32 ${x})` : x);
  return `
  (func (export "rows_${f32 ? "f32" : "f64"}${sums === "plain" ? "" : `_${sums}`}")
    (param $x i32) (param $rows i32) (param $C i32) (param $y i32) (param $w i32) (param $out i32)
    (local $r i32) (local $row i32) (local $i i32) (local $p i32) (local $wp i32) (local $end i32) (local $full i32)
    (local $yr i32) (local $o i32) (local $xy f64) (local $m f64) (local $lo f64) (local $v f64)
    (local $pred i32) (local $above i32) (local $ties i32) (local $c i32)
    (local $vv v128) (local $maxv v128) (local $minv v128) (local $gtv v128) (local $eqv v128)
    (local $xyv v128) (local $lanemask v128) (local $mS v128)
    (local $mv v128) (local $remv v128) (local $lane v128)
    (local $s v128) (local $t v128) (local $q v128) (local $dd v128)
    ${Array.from({ length: f32 ? 8 : 4 }, (_, v) => expLocals(v)).join("\n    ")}
    (block $rows_done (loop $rows_loop
      (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $row (i32.add (local.get $x) (i32.mul (i32.mul (local.get $r) (local.get $C)) (i32.const ${size}))))
      (local.set $o (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const ${Math.log2(RECORD.bytes)}))))
      (local.set $yr (i32.load (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2)))))
      (i32.store offset=${RECORD.flag} (local.get $o) (i32.const ${FLAG.used}))
      (if (i32.ge_s (local.get $yr) (i32.const 0)) (then
        ;; Pass 1: max, first argmax, min, and the target's rank counts, ${lanes} lanes at a time.
        (local.set $xy ${promote(`(${load1} (i32.add (local.get $row) (i32.mul (local.get $yr) (i32.const ${size}))))`)})
        (local.set $xyv (${T}.splat ${f32 ? "(f32.demote_f64 (local.get $xy))" : "(local.get $xy)"}))
        (local.set $maxv (${T}.splat (${scalarT}.const -inf))) (local.set $minv (${T}.splat (${scalarT}.const inf)))
        (local.set $gtv (v128.const i32x4 0 0 0 0)) (local.set $eqv (v128.const i32x4 0 0 0 0))
        (local.set $full (i32.and (local.get $C) (i32.const ${-lanes})))
        (local.set $c (i32.const 0))
        (local.set $p (local.get $row))
        (block $p1_done (loop $p1
          (br_if $p1_done (i32.ge_u (local.get $c) (local.get $full)))
          (local.set $vv (v128.load (local.get $p)))
          ${pass1Update("(local.get $vv)", "(local.get $vv)")}
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $c (i32.add (local.get $c) (i32.const ${lanes})))
          (br $p1)))
        (if (i32.lt_u (local.get $full) (local.get $C)) (then
          (local.set $vv (v128.load (local.get $p)))
          (local.set $lanemask (${I}.lt_s ${iota} (${I}.splat ${f32 ? "" : "(i64.extend_i32_u "}(i32.sub (local.get $C) (local.get $full))${f32 ? "" : ")"})))
          ${pass1Update(`(v128.bitselect (local.get $vv) (${T}.splat (${scalarT}.const -inf)) (local.get $lanemask))`, `(v128.bitselect (local.get $vv) (${T}.splat (${scalarT}.const inf)) (local.get $lanemask))`)}))
        ;; Across lanes: the maximum, its lowest index, the minimum, the counts.
        (local.set $m (f64.const -inf)) (local.set $lo (f64.const inf))
        (local.set $above (i32.const 0)) (local.set $ties (i32.const 0))
        ${laneReduce()}
        ;; The first argmax: the first vector holding m, found after the fact (on average half a row
        ;; of one compare each), which measured faster than tracking indices through pass 1.
        (local.set $mS (${T}.splat ${f32 ? "(f32.demote_f64 (local.get $m))" : "(local.get $m)"}))
        (local.set $c (i32.const 0))
        (local.set $p (local.get $row))
        (block $found (loop $scan
          (br_if $found (i32.ge_u (local.get $c) (local.get $full)))
          (br_if $found (v128.any_true (${T}.eq (v128.load (local.get $p)) (local.get $mS))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $c (i32.add (local.get $c) (i32.const ${lanes})))
          (br $scan)))
        ;; In the vector found, or among the last elements one by one (C past the row when none is: a
        ;; row of NaN, which pass 2 flags).
        (block $pred_done (loop $scan1
          (br_if $pred_done (i32.ge_u (local.get $c) (local.get $C)))
          (br_if $pred_done (${scalarT}.eq (${load1} (local.get $p)) ${f32 ? "(f32.demote_f64 (local.get $m))" : "(local.get $m)"}))
          (local.set $p (i32.add (local.get $p) (i32.const ${size})))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $scan1)))
        (local.set $pred (local.get $c))
        ;; ties counted every class scored as the target, the target too. Only if another one is
        ;; there (rare but for quantized scores) are those before the target counted, one by one.
        (if (i32.gt_s (local.get $ties) (i32.const 1))
          (then
            (local.set $ties (i32.const 0))
            (local.set $c (i32.const 0))
            (local.set $p (local.get $row))
            (block $ties_done (loop $ties_loop
              (br_if $ties_done (i32.ge_u (local.get $c) (local.get $yr)))
              (if (${scalarT}.eq (${load1} (local.get $p)) ${f32 ? "(f32.demote_f64 (local.get $xy))" : "(local.get $xy)"})
                (then (local.set $ties (i32.add (local.get $ties) (i32.const 1)))))
              (local.set $p (i32.add (local.get $p) (i32.const ${size})))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br $ties_loop))))
          (else (local.set $ties (i32.const 0))))
        ;; An infinity shows in m or lo: such rows go to the TypeScript kernel. pmax/pmin pass NaN
        ;; over, but a NaN anywhere makes S NaN in pass 2, which flags the row there.
        (if (i32.or (f64.eq (local.get $m) (f64.const inf)) (f64.eq (local.get $lo) (f64.const -inf)))
          (then (i32.store offset=${RECORD.flag} (local.get $o) (i32.const ${FLAG.fallback})))
          (else
            ;; Pass 2: exp sums, ${group} elements per iteration, the last group masked.
            (local.set $mv (f64x2.splat (local.get $m)))
            (local.set $s ${f64(0)}) (local.set $t ${f64(0)}) (local.set $q ${f64(0)}) (local.set $dd ${f64(0)})
            (local.set $full (i32.and (local.get $C) (i32.const ${-group})))
            (local.set $i (i32.const 0))
            (local.set $p (local.get $row))
            (local.set $wp (local.get $w))
            (if (f64.le (f64.sub (local.get $m) (local.get $lo)) (f64.const 700))
              (then ${loop(false)})
              (else ${loop(true)}))
            (if (i32.lt_u (local.get $full) (local.get $C)) (then
              (local.set $remv (i64x2.splat (i64.extend_i32_u (i32.sub (local.get $C) (local.get $full)))))
              (local.set $lane (v128.const i64x2 0 0))
              ${loads}
              ${accumulate(true, true)}))
            (local.set $v ${laneSum("$s")})
            (f64.store offset=${RECORD.S} (local.get $o) (local.get $v))
            (if (f64.ne (local.get $v) (local.get $v)) (then (i32.store offset=${RECORD.flag} (local.get $o) (i32.const ${FLAG.fallback}))))
            (f64.store offset=${RECORD.T} (local.get $o) ${laneSum("$t")})
            (f64.store offset=${RECORD.Q} (local.get $o) ${laneSum("$q")})
            (f64.store offset=${RECORD.D} (local.get $o) ${laneSum("$dd")})))
        (f64.store offset=${RECORD.m} (local.get $o) (local.get $m))
        (f64.store offset=${RECORD.xy} (local.get $o) (local.get $xy))
        (i32.store offset=${RECORD.pred} (local.get $o) (local.get $pred))
        (i32.store offset=${RECORD.above} (local.get $o) (local.get $above))
        (i32.store offset=${RECORD.ties} (local.get $o) (local.get $ties)))
        (else (i32.store offset=${RECORD.flag} (local.get $o) (i32.const ${FLAG.ignored}))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows_loop))))`;
}

// log z for z = 1 + e in [1, 2]: with s = (z − 1)/(z + 1) in [0, 1/3], log z = 2s + s³·P(s²), P of
// degree 7 fitted by least squares on Chebyshev nodes against mpmath (numpy): relative error 6.6e-15.
// z − 1 is exact for z in [1, 2], so z is rounded as PyTorch's log(1 + e) rounds it.
const LOG_COEFFS = [
  0.6666666666665498, 0.4000000001337126, 0.2857142606774119, 0.22222400300671344, 0.1817562587992387,
  0.15500629901323285, 0.12148080918677286, 0.17821804519482515,
];

/**
 * The per-row outputs of the binary function, one array after another at `out`, each of `n` rows
 * rounded up to a pair: f64 loss, nll, p, brier, flag (0 used, 1 ignored, 2 left to TypeScript),
 * then i32 pred (p > threshold), target (y > 0.5) and rank (0 when they agree), then u8 status (the
 * flag). The function returns how many rows are flagged.
 */
export const BINARY_OUTPUTS = { f64: ["loss", "nll", "p", "brier", "flag"], i32: ["pred", "target", "rank"] };
const F64_OUT = Object.fromEntries(BINARY_OUTPUTS.f64.map((name, k) => [name, k]));
const I32_OUT = Object.fromEntries(BINARY_OUTPUTS.i32.map((name, k) => [name, k]));

/**
 * Binary cross-entropy with logits, two rows at a time in f64x2: x at $x (f32 or f64), targets y at
 * $y (f64), the ignore index, pos_weight, smoothing e and the rows' outputs at $out. Per row, with
 * PyTorch's formula (see src/core/sigmoidLoss.ts): E = exp(−|x|), L = log(1 + E), m = max(−x, 0),
 * y' = y(1 − e) + e/2, loss = ((1 − y')x + m) + L, or (1 − y')x + ((pw − 1)y' + 1)(L + m) with a
 * pos_weight pw, nll the first with y,
 * p = (x ≥ 0 ? 1 : E)/(1 + E), brier = (p − y)². A row whose x is not finite or whose y is outside
 * [0, 1] (and not the ignore index) is flagged for the TypeScript kernel, which gives PyTorch's
 * NaN/inf or the error.
 */
function binaryFunction(f32) {
  const v = (name) => `(local.get $${name})`;
  const load = f32
    ? `(f64x2.promote_low_f32x4 (v128.load64_zero (i32.add ${v("x")} (i32.shl ${v("r")} (i32.const 2)))))`
    : `(v128.load (i32.add ${v("x")} (i32.shl ${v("r")} (i32.const 3))))`;
  const c = (i) => f64(LOG_COEFFS[i]);
  const lin = (a, b) => `(f64x2.add ${c(a)} (f64x2.mul ${v("w")} ${c(b)}))`;
  const w2 = `(f64x2.mul ${v("w")} ${v("w")})`;
  const poly = `(f64x2.add (f64x2.add ${lin(0, 1)} (f64x2.mul ${v("w2")} ${lin(2, 3)})) (f64x2.mul (f64x2.mul ${v("w2")} ${v("w2")}) (f64x2.add ${lin(4, 5)} (f64x2.mul ${v("w2")} ${lin(6, 7)}))))`;
  const at = (k) =>
    `(i32.add ${v("out")} (i32.add (i32.mul ${v("stride")} (i32.const ${k})) (i32.shl ${v("r")} (i32.const 3))))`;
  // i32 array k (after the five f64 ones): lane 0 at row r, lane 1 at row r + 1.
  const i32At = (k) =>
    `(i32.add ${v("out")} (i32.add (i32.add (i32.mul ${v("stride")} (i32.const ${BINARY_OUTPUTS.f64.length})) (i32.mul ${v("stride32")} (i32.const ${k}))) (i32.shl ${v("r")} (i32.const 2))))`;
  const store32 = (k, vec) => `
        (local.set $lanes ${vec})
        (i32.store ${i32At(k)} (i32x4.extract_lane 0 ${v("lanes")}))
        (i32.store offset=4 ${i32At(k)} (i32x4.extract_lane 2 ${v("lanes")}))`;
  const statusAt = `(i32.add ${v("out")} (i32.add (i32.add (i32.mul ${v("stride")} (i32.const ${BINARY_OUTPUTS.f64.length})) (i32.mul ${v("stride32")} (i32.const ${BINARY_OUTPUTS.i32.length}))) ${v("r")}))`;
  const one = "(v128.const i64x2 1 1)";
  return `
  (func (export "binary_${f32 ? "f32" : "f64"}") (param $x i32) (param $y i32) (param $n i32) (param $out i32)
      (param $ignore f64) (param $pw f64) (param $smoothing f64) (param $threshold f64) (result i32)
    (local $r i32) (local $stride i32) (local $stride32 i32) (local $xs v128) (local $ys v128) (local $ysm v128) (local $z v128)
    (local $s v128) (local $w v128) (local $w2 v128) (local $L v128) (local $m v128) (local $p v128)
    (local $bad v128) (local $ign v128) (local $flag v128) (local $lanes v128) (local $yhat v128) (local $yy v128)
    (local $flagged i32)
    ${expLocals(0)}
    ;; each output array holds n rows rounded up to a pair
    (local.set $stride (i32.shl (i32.and (i32.add ${v("n")} (i32.const 1)) (i32.const -2)) (i32.const 3)))
    (local.set $stride32 (i32.shr_u ${v("stride")} (i32.const 1)))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u ${v("r")} ${v("n")}))
        (local.set $xs ${load})
        (local.set $ys (v128.load (i32.add ${v("y")} (i32.shl ${v("r")} (i32.const 3)))))
        (local.set $d0 (f64x2.max (f64x2.neg (f64x2.abs ${v("xs")})) ${f64(-708)}))${exp(0)}
        (local.set $z (f64x2.add ${f64(1)} ${v("e0")}))
        (local.set $s (f64x2.div (f64x2.sub ${v("z")} ${f64(1)}) (f64x2.add ${v("z")} ${f64(1)})))
        (local.set $w (f64x2.mul ${v("s")} ${v("s")}))
        (local.set $w2 ${w2})
        (local.set $L (f64x2.add (f64x2.add ${v("s")} ${v("s")}) (f64x2.mul (f64x2.mul ${v("s")} ${v("w")}) ${poly})))
        (local.set $m (f64x2.max (f64x2.neg ${v("xs")}) ${f64(0)}))
        (local.set $ysm (f64x2.add (f64x2.mul ${v("ys")} (f64x2.sub ${f64(1)} (f64x2.splat ${v("smoothing")})))
          (f64x2.mul ${f64(0.5)} (f64x2.splat ${v("smoothing")}))))
        ;; PyTorch's two orders: ((1 − y)x + m) + L without pos_weight (so that x + m cancels
        ;; exactly for a confident right answer), (1 − y)x + lw·(L + m) with it
        (v128.store ${at(F64_OUT.loss)} (select (result v128)
          (f64x2.add (f64x2.add (f64x2.mul (f64x2.sub ${f64(1)} ${v("ysm")}) ${v("xs")}) ${v("m")}) ${v("L")})
          (f64x2.add (f64x2.mul (f64x2.sub ${f64(1)} ${v("ysm")}) ${v("xs")})
            (f64x2.mul (f64x2.add (f64x2.mul (f64x2.sub (f64x2.splat ${v("pw")}) ${f64(1)}) ${v("ysm")}) ${f64(1)})
              (f64x2.add ${v("L")} ${v("m")})))
          (f64.eq ${v("pw")} (f64.const 1))))
        (v128.store ${at(F64_OUT.nll)} (f64x2.add (f64x2.add (f64x2.mul (f64x2.sub ${f64(1)} ${v("ys")}) ${v("xs")}) ${v("m")}) ${v("L")}))
        (local.set $p (f64x2.div (v128.bitselect ${f64(1)} ${v("e0")} (f64x2.ge ${v("xs")} ${f64(0)})) ${v("z")}))
        (v128.store ${at(F64_OUT.p)} ${v("p")})
        (v128.store ${at(F64_OUT.brier)} (f64x2.mul (f64x2.sub ${v("p")} ${v("ys")}) (f64x2.sub ${v("p")} ${v("ys")})))
        ;; flags: 1 for the ignore index; else 2 for a non-finite x or a target outside [0, 1]
        (local.set $ign (f64x2.eq ${v("ys")} (f64x2.splat ${v("ignore")})))
        (local.set $bad (v128.or (v128.not (f64x2.lt (f64x2.abs ${v("xs")}) ${f64("inf")}))
          (v128.not (v128.and (f64x2.ge ${v("ys")} ${f64(0)}) (f64x2.le ${v("ys")} ${f64(1)})))))
        (local.set $flag (v128.bitselect ${f64(1)} (v128.and ${v("bad")} ${f64(2)}) ${v("ign")}))
        (v128.store ${at(F64_OUT.flag)} ${v("flag")})
        (local.set $yhat (v128.and (f64x2.gt ${v("p")} (f64x2.splat ${v("threshold")})) ${one}))
        (local.set $yy (v128.and (f64x2.gt ${v("ys")} ${f64(0.5)}) ${one}))${store32(I32_OUT.pred, v("yhat"))}${store32(I32_OUT.target, v("yy"))}${store32(I32_OUT.rank, `(v128.xor ${v("yhat")} ${v("yy")})`)}
        (local.set $lanes (i32x4.trunc_sat_f64x2_s_zero ${v("flag")}))
        (i32.store8 ${statusAt} (i32x4.extract_lane 0 ${v("lanes")}))
        (i32.store8 offset=1 ${statusAt} (i32x4.extract_lane 1 ${v("lanes")}))
        ;; flagged rows of the pair that exist (the second lane of an odd n does not)
        (if (i32.ne (i32x4.extract_lane 0 ${v("lanes")}) (i32.const 0))
          (then (local.set $flagged (i32.add ${v("flagged")} (i32.const 1)))))
        (if (i32.and (i32.ne (i32x4.extract_lane 1 ${v("lanes")}) (i32.const 0))
                     (i32.lt_u (i32.add ${v("r")} (i32.const 1)) ${v("n")}))
          (then (local.set $flagged (i32.add ${v("flagged")} (i32.const 1)))))
        (local.set $r (i32.add ${v("r")} (i32.const 2)))
        (br $pairs)))
    ${v("flagged")})`;
}

/**
 * Half precision widened to float32, eight values a loop: `n` values from $src (u16 each) to $dst
 * (f32), rounded up to eight (both regions are padded). float16: the exponent and mantissa bits
 * moved up 13 and multiplied by 2^112, which rebiases normals and renormalises subnormals exactly;
 * infinities and NaNs (exponent 31) take exponent 255 with their mantissa; then the sign.
 * bfloat16: the bits moved to the top half.
 */
function widenFunction(kind) {
  const i32 = (x) => `(v128.const i32x4 ${x} ${x} ${x} ${x})`;
  const convert = (h) =>
    kind === "bf16"
      ? `(i32x4.shl ${h} (i32.const 16))`
      : `(v128.or
          (v128.bitselect
            (v128.or (i32x4.shl (v128.and ${h} ${i32(0x7fff)}) (i32.const 13)) ${i32(0x7f800000)})
            (f32x4.mul (i32x4.shl (v128.and ${h} ${i32(0x7fff)}) (i32.const 13)) (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
            (i32x4.eq (v128.and ${h} ${i32(0x7c00)}) ${i32(0x7c00)}))
          (i32x4.shl (v128.and ${h} ${i32(0x8000)}) (i32.const 16)))`;
  return `
  (func (export "widen_${kind}") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $v v128) (local $h v128)
    (block $done
      (loop $eight
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $h (i32x4.extend_low_i16x8_u (local.get $v)))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))) ${convert("(local.get $h)")})
        (local.set $h (i32x4.extend_high_i16x8_u (local.get $v)))
        (v128.store offset=16 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))) ${convert("(local.get $h)")})
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $eight))))`;
}

/**
 * Class columns (class j's `rows` values at src + j·column) laid out as rows (row i's C values at
 * dst + i·C), 16 columns at a time so that each row's 16 values are one run of stores. Values
 * move as integers of their width: bit for bit. (In JavaScript this took 90 ms a worker for
 * 200 MB of float32 class columns.) float32 goes in 4 × 4 SIMD tiles: 10 → 3 ms per 100 MB with
 * the columns in cache, 0.99 → 0.94 s on the 800 MB bench's class columns.
 */
function interleaveFunction(f32) {
  const [t, size] = f32 ? ["i32", 4] : ["i64", 8];
  // A full group of 16 columns, float32: 4 rows at a time, each 4 × 4 tile of values (4 rows of 4
  // columns, loaded as 4 columns' runs) transposed with shuffles, bits unchanged. The rows left
  // and a last group of fewer than 16 columns take the loop below.
  const tile = (q) => `
                (local.set $s (i32.add (local.get $src)
                  (i32.add (i32.mul (i32.add (local.get $j0) (i32.const ${4 * q})) (local.get $stride)) (i32.mul (local.get $i) (i32.const 4)))))
                (local.set $v0 (v128.load (local.get $s)))
                (local.set $v1 (v128.load (i32.add (local.get $s) (local.get $stride))))
                (local.set $v2 (v128.load (i32.add (local.get $s) (i32.mul (local.get $stride) (i32.const 2)))))
                (local.set $v3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $stride) (i32.const 3)))))
                (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
                (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
                (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
                (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
                (local.set $d (i32.add (local.get $dst)
                  (i32.mul (i32.add (i32.mul (local.get $i) (local.get $C)) (i32.add (local.get $j0) (i32.const ${4 * q}))) (i32.const 4))))
                (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                (v128.store (i32.add (local.get $d) (local.get $rowBytes))
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                (v128.store (i32.add (local.get $d) (i32.mul (local.get $rowBytes) (i32.const 2)))
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                (v128.store (i32.add (local.get $d) (i32.mul (local.get $rowBytes) (i32.const 3)))
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))`;
  // float64: 2 × 2 tiles (2 rows of 2 columns), 8 to a group of 16 columns.
  const pair = (q) => `
                (local.set $s (i32.add (local.get $src)
                  (i32.add (i32.mul (i32.add (local.get $j0) (i32.const ${2 * q})) (local.get $stride)) (i32.mul (local.get $i) (i32.const 8)))))
                (local.set $v0 (v128.load (local.get $s)))
                (local.set $v1 (v128.load (i32.add (local.get $s) (local.get $stride))))
                (local.set $d (i32.add (local.get $dst)
                  (i32.mul (i32.add (i32.mul (local.get $i) (local.get $C)) (i32.add (local.get $j0) (i32.const ${2 * q}))) (i32.const 8))))
                (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $v0) (local.get $v1)))
                (v128.store (i32.add (local.get $d) (local.get $rowBytes))
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $v0) (local.get $v1)))`;
  const [height, tiles] = f32 ? [4, [0, 1, 2, 3].map(tile)] : [2, [0, 1, 2, 3, 4, 5, 6, 7].map(pair)];
  const simdRows = `
        (if (i32.eq (local.get $g) (i32.const 16))
          (then
            (block $tiles_done
              (loop $tiles
                (br_if $tiles_done (i32.gt_u (i32.add (local.get $i) (i32.const ${height})) (local.get $rows)))${tiles.join("")}
                (local.set $i (i32.add (local.get $i) (i32.const ${height})))
                (br $tiles)))))`;
  return `
  (func (export "interleave_${f32 ? "f32" : "f64"}") (param $src i32) (param $dst i32) (param $rows i32) (param $C i32) (param $column i32)
    (local $j0 i32) (local $g i32) (local $i i32) (local $k i32) (local $s i32) (local $d i32) (local $stride i32)
    (local $rowBytes i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $stride (i32.mul (local.get $column) (i32.const ${size})))
    (local.set $rowBytes (i32.mul (local.get $C) (i32.const ${size})))
    (block $columns_done
      (loop $columns
        (br_if $columns_done (i32.ge_u (local.get $j0) (local.get $C)))
        (local.set $g (i32.sub (local.get $C) (local.get $j0)))
        (if (i32.gt_u (local.get $g) (i32.const 16)) (then (local.set $g (i32.const 16))))
        (local.set $i (i32.const 0))${simdRows}
        (block $rows_done
          (loop $row
            (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
            (local.set $d (i32.add (local.get $dst)
              (i32.mul (i32.add (i32.mul (local.get $i) (local.get $C)) (local.get $j0)) (i32.const ${size}))))
            (local.set $s (i32.add (local.get $src)
              (i32.add (i32.mul (local.get $j0) (local.get $stride)) (i32.mul (local.get $i) (i32.const ${size})))))
            (local.set $k (i32.const 0))
            (block $values_done
              (loop $value
                (br_if $values_done (i32.ge_u (local.get $k) (local.get $g)))
                (${t}.store (local.get $d) (${t}.load (local.get $s)))
                (local.set $d (i32.add (local.get $d) (i32.const ${size})))
                (local.set $s (i32.add (local.get $s) (local.get $stride)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $value)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $row)))
        (local.set $j0 (i32.add (local.get $j0) (i32.const 16)))
        (br $columns))))`;
}

export function kernelWat() {
  return `(module
  (memory (export "memory") 1)
  ${["plain", "d", "w"].flatMap((sums) => [rowsFunction(true, sums), rowsFunction(false, sums)]).join("\n")}
  ${binaryFunction(true)}
  ${binaryFunction(false)}
  ${widenFunction("f16")}
  ${widenFunction("bf16")}
  ${interleaveFunction(true)}
  ${interleaveFunction(false)}
)
`;
}
