// XXH64 in WebAssembly, as WebAssembly text: the checksum zstd frames end with (the low 32 bits of
// XXH64 of the frame's content, seed 0), which the zstd decoder xent uses (fzstd) does not check.
// src/readers/xxh64.ts feeds it; test/readers/xxh64.test.ts holds it to published test vectors.
//
// Memory: the four lane accumulators (i64) at 0..31, then the data a call hashes from byte 64.
// stripes(n) folds n 32-byte stripes at 64 into the lanes; digest(len, total) finishes the hash
// from the lanes (when total >= 32) and the < 32 tail bytes at 64.

const P1 = "0x9E3779B185EBCA87";
const P2 = "0xC2B2AE3D27D4EB4F";
const P3 = "0x165667B19E3779F9";
const P4 = "0x85EBCA77C2B2AE63";
const P5 = "0x27D4EB2F165667C5";

const round = (acc, input) =>
  `(i64.mul (i64.rotl (i64.add ${acc} (i64.mul ${input} (i64.const ${P2}))) (i64.const 31)) (i64.const ${P1}))`;

export function xxh64Wat() {
  const lane = (k) => `(i64.load offset=${8 * k} (i32.const 0))`;
  const merge = (k) => `
    (local.set $h (i64.xor (local.get $h) ${round("(i64.const 0)", lane(k))}))
    (local.set $h (i64.add (i64.mul (local.get $h) (i64.const ${P1})) (i64.const ${P4})))`;
  return `(module
  (memory (export "memory") 1)
  (func (export "reset")
    (i64.store offset=0 (i32.const 0) (i64.add (i64.const ${P1}) (i64.const ${P2})))
    (i64.store offset=8 (i32.const 0) (i64.const ${P2}))
    (i64.store offset=16 (i32.const 0) (i64.const 0))
    (i64.store offset=24 (i32.const 0) (i64.sub (i64.const 0) (i64.const ${P1}))))
  (func (export "stripes") (param $n i32)
    (local $p i32) (local $end i32) (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64)
    (local.set $v1 ${lane(0)}) (local.set $v2 ${lane(1)}) (local.set $v3 ${lane(2)}) (local.set $v4 ${lane(3)})
    (local.set $p (i32.const 64))
    (local.set $end (i32.add (i32.const 64) (i32.shl (local.get $n) (i32.const 5))))
    (block $done
      (loop $stripe
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v1 ${round("(local.get $v1)", "(i64.load offset=0 (local.get $p))")})
        (local.set $v2 ${round("(local.get $v2)", "(i64.load offset=8 (local.get $p))")})
        (local.set $v3 ${round("(local.get $v3)", "(i64.load offset=16 (local.get $p))")})
        (local.set $v4 ${round("(local.get $v4)", "(i64.load offset=24 (local.get $p))")})
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $stripe)))
    (i64.store offset=0 (i32.const 0) (local.get $v1))
    (i64.store offset=8 (i32.const 0) (local.get $v2))
    (i64.store offset=16 (i32.const 0) (local.get $v3))
    (i64.store offset=24 (i32.const 0) (local.get $v4)))
  ;; $len tail bytes at 64 (< 32), $total bytes hashed in all; returns the 64-bit hash
  (func (export "digest") (param $len i32) (param $total i64) (result i64)
    (local $h i64) (local $p i32) (local $end i32)
    (if (i64.ge_u (local.get $total) (i64.const 32))
      (then
        (local.set $h (i64.add (i64.add (i64.rotl ${lane(0)} (i64.const 1)) (i64.rotl ${lane(1)} (i64.const 7)))
          (i64.add (i64.rotl ${lane(2)} (i64.const 12)) (i64.rotl ${lane(3)} (i64.const 18)))))
        ${[0, 1, 2, 3].map(merge).join("")})
      (else (local.set $h (i64.const ${P5}))))
    (local.set $h (i64.add (local.get $h) (local.get $total)))
    (local.set $p (i32.const 64))
    (local.set $end (i32.add (i32.const 64) (local.get $len)))
    (block $d8 (loop $l8
      (br_if $d8 (i32.gt_u (i32.add (local.get $p) (i32.const 8)) (local.get $end)))
      (local.set $h (i64.xor (local.get $h) ${round("(i64.const 0)", "(i64.load (local.get $p))")}))
      (local.set $h (i64.add (i64.mul (i64.rotl (local.get $h) (i64.const 27)) (i64.const ${P1})) (i64.const ${P4})))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (br $l8)))
    (if (i32.le_u (i32.add (local.get $p) (i32.const 4)) (local.get $end))
      (then
        (local.set $h (i64.xor (local.get $h) (i64.mul (i64.load32_u (local.get $p)) (i64.const ${P1}))))
        (local.set $h (i64.add (i64.mul (i64.rotl (local.get $h) (i64.const 23)) (i64.const ${P2})) (i64.const ${P3})))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $h (i64.xor (local.get $h) (i64.mul (i64.load8_u (local.get $p)) (i64.const ${P5}))))
      (local.set $h (i64.mul (i64.rotl (local.get $h) (i64.const 11)) (i64.const ${P1})))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l1)))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
    (local.set $h (i64.mul (local.get $h) (i64.const ${P2})))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))))
    (local.set $h (i64.mul (local.get $h) (i64.const ${P3})))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))
)`;
}
