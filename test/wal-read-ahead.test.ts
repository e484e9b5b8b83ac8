/**
 * Long runs of reads are read ahead on a second thread (read-ahead.ts). The reads must give
 * exactly what reading on the caller's thread gives, the thread must be used, a damaged
 * record must be reported as it is without it, and every way the thread can fail (never
 * starting, dying, a module it cannot load, a record larger than its slots) must leave
 * the reads correct, with the thread stopped at close.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { defineEvent, eventRegistry, EventStore } from "../mod.ts";
import { nodeFileSystem } from "../src/adapter/node/file-system.ts";
import { bunWalRuntime } from "../src/adapter/bun/index.ts";
import { denoWalRuntime } from "../src/adapter/deno/index.ts";
import { nodeWalRuntime } from "../src/adapter/node/index.ts";
import { detectRuntime, fileStorage } from "../src/adapter/file/index.ts";
import { StorageError } from "../src/core/errors.ts";
import type { StoredRecord } from "../src/core/events.ts";
import { CodecTable } from "../src/wal/codec.ts";
import { Control, type ReadAheadStart, type SpawnReadAhead } from "../src/wal/read-ahead.ts";
import { ReadWindow } from "../src/wal/read-window.ts";
import { RecordDecoder } from "../src/wal/record-format.ts";
import { recover, type SegmentIndex } from "../src/wal/recovery.ts";
import { type ReadAheadSource, SegmentReader } from "../src/wal/segment-reader.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { fill, flipByte, openWal } from "./support/wal.ts";

const runtime = { deno: denoWalRuntime, bun: bunWalRuntime, node: nodeWalRuntime }[detectRuntime()];
const RECORDS = 50_000;
/** Reads of this many records: the second starts the read-ahead, the third on are served by it. */
const CHUNK = 16_384;

/** A log of RECORDS one-event appends over many small segments (made once, read by every test). */
const log = await (async () => {
  const directory = temporaryDirectory();
  const path = join(directory.path, "wal");
  const { store } = await openWal(path, { segmentBytes: 256 * 1024 });
  await fill(store, RECORDS);
  await store.close();
  return { directory, path };
})();

test.after(() => log.directory.remove());

/** The segments of the log at `path`, as recovery indexes them. */
function indexOf(path: string): SegmentIndex[] {
  return recover(nodeFileSystem, path, new RecordDecoder(new CodecTable()), {
    readOnly: true,
    onRecord: () => {},
  }).segments;
}

/** A read-ahead source on this runtime's thread, counting what it spawned and stopped. */
function counted(options: { spawn?: SpawnReadAhead; fileSystemModule?: string; written?: number } = {}) {
  const counts = { spawned: 0, terminated: 0, starts: [] as ReadAheadStart[] };
  const spawn = options.spawn ?? runtime.spawnReadAhead!;
  const source: ReadAheadSource = {
    fileSystemModule: options.fileSystemModule ?? runtime.fileSystemModule,
    written: () => options.written ?? RECORDS,
    spawn: (onDeath) => {
      counts.spawned++;
      const thread = spawn(onDeath);
      return {
        start(message) {
          counts.starts.push(message);
          thread.start(message);
        },
        terminate() {
          counts.terminated++;
          thread.terminate();
        },
      };
    },
  };
  return { source, counts };
}

/**
 * Reads positions first..to in chunks of CHUNK through `reader`, awaiting `between` after
 * each read (as a replay awaits between its reads); `value` picks what to keep of a record.
 */
async function readInChunks<T = [number, number]>(
  reader: SegmentReader,
  first: number,
  to: number,
  between: () => Promise<void> = async () => {},
  value = (record: StoredRecord) => [record.position, (record.data as { n: number }).n] as T,
): Promise<T[]> {
  const decoder = new RecordDecoder(new CodecTable());
  const seen: T[] = [];
  for (let from = first; from <= to; from += CHUNK) {
    reader.each(
      from,
      Math.min(to, from + CHUNK - 1),
      decoder,
      true,
      (record) => void seen.push(value(record)),
    );
    await between();
  }
  return seen;
}

const expected = Array.from({ length: RECORDS }, (_, i): [number, number] => [i + 1, i + 1]);

/** Gives the thread a moment to load its code (Deno compiles TypeScript), so that it is running when reads start. */
const started = (counts: { starts: readonly ReadAheadStart[] }) =>
  new Promise<void>((resolve) => {
    const check = () => (counts.starts.every((s) =>
        Atomics.load(new Int32Array(s.control), Control.Started) === 1
      )
      ? resolve()
      : setTimeout(check, 5));
    check();
  });

test("a long run of reads is served by the read-ahead thread, with the same records as read on the caller's thread", async () => {
  const segmentIndex = indexOf(log.path);
  assert.ok(segmentIndex.length > 5, `the log spans many segments (${segmentIndex.length})`);
  const { source, counts } = counted();
  const reader = new SegmentReader(nodeFileSystem, log.path, segmentIndex, new ReadWindow(), source);
  // The first read starts nothing; the second, continuing it, starts the thread at the third's first record.
  const seen = await readInChunks(reader, 1, CHUNK);
  assert.equal(counts.spawned, 0);
  seen.push(...await readInChunks(reader, CHUNK + 1, 2 * CHUNK));
  assert.equal(counts.spawned, 1);
  assert.equal(counts.starts[0]!.ranges[0]!.first <= 2 * CHUNK + 1, true);
  assert.equal(counts.starts[0]!.ranges.at(-1)!.last, RECORDS);
  await started(counts);
  seen.push(...await readInChunks(reader, 2 * CHUNK + 1, RECORDS));
  assert.deepEqual(seen, expected);
  assert.ok(reader.spansReadAhead > 0, "the read-ahead served reads");
  reader.close();
  assert.equal(counts.terminated, 1, "closing the reader stops the thread");
});

test("the read-ahead reads only what is written: reads past it are the caller's", async () => {
  const { source, counts } = counted({ written: 40_000 });
  const reader = new SegmentReader(nodeFileSystem, log.path, indexOf(log.path), new ReadWindow(), source);
  await readInChunks(reader, 1, 2 * CHUNK);
  await started(counts);
  const rest: [number, number][] = [];
  reader.each(
    2 * CHUNK + 1,
    RECORDS,
    new RecordDecoder(new CodecTable()),
    true,
    (r) => void rest.push([r.position, (r.data as { n: number }).n]),
  );
  assert.deepEqual(rest, expected.slice(2 * CHUNK));
  assert.equal(counts.starts[0]!.ranges.at(-1)!.last, 40_000);
  assert.ok(reader.spansReadAhead > 0);
  reader.close();
});

test("a damaged record the read-ahead read is reported as the caller's own read reports it", async () => {
  const directory = temporaryDirectory();
  try {
    const path = join(directory.path, "wal");
    const { store } = await openWal(path, { segmentBytes: 256 * 1024 });
    await fill(store, RECORDS);
    await store.close();
    const segmentIndex = indexOf(path);
    // A byte in the data of a record well inside what the read-ahead serves.
    const target = segmentIndex.find((s) => s.firstPosition > 2 * CHUNK + 1000)!;
    flipByte(join(path, target.name), target.sparse[3]! + 50);
    const messages: string[] = [];
    for (const { source, counts } of [{ source: undefined, counts: { starts: [] } }, counted()]) {
      const reader = new SegmentReader(nodeFileSystem, path, segmentIndex, new ReadWindow(), source);
      try {
        await readInChunks(reader, 1, 2 * CHUNK);
        await started(counts);
        await readInChunks(reader, 2 * CHUNK + 1, RECORDS);
        assert.fail("the damaged record was read");
      } catch (error) {
        assert.ok(error instanceof StorageError, String(error));
        if (source !== undefined) {
          assert.ok(reader.spansReadAhead > 0, "the damaged record came through the read-ahead");
        }
        messages.push(`${error.message} ${JSON.stringify({ file: error.file, offset: error.offset })}`);
      } finally {
        reader.close();
      }
    }
    assert.match(messages[0]!, /checksum/);
    assert.equal(messages[1], messages[0]);
  } finally {
    directory.remove();
  }
});

test("a read-ahead thread that fails, in any way, leaves the reads correct and is not tried again", async () => {
  const never: SpawnReadAhead = () => ({ start() {}, terminate() {} });
  const dies: SpawnReadAhead = (onDeath) => {
    setTimeout(onDeath);
    return { start() {}, terminate() {} };
  };
  const cases = [
    { name: "never starts", ...counted({ spawn: never }) },
    { name: "dies", ...counted({ spawn: dies }) },
    {
      name: "cannot load its file system",
      ...counted({ fileSystemModule: new URL("./no-such-module.js", import.meta.url).href }),
    },
  ];
  for (const { name, source, counts } of cases) {
    const reader = new SegmentReader(nodeFileSystem, log.path, indexOf(log.path), new ReadWindow(), source);
    // Let a thread that is going to fail do so between reads, as a replay's awaits do.
    const seen = await readInChunks(
      reader,
      1,
      RECORDS,
      () => new Promise((resolve) => setTimeout(resolve, 50)),
    );
    assert.deepEqual(seen, expected, name);
    assert.equal(reader.spansReadAhead, 0, name);
    if (name !== "never starts") assert.equal(counts.spawned, 1, `${name}: not tried again`);
    reader.close();
    assert.equal(counts.terminated, counts.spawned, `${name}: every thread stopped`);
  }
});

test("a record larger than a read-ahead slot is read on the caller's thread, and so is the rest", async () => {
  const Big = defineEvent("Big", z.object({ s: z.string() }));
  const directory = temporaryDirectory();
  try {
    const path = join(directory.path, "wal");
    const store = new EventStore({
      events: eventRegistry(Big),
      storage: fileStorage(path, { segmentBytes: 4 << 20 }),
    });
    await store.open();
    for (let n = 1; n <= RECORDS; n++) {
      store.enqueue("s", [Big.create({ s: n === 40_000 ? "x".repeat(1_200_000) : String(n) })]);
    }
    await store.durable(RECORDS);
    await store.close();
    const { source, counts } = counted();
    const reader = new SegmentReader(nodeFileSystem, path, indexOf(path), new ReadWindow(), source);
    const lengths = await readInChunks(
      reader,
      1,
      RECORDS,
      () => started(counts),
      (r) => (r.data as { s: string }).s.length,
    );
    assert.equal(lengths.length, RECORDS);
    assert.equal(lengths[39_999], 1_200_000);
    assert.equal(lengths[49_999], 5);
    assert.ok(reader.spansReadAhead > 0, "served the records before the large one");
    reader.close();
    assert.equal(counts.terminated, counts.spawned);
  } finally {
    directory.remove();
  }
});
