// The exact sums of binary runs in WebAssembly, as WebAssembly text: what Stats.addSigmoid does per
// row for `--task binary` (counts, calibration bins, and the exact sums of loss, nll, Brier score,
// the bins' confidences and soft targets), over a block of RowResults copied into memory.
// `scripts/build-wasm.mjs` compiles it; src/metrics/binarySums.ts runs it and
// test/metrics/binarySums.test.ts holds it to the TypeScript path bit for bit.
//
// An exact sum is FastExactSum's fixed-point accumulator with i64 chunks: a finite double is an
// integer m < 2^53 times 2^(s − 1074); its bits land in 32-bit-aligned chunks k, k + 1, k + 2
// (k = s >> 5), each gaining less than 2^32 per add, so 2^31 adds fit in an i64. The caller
// hands the chunks to FastExactSum after every block (at most 2^30 rows) and zeroes them.

/** 32-bit chunks of an accumulator, as FastExactSum's (bits −1074 … 1024 and two for carries). */
export const CHUNKS = 68;
/** Bins of torchmetrics' binary calibration error: [k/15, (k+1)/15) and p = 1 alone. */
export const BINS = 16;
/**
 * The memory layout, in bytes: accumulators (CHUNKS i64 chunks, then +inf, −inf and NaN counts),
 * counters (f64), the bins' left edges (f64), and where a block's arrays may start.
 */
export const LAYOUT = (() => {
  const accBytes = (CHUNKS + 3) * 8;
  const acc = { loss: 0, nll: 1, brier: 2, confidence: 3, target: 3 + BINS };
  const accCount = 3 + 2 * BINS;
  const counters = accCount * accBytes;
  const count = {
    used: 0,
    ignored: 1,
    skipped: 2,
    correct: 3,
    positives: 4,
    predicted: 5,
    tp: 6,
    bins: 7,
    ones: 7 + BINS,
  };
  const counterCount = 7 + 2 * BINS;
  const edges = counters + counterCount * 8;
  const data = Math.ceil((edges + (BINS + 1) * 8) / 64) * 64;
  return { accBytes, acc, accCount, counters, count, counterCount, edges, data };
})();

const L = LAYOUT;

/** Statements adding f64 `$x` exactly into the accumulator at byte address `addr` (an i32 expression). */
function addExact(addr) {
  return `
      (local.set $u (i64.reinterpret_f64 (local.get $x)))
      (local.set $e (i32.wrap_i64 (i64.and (i64.shr_u (local.get $u) (i64.const 52)) (i64.const 2047))))
      (local.set $a ${addr})
      (block $done
        (if (i32.eq (local.get $e) (i32.const 2047))
          (then
            ;; +inf, -inf or NaN: counted apart
            (local.set $a (i32.add (local.get $a)
              (i32.const ${CHUNKS * 8})))
            (if (f64.ne (local.get $x) (local.get $x))
              (then (local.set $a (i32.add (local.get $a) (i32.const 16))))
              (else (if (f64.lt (local.get $x) (f64.const 0)) (then (local.set $a (i32.add (local.get $a) (i32.const 8)))))))
            (i64.store (local.get $a) (i64.add (i64.load (local.get $a)) (i64.const 1)))
            (br $done)))
        (local.set $m (i64.and (local.get $u) (i64.const 0xfffffffffffff)))
        (if (i32.eqz (local.get $e))
          (then
            (br_if $done (i64.eqz (local.get $m)))
            (local.set $e (i32.const 1)))
          (else (local.set $m (i64.or (local.get $m) (i64.const 0x10000000000000)))))
        ;; the lowest bit sits at s = e - 1 above 2^-1074: chunk k = s >> 5, offset o = s & 31
        (local.set $s (i32.sub (local.get $e) (i32.const 1)))
        (local.set $a (i32.add (local.get $a) (i32.shl (i32.shr_u (local.get $s) (i32.const 5)) (i32.const 3))))
        (local.set $o (i64.extend_i32_u (i32.and (local.get $s) (i32.const 31))))
        (local.set $c0 (i64.and (i64.shl (local.get $m) (local.get $o)) (i64.const 0xffffffff)))
        (local.set $rest (i64.shr_u (local.get $m) (i64.sub (i64.const 32) (local.get $o))))
        (local.set $c1 (i64.and (local.get $rest) (i64.const 0xffffffff)))
        (local.set $c2 (i64.shr_u (local.get $rest) (i64.const 32)))
        (if (i64.lt_s (local.get $u) (i64.const 0))
          (then
            (local.set $c0 (i64.sub (i64.const 0) (local.get $c0)))
            (local.set $c1 (i64.sub (i64.const 0) (local.get $c1)))
            (local.set $c2 (i64.sub (i64.const 0) (local.get $c2)))))
        (i64.store (local.get $a) (i64.add (i64.load (local.get $a)) (local.get $c0)))
        (i64.store offset=8 (local.get $a) (i64.add (i64.load offset=8 (local.get $a)) (local.get $c1)))
        (i64.store offset=16 (local.get $a) (i64.add (i64.load offset=16 (local.get $a)) (local.get $c2))))`;
}

const accAt = (index) => `(i32.const ${index * L.accBytes})`;
const accOfBin = (first) =>
  `(i32.add (i32.const ${first * L.accBytes}) (i32.mul (local.get $bin) (i32.const ${L.accBytes})))`;
const counter = (index) => `(i32.const ${L.counters + index * 8})`;
// The seven scalar counts live in i32 locals during a call (rows per call < 2^31) and are added
// to memory at its end, instead of a load and a store per count and row (no change measurable
// above this machine's noise, ±15%).
const COUNTS = ["used", "ignored", "skipped", "correct", "positives", "predicted", "tp"];
const bump = (index) => {
  const name = COUNTS.find((k) => L.count[k] === index);
  return `(local.set $n_${name} (i32.add (local.get $n_${name}) (i32.const 1)))`;
};
const bumpBin = (first) => `
      (local.set $a (i32.add (i32.const ${L.counters + first * 8}) (i32.shl (local.get $bin) (i32.const 3))))
      (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64.const 1)))`;

export function sumsWat() {
  const edges = Array.from({ length: BINS + 1 }, (_, k) => k / 15);
  const edgeBytes = Buffer.alloc(edges.length * 8);
  edges.forEach((x, k) => {
    edgeBytes.writeDoubleLE(x, 8 * k);
  });
  const dataString = [...edgeBytes].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
  const c = L.count;
  return `(module
  (memory (export "memory") 1)
  (data (i32.const ${L.edges}) "${dataString}")
  ;; n rows: status (u8), loss, nll, brier, p, value (f64), target, pred (i32), each an array at its address
  (func (export "binary") (param $n i32) (param $status i32) (param $loss i32) (param $nll i32)
      (param $brier i32) (param $p i32) (param $value i32) (param $target i32) (param $pred i32)
    (local $r i32) (local $st i32) (local $x f64) (local $u i64) (local $e i32) (local $a i32) (local $m i64)
    (local $s i32) (local $o i64) (local $c0 i64) (local $c1 i64) (local $c2 i64) (local $rest i64)
    (local $bin i32) (local $pv f64) (local $y i32) (local $yhat i32) (local $v f64)
    ${COUNTS.map((k) => `(local $n_${k} i32)`).join(" ")}
    (block $end
      (loop $row
        (br_if $end (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $st (i32.load8_u (i32.add (local.get $status) (local.get $r))))
        (block $next
          (if (i32.eq (local.get $st) (i32.const 1)) (then ${bump(c.ignored)} (br $next)))
          (if (i32.eq (local.get $st) (i32.const 2)) (then ${bump(c.skipped)} (br $next)))
          ${bump(c.used)}
          (local.set $x (f64.load (i32.add (local.get $loss) (i32.shl (local.get $r) (i32.const 3)))))${addExact(accAt(L.acc.loss))}
          (local.set $x (f64.load (i32.add (local.get $nll) (i32.shl (local.get $r) (i32.const 3)))))${addExact(accAt(L.acc.nll))}
          (local.set $x (f64.load (i32.add (local.get $brier) (i32.shl (local.get $r) (i32.const 3)))))${addExact(accAt(L.acc.brier))}
          (local.set $y (i32.load (i32.add (local.get $target) (i32.shl (local.get $r) (i32.const 2)))))
          (local.set $yhat (i32.load (i32.add (local.get $pred) (i32.shl (local.get $r) (i32.const 2)))))
          (if (i32.eq (local.get $y) (local.get $yhat)) (then ${bump(c.correct)}))
          (if (i32.eq (local.get $y) (i32.const 1))
            (then ${bump(c.positives)} (if (i32.eq (local.get $yhat) (i32.const 1)) (then ${bump(c.tp)}))))
          (if (i32.eq (local.get $yhat) (i32.const 1)) (then ${bump(c.predicted)}))
          ;; the calibration bin, as binaryEceBin: floor(15p) clamped, then moved to k/15 <= p < (k+1)/15
          (local.set $pv (f64.load (i32.add (local.get $p) (i32.shl (local.get $r) (i32.const 3)))))
          (local.set $bin (i32.trunc_sat_f64_s (f64.floor (f64.mul (local.get $pv) (f64.const 15)))))
          (if (i32.lt_s (local.get $bin) (i32.const 0)) (then (local.set $bin (i32.const 0))))
          (if (i32.gt_s (local.get $bin) (i32.const 15)) (then (local.set $bin (i32.const 15))))
          (block $down (loop $lower
            (br_if $down (i32.eqz (local.get $bin)))
            (br_if $down (i32.eqz (f64.lt (local.get $pv)
              (f64.load (i32.add (i32.const ${L.edges}) (i32.shl (local.get $bin) (i32.const 3)))))))
            (local.set $bin (i32.sub (local.get $bin) (i32.const 1)))
            (br $lower)))
          (block $up (loop $raise
            (br_if $up (i32.ge_s (local.get $bin) (i32.const 15)))
            (br_if $up (i32.eqz (f64.ge (local.get $pv)
              (f64.load (i32.add (i32.const ${L.edges + 8}) (i32.shl (local.get $bin) (i32.const 3)))))))
            (local.set $bin (i32.add (local.get $bin) (i32.const 1)))
            (br $raise)))${bumpBin(c.bins)}
          (local.set $x (local.get $pv))${addExact(accOfBin(L.acc.confidence))}
          (local.set $v (f64.load (i32.add (local.get $value) (i32.shl (local.get $r) (i32.const 3)))))
          (if (f64.eq (local.get $v) (f64.const 1))
            (then ${bumpBin(c.ones)})
            (else
              (if (f64.ne (local.get $v) (f64.const 0))
                (then (local.set $x (local.get $v))${addExact(accOfBin(L.acc.target))})))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))
    ${COUNTS.map((k) => `(f64.store ${counter(L.count[k])} (f64.add (f64.load ${counter(L.count[k])}) (f64.convert_i32_u (local.get $n_${k}))))`).join("\n    ")})
)`;
}
