/**
 * Recovery reads segments through a window of 1 MiB (read-window.ts). Every other test's
 * log fits in one window; here a small window makes records straddle windows and exceed
 * them, and the scan must find exactly what it finds reading each file whole.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { nodeFileSystem } from "../src/adapter/node/file-system.ts";
import { CodecTable } from "../src/wal/codec.ts";
import { ReadWindow } from "../src/wal/read-window.ts";
import { RecordDecoder } from "../src/wal/record-format.ts";
import { type Recovered, recover } from "../src/wal/recovery.ts";
import { SegmentReader } from "../src/wal/segment-reader.ts";
import { noted } from "./support/fixtures.ts";
import { testSeed, withSeed } from "./support/seed.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { openWal, segments } from "./support/wal.ts";

/** What a read-only scan with a window of `windowBytes` finds, and what it reports (or how it fails). */
function scan(directory: string, windowBytes: number): { recovered?: Recovered; reported: unknown[]; error?: string } {
  const reported: unknown[] = [];
  try {
    const recovered = recover(nodeFileSystem, directory, new RecordDecoder(new CodecTable()), {
      readOnly: true,
      window: new ReadWindow(windowBytes),
      onRecord: (...record) => void reported.push(record),
    });
    return { recovered, reported };
  } catch (error) {
    return { reported, error: String(error) };
  }
}

type Damage =
  | { kind: "none" }
  | { kind: "flip"; segment: number; at: number }
  | { kind: "cut"; at: number }
  | { kind: "tail"; bytes: number[] };

function damage(directory: string, what: Damage): void {
  const names = segments(directory);
  if (what.kind === "flip") {
    const path = join(directory, names[what.segment % names.length]!);
    const bytes = readFileSync(path);
    bytes[Math.floor(what.at * bytes.length)] ^= 0x10;
    writeFileSync(path, bytes);
  } else if (what.kind === "cut") {
    const path = join(directory, names.at(-1)!);
    truncateSync(path, Math.floor(what.at * statSync(path).size));
  } else if (what.kind === "tail") {
    appendFileSync(join(directory, names.at(-1)!), Uint8Array.from(what.bytes));
  }
}

test("a windowed scan finds what reading whole files finds: records across and larger than the window, any damage", async () => {
  const seed = testSeed();
  await withSeed("windowed scan", seed, () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 512, max: 4096 }),
        fc.integer({ min: 1, max: 400 }),
        fc.oneof(
          fc.constant<Damage>({ kind: "none" }),
          fc.record({ kind: fc.constant("flip" as const), segment: fc.nat(), at: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
          fc.record({ kind: fc.constant("cut" as const), at: fc.double({ min: 0, max: 0.999, noNaN: true }) }),
          fc.record({ kind: fc.constant("tail" as const), bytes: fc.array(fc.oneof(fc.constant(0), fc.nat(255)), { minLength: 1, maxLength: 300 }) }),
        ),
        async (batches, segmentBytes, windowBytes, what) => {
          const directory = temporaryDirectory();
          try {
            const path = join(directory.path, "wal");
            const { store } = await openWal(path, { segmentBytes });
            let n = 0;
            for (const batch of batches) store.enqueue("s", batch.map((size) => noted(++n, "x".repeat(size))));
            await store.close();
            damage(path, what);
            const whole = scan(path, 1 << 30);
            const windowed = scan(path, windowBytes);
            assert.deepEqual(windowed, whole);
            // The scan saw the log: undamaged, every record.
            if (what.kind === "none") assert.equal(whole.recovered?.headPosition, n);
          } finally {
            directory.remove();
          }
        },
      ),
      { seed, numRuns: 25 },
    ));
});

test("records are read back through the window a window's bytes at a time (one index entry's records at least), as read whole", async () => {
  const directory = temporaryDirectory();
  try {
    const path = join(directory.path, "wal");
    const { store } = await openWal(path);
    let n = 0;
    // Records of 90-190 bytes: an index entry's 64 of them are 6-12 KiB.
    for (let batch = 0; batch < 40; batch++) store.enqueue("s", Array.from({ length: 50 }, () => noted(++n, "x".repeat(n % 100))));
    await store.close();
    const { recovered } = scan(path, 1 << 30);
    const reads: number[] = [];
    const counted = {
      ...nodeFileSystem,
      openRead(file: string) {
        const handle = nodeFileSystem.openRead(file);
        return { ...handle, readAt: (buffer: Uint8Array, position: number) => (reads.push(buffer.length), handle.readAt(buffer, position)), close: () => handle.close() };
      },
    };
    const decoder = new RecordDecoder(new CodecTable());
    const whole = new SegmentReader(nodeFileSystem, path, recovered!.segments, new ReadWindow(1 << 30));
    const expected = whole.records(1, n, decoder);
    whole.close();
    assert.equal(expected.length, 2000);
    for (const windowBytes of [4096, 20_000, 100_000]) {
      reads.length = 0;
      const reader = new SegmentReader(counted, path, recovered!.segments, new ReadWindow(windowBytes));
      assert.deepEqual(reader.records(1, n, decoder), expected, `window ${windowBytes}`);
      const lent: unknown[] = [];
      reader.each(150, 1900, decoder, true, (record) => lent.push((record.data as { n: number }).n));
      assert.deepEqual(lent, expected.slice(149, 1900).map((record) => (record.data as { n: number }).n));
      reader.close();
      // No read longer than the window, but where one index entry's records need more.
      assert.ok(Math.max(...reads) <= Math.max(windowBytes, 64 * 200), `window ${windowBytes}: reads of ${Math.max(...reads)} bytes`);
      assert.ok(reads.length > 1);
    }
  } finally {
    directory.remove();
  }
});
