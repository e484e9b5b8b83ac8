;; CRC32C (Castagnoli), slice-by-16, in WebAssembly: what crc32c.ts runs on buffers that live
;; in this module's memory (a checksummed buffer: the read window recovery scans through).
;;
;; Why not JavaScript alone: a table lookup from a typed array is bounds-checked, one from
;; linear memory is not, and slice-by-16 halves the loop's dependency chain against
;; slice-by-8. The sixteen lookups are written out: Node 20's V8 does not inline WebAssembly
;; calls, and a helper per lookup made the loop seven times slower. On 104-byte records (2 vCPUs, AMD EPYC): Node 20 43-46 ns against 100-150 in
;; JavaScript, Bun 44 against 74-98, Deno 60 against 87-101 (/tmp experiments of
;; 2026-12-05, then `bench/lib/micro.ts`).
;;
;; Memory layout: bytes [0, 16384) hold the sixteen 256-entry tables, T0 at 0, Tk at k * 1024
;; (crc32c.ts fills them; Tk[n] is the CRC of byte n followed by k zero bytes); the caller's
;; bytes come after. Little-endian, as WebAssembly always is: a word's low byte is the
;; first byte of the input, as slice-by-N wants.
;;
;; Built into crc32c-wasm.ts by `node scripts/build-wasm.mjs` (wabt); test/wal-format.test.ts
;; checks the built bytes are this file's.
(module
  (memory (export "memory") 1)

  ;; CRC32C of memory [start, end), as an unsigned value in an i32.
  (func (export "crc32c") (param $at i32) (param $end i32) (result i32)
    (call $crc (local.get $at) (local.get $end)))

  ;; The records from $at on whose checksums hold, one call for a whole read window: where
  ;; the first record that does not (or that is not whole before $end, or the record after
  ;; the first $count) begins. A call from
  ;; JavaScript into WebAssembly per record cost as much as a third of the checksum itself
  ;; (Deno's profile: 72 ms of the transition against some 110 ms of checksums, replaying
  ;; 2.1 M records). The frame (docs/wal-format.md): CRC32C of bytes 4 .. length-1 at 0,
  ;; length at 4, at least 40 (the header); the next record at the length rounded up to 8.
  ;; Only the checksums are judged here: record-format.ts checks the rest of each frame,
  ;; and checks the checksum itself past where this stopped.
  (func (export "verify") (param $at i32) (param $end i32) (param $count i32) (result i32)
    (local $length i32)
    (block $stop
      (loop $record
        (br_if $stop (i32.eqz (local.get $count)))
        (br_if $stop (i32.gt_u (i32.add (local.get $at) (i32.const 8)) (local.get $end)))
        (local.set $length (i32.load offset=4 (local.get $at)))
        (br_if $stop (i32.lt_u (local.get $length) (i32.const 40)))
        (br_if $stop (i32.gt_u (local.get $length) (i32.sub (local.get $end) (local.get $at))))
        (br_if $stop
          (i32.ne
            (call $crc (i32.add (local.get $at) (i32.const 4)) (i32.add (local.get $at) (local.get $length)))
            (i32.load (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.and (i32.add (local.get $length) (i32.const 7)) (i32.const -8))))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $record)))
    (local.get $at))

  ;; Seals the records of [$at, $end), whole records back to back (the writer's copy of a
  ;; span of its ring): stores each one's CRC32C (of its bytes 4 .. length-1) at its offset
  ;; 0, and returns the last one's (0 if there is none). One call a span, for the reason
  ;; `verify` gives. The lengths are the producer's own, framed by record-format.ts (at
  ;; least 40); a length below 8 stops the loop rather than spin on it.
  (func (export "seal") (param $at i32) (param $end i32) (result i32)
    (local $length i32) (local $sum i32)
    (block $stop
      (loop $record
        (br_if $stop (i32.gt_u (i32.add (local.get $at) (i32.const 8)) (local.get $end)))
        (local.set $length (i32.load offset=4 (local.get $at)))
        (br_if $stop (i32.lt_u (local.get $length) (i32.const 8)))
        (br_if $stop (i32.gt_u (local.get $length) (i32.sub (local.get $end) (local.get $at))))
        (local.set $sum (call $crc (i32.add (local.get $at) (i32.const 4)) (i32.add (local.get $at) (local.get $length))))
        (i32.store (local.get $at) (local.get $sum))
        (local.set $at (i32.add (local.get $at) (i32.and (i32.add (local.get $length) (i32.const 7)) (i32.const -8))))
        (br $record)))
    (local.get $sum))

  (func $crc (param $at i32) (param $end i32) (result i32)
    (local $crc i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local.set $crc (i32.const -1))
    ;; Sixteen bytes a step: the CRC so far folds into the first word.
    (block $short
      (loop $step
        (br_if $short (i32.gt_u (i32.add (local.get $at) (i32.const 16)) (local.get $end)))
        (local.set $a (i32.xor (local.get $crc) (i32.load (local.get $at))))
        (local.set $b (i32.load offset=4 (local.get $at)))
        (local.set $c (i32.load offset=8 (local.get $at)))
        (local.set $d (i32.load offset=12 (local.get $at)))
        ;; Byte j of the step (word j / 4, bits 8 * (j % 4)) goes through T(15 - j).
        (local.set $crc
          (i32.xor
            (i32.xor
              (i32.xor
                (i32.xor
                  (i32.load offset=15360 (i32.shl (i32.and (local.get $a) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=14336 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=13312 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=12288 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
              (i32.xor
                (i32.xor
                  (i32.load offset=11264 (i32.shl (i32.and (local.get $b) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=10240 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=9216 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=8192 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2))))))
            (i32.xor
              (i32.xor
                (i32.xor
                  (i32.load offset=7168 (i32.shl (i32.and (local.get $c) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=6144 (i32.shl (i32.and (i32.shr_u (local.get $c) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=5120 (i32.shl (i32.and (i32.shr_u (local.get $c) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $c) (i32.const 24)) (i32.const 2)))))
              (i32.xor
                (i32.xor
                  (i32.load offset=3072 (i32.shl (i32.and (local.get $d) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $d) (i32.const 8)) (i32.const 255)) (i32.const 2))))
                (i32.xor
                  (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $d) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                  (i32.load offset=0 (i32.shl (i32.shr_u (local.get $d) (i32.const 24)) (i32.const 2))))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $step)))
    ;; The last 0-15 bytes: eight (slice-by-8), then four (slice-by-4), then one at a time. A
    ;; record's checksummed bytes are seldom a multiple of 16, and up to fifteen steps of
    ;; the byte loop cost as much as the sixteen-byte steps of a short record.
    (if (i32.le_u (i32.add (local.get $at) (i32.const 8)) (local.get $end))
      (then
        (local.set $a (i32.xor (local.get $crc) (i32.load (local.get $at))))
        (local.set $b (i32.load offset=4 (local.get $at)))
        (local.set $crc
          (i32.xor
            (i32.xor
              (i32.xor
                (i32.load offset=7168 (i32.shl (i32.and (local.get $a) (i32.const 255)) (i32.const 2)))
                (i32.load offset=6144 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 8)) (i32.const 255)) (i32.const 2))))
              (i32.xor
                (i32.load offset=5120 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
            (i32.xor
              (i32.xor
                (i32.load offset=3072 (i32.shl (i32.and (local.get $b) (i32.const 255)) (i32.const 2)))
                (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 8)) (i32.const 255)) (i32.const 2))))
              (i32.xor
                (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 255)) (i32.const 2)))
                (i32.load offset=0 (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))))
    (if (i32.le_u (i32.add (local.get $at) (i32.const 4)) (local.get $end))
      (then
        (local.set $a (i32.xor (local.get $crc) (i32.load (local.get $at))))
        (local.set $crc
          (i32.xor
            (i32.xor
              (i32.load offset=3072 (i32.shl (i32.and (local.get $a) (i32.const 255)) (i32.const 2)))
              (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 8)) (i32.const 255)) (i32.const 2))))
            (i32.xor
              (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 16)) (i32.const 255)) (i32.const 2)))
              (i32.load offset=0 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))))
    (block $done
      (loop $byte
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $crc
          (i32.xor
            (i32.shr_u (local.get $crc) (i32.const 8))
            (i32.load (i32.shl (i32.and (i32.xor (local.get $crc) (i32.load8_u (local.get $at))) (i32.const 255)) (i32.const 2)))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $byte)))
    (i32.xor (local.get $crc) (i32.const -1))))
