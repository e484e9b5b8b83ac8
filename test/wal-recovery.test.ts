import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { EventStore, StorageError } from "../mod.ts";
import { nodeFileSystem } from "../src/adapter/node/file-system.ts";
import { walRuntime, WalStorage } from "../src/adapter/file/index.ts";
import { forwardingFileSystem, forwardingHandle } from "../src/wal/file-system.ts";
import { LogReader } from "../src/wal/log-reader.ts";
import { noted, testEvents } from "./support/fixtures.ts";
import { checkRecord, paddedLength } from "../src/wal/record-format.ts";
import { parseSegmentName, SEGMENT_HEADER_BYTES } from "../src/wal/segment.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { appendBytes, fill, flipByte, lastSegment, ns, openWal, segments } from "./support/wal.ts";

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function withDirectory(run: (directory: string) => Promise<void>) {
  const directory = temporaryDirectory();
  try {
    await run(join(directory.path, "wal"));
  } finally {
    directory.remove();
  }
}

test("reopen replays every record into an identical store", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await fill(first.store, 500);
    const before = await first.store.readAll();
    await first.store.close();
    const second = await openWal(directory);
    assert.deepEqual(await second.store.readAll(), before);
    assert.equal(second.storage.recovered?.truncated, undefined);
    await second.store.close();
  }));

test("a record cut short at the end of the last segment is truncated and kept aside", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await fill(first.store, 10);
    await first.store.close();
    const path = lastSegment(directory);
    const size = statSync(path).size;
    truncateSync(path, size - 5); // the last record is torn
    const second = await openWal(directory);
    assert.deepEqual(await ns(second.store), range(1, 9));
    const cut = second.storage.recovered?.truncated;
    assert.ok(cut);
    // Cut there: what follows is the zeros the writer sized the segment ahead with.
    assert.ok(readFileSync(path).subarray(cut.offset).every((byte) => byte === 0), "the torn bytes are cut");
    const aside = readFileSync(join(directory, cut.savedAs));
    assert.equal(aside.length, size - 5 - cut.offset);
    await fill(second.store, 1, 10); // the log goes on from the clean prefix
    await second.store.close();
    // Closed, the segment is its records: the zeros ahead of them are cut again.
    assert.equal(statSync(path).size, new LogReader(nodeFileSystem, directory).segments.at(-1)?.bytes);
    const third = await openWal(directory);
    assert.deepEqual(await ns(third.store), range(1, 10));
    await third.store.close();
  }));

test("zeros to the end of the last segment end its records (nothing cut or kept); a garbage tail is cut and kept aside", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await fill(first.store, 5);
    await first.store.close();
    appendBytes(lastSegment(directory), new Uint8Array(4096));
    let again = await openWal(directory);
    assert.deepEqual(await ns(again.store), range(1, 5));
    assert.equal(again.storage.recovered?.truncated, undefined);
    assert.deepEqual(again.storage.recovered?.setAside, []);
    await fill(again.store, 1, 6); // written over the zeros
    await again.store.close();
    const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) & 0xff);
    appendBytes(lastSegment(directory), garbage);
    appendBytes(lastSegment(directory), new Uint8Array(8192));
    again = await openWal(directory);
    assert.deepEqual(await ns(again.store), range(1, 6));
    const cut = again.storage.recovered?.truncated;
    assert.ok(cut);
    // Kept: the garbage, to the next multiple of 8 bytes (a record's padding), not the zeros after it.
    const aside = new Uint8Array(readFileSync(join(directory, cut.savedAs)));
    assert.deepEqual(aside.subarray(0, garbage.length), garbage);
    assert.equal(aside.length, 304);
    await again.store.close();
  }));

test("a bad checksum followed by valid records refuses to open, naming file and offset", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await fill(first.store, 20);
    await first.store.close();
    rmSync(join(directory, "index.checkpoint")); // the whole log is read (damage under a checkpoint: wal-checkpoint.test.ts)
    const path = lastSegment(directory);
    flipByte(path, SEGMENT_HEADER_BYTES + 60); // inside the first record
    await assert.rejects(openWal(directory), (error: unknown) =>
      error instanceof StorageError && error.code === "STORAGE" && error.file === path && error.offset === SEGMENT_HEADER_BYTES &&
      /checksum mismatch/.test(error.message) && /repair: true/.test(error.message));
    // Refusing changed nothing, and released the lock.
    await assert.rejects(openWal(directory), StorageError);
    const repaired = await openWal(directory, { repair: true });
    assert.deepEqual(await ns(repaired.store), []);
    assert.ok(repaired.storage.recovered?.repaired?.movedAside.length);
    await fill(repaired.store, 3);
    await repaired.store.close();
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), [1, 2, 3]);
    await again.store.close();
  }));

test("corruption in an earlier segment refuses to open; repair keeps the valid prefix", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory, { segmentBytes: 1024 });
    await fill(first.store, 100);
    await first.store.close();
    const names = segments(directory);
    assert.ok(names.length >= 5, `expected several segments, got ${names.length}`);
    const second = join(directory, names[1]);
    const secondSize = statSync(second).size;
    flipByte(second, secondSize - 20); // the last record of the second segment
    await assert.rejects(openWal(directory, { segmentBytes: 1024 }), (error: unknown) =>
      error instanceof StorageError && error.file === second && (error.offset ?? 0) > 32);
    const repaired = await openWal(directory, { segmentBytes: 1024, repair: true });
    const kept = await ns(repaired.store);
    assert.ok(kept.length > 0 && kept.length < 100);
    assert.deepEqual(kept, range(1, kept.length));
    assert.ok(readdirSync(directory).some((name) => name.endsWith(".wal.broken")));
    await repaired.store.close();
  }));

test("segments roll at the configured size and reads span them", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory, { segmentBytes: 2048 }, 8);
    await fill(first.store, 300);
    assert.ok(segments(directory).length > 10);
    assert.deepEqual(await ns(first.store), range(1, 300));
    const tail = await first.store.readStream("s", { from: 100, to: 140 });
    assert.deepEqual(tail.map((e) => e.streamVersion), range(100, 140));
    await first.store.close();
    const second = await openWal(directory, { segmentBytes: 2048 }, 8);
    assert.deepEqual(await ns(second.store), range(1, 300));
    await fill(second.store, 50, 301);
    await second.store.close();
    const third = await openWal(directory, {}, 8);
    assert.deepEqual(await ns(third.store), range(1, 350));
    await third.store.close();
  }));

test("segments are sized ahead of their records, and cut back to them when sealed (a roll, a close)", () =>
  withDirectory(async (directory) => {
    const sizes = () => segments(directory).map((name) => statSync(join(directory, name)).size);
    const records = () => new LogReader(nodeFileSystem, directory).segments.map((segment) => segment.bytes);
    const { store } = await openWal(directory, { segmentBytes: 4096 });
    try {
      await fill(store, 3);
      assert.deepEqual(sizes(), [4096]);
      await fill(store, 100, 4);
      // Read while open: the zeros after the last segment's records end it, no problem.
      assert.equal(new LogReader(nodeFileSystem, directory).scan.problem, undefined);
      const open = sizes();
      assert.ok(open.length >= 3, `${open.length} segments`);
      assert.deepEqual(open.slice(0, -1), records().slice(0, -1), "sealed segments hold their records only");
      assert.equal(open.at(-1), 4096);
    } finally {
      await store.close();
    }
    assert.deepEqual(sizes(), records(), "closed, every segment holds its records only");
    const again = await openWal(directory, { segmentBytes: 4096 });
    assert.deepEqual(await ns(again.store), range(1, 103));
    assert.equal(sizes().at(-1), 4096, "reopened, the last segment is sized ahead again");
    await again.store.close();
  }));

test("a segment file that does not start where the previous ended is refused", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory, { segmentBytes: 1024 });
    await fill(first.store, 60);
    await first.store.close();
    const names = segments(directory);
    const { rmSync } = await import("node:fs");
    rmSync(join(directory, names[1]));
    await assert.rejects(openWal(directory), /segment starts at position \d+, expected \d+/);
  }));

test("the WAL's own leftover temp files (a crash before their rename) are removed at open; nobody else's", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await fill(first.store, 3);
    await first.store.close();
    writeFileSync(join(directory, "segment-0000000000000004.wal.tmp"), new Uint8Array(32));
    writeFileSync(join(directory, "segment-0000000000000001.wal.broken-96.tmp"), new Uint8Array(5));
    const others = ["important.tmp", "segment-4.wal.tmp", "notes.wal.tmp", "segment-0000000000000004.wal.tmp.tmp"];
    for (const name of others) writeFileSync(join(directory, name), "an operator's file");
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), [1, 2, 3]);
    assert.deepEqual(readdirSync(directory).filter((name) => name.endsWith(".tmp")).sort(), [...others].sort());
    await again.store.close();
  }));

test("random record sizes, batch sizes, ring and segment sizes: every record comes back in order", async () => {
  const { default: fc } = await import("fast-check");
  const { testSeed, withSeed } = await import("./support/seed.ts");
  const { noted } = await import("./support/fixtures.ts");
  const seed = testSeed();
  await withSeed("WAL framing property", seed, () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 120, size: "max" }),
        fc.constantFrom(4096, 8192),
        fc.integer({ min: 256, max: 4096 }),
        async (batches, ringBytes, segmentBytes) => {
          await withDirectory(async (directory) => {
            const { store } = await openWal(directory, { ringBytes, segmentBytes, maxBatch: 7 });
            let n = 0;
            const texts: string[] = [];
            for (const batch of batches) {
              store.enqueue("s", batch.map((size) => {
                texts.push("x".repeat(size));
                return noted(++n, texts[n - 1]);
              }));
            }
            await store.durable();
            await store.close();
            const again = await openWal(directory, { ringBytes, segmentBytes }, 16);
            const events = await again.store.readAll();
            assert.deepEqual(events.map((e) => (e.data as { text: string }).text), texts);
            await again.store.close();
          });
        },
      ),
      { seed, numRuns: 40 },
    ));
});

test("records larger than the writer's window, and spans longer than it, are written whole and read back", () =>
  withDirectory(async (directory) => {
    // The writer seals each span in a copy of at most 1 MiB (writer.ts WINDOW_BYTES), widened
    // for a record larger than that; enqueued without a wait, these reach it in long spans.
    const sizes = [300_000, 300_000, 300_000, 300_000, 1_600_000, 10, 300_000, 2_700_000, 20, 300_000, 300_000];
    const blobs = sizes.map((size, i) => String.fromCharCode(97 + i).repeat(size));
    const first = await openWal(directory);
    for (let i = 0; i < blobs.length; i++) first.store.enqueue("s", [{ ...noted(i + 1), metadata: { blob: blobs[i] } }]);
    await first.store.durable();
    await first.store.close();
    const again = await openWal(directory);
    const read = (await again.store.readAll()).map((event) => event.metadata?.blob);
    await again.store.close();
    assert.deepEqual(read, blobs);
  }));

test("open syncs the recovered tail and the directory before calling anything durable", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory, { segmentBytes: 4096 });
    await fill(first.store, 200);
    await first.store.close();
    // A killed writer's unsynced records sit in the page cache, valid: open must sync them
    // before the store reports them durable. Watch the main thread's file calls.
    const calls: string[] = [];
    const spy = forwardingFileSystem(nodeFileSystem, {
      openWrite(path) {
        const handle = nodeFileSystem.openWrite(path);
        return forwardingHandle(handle, { syncData: () => (calls.push(`syncData ${basename(path)}`), handle.syncData()) });
      },
      syncDirectory: (path) => (calls.push(`syncDirectory ${path}`), nodeFileSystem.syncDirectory(path)),
    });
    const storage = new WalStorage({ ...walRuntime(), fs: spy }, directory);
    const store = new EventStore({ events: testEvents(), storage });
    await store.open();
    assert.ok(calls.includes(`syncData ${segments(directory).at(-1)}`), calls.join(", "));
    assert.ok(calls.includes(`syncDirectory ${directory}`), calls.join(", "));
    assert.equal(store.durablePosition, 200);
    await store.close();
  }));

test("open creates missing directories durably: each new one's parent is synced", () =>
  withDirectory(async (directory) => {
    const synced: string[] = [];
    const spy = forwardingFileSystem(nodeFileSystem, {
      syncDirectory: (path) => (synced.push(path), nodeFileSystem.syncDirectory(path)),
    });
    const wal = join(directory, "a", "b");
    const storage = new WalStorage({ ...walRuntime(), fs: spy }, wal);
    const store = new EventStore({ events: testEvents(), storage });
    await store.open();
    await store.close();
    // Without these, a power cut could take "a" (and every synced segment inside it) away.
    assert.deepEqual(synced.slice(0, 3), [dirname(directory), directory, join(directory, "a")]);
  }));

test("a WAL directory that cannot be created is a StorageError naming it", () =>
  withDirectory(async (directory) => {
    writeFileSync(directory, "a file where the WAL directory's parent should be");
    await assert.rejects(openWal(join(directory, "wal")), (error: unknown) =>
      error instanceof StorageError && error.message.includes("cannot create the WAL directory") && error.file === join(directory, "wal"));
  }));

/** File offsets of the records of a segment file, in order. */
function recordOffsets(path: string): number[] {
  const bytes = new Uint8Array(readFileSync(path));
  const view = new DataView(bytes.buffer);
  const offsets: number[] = [];
  for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length;) {
    const length = checkRecord(bytes, view, offset, bytes.length);
    if (typeof length !== "number") break;
    offsets.push(offset);
    offset += paddedLength(length);
  }
  return offsets;
}

/** `appends` appends of three events each, numbered on from `first`. */
const appendThree = async (store: Awaited<ReturnType<typeof openWal>>["store"], appends: number, first = 1) => {
  for (let a = 0; a < appends; a++) store.enqueue("s", [0, 1, 2].map((i) => noted(first + 3 * a + i)));
  await store.durable();
};

test("an append is all or nothing: a log ending inside one is cut back to the last whole append", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await appendThree(first.store, 5); // records 1..15, appends of 3
    await first.store.close();
    // A crash after the writes of records 13 and 14 but before 15's: whole records, half an append.
    const segment = lastSegment(directory);
    truncateSync(segment, recordOffsets(segment)[14]);
    const again = await openWal(directory);
    assert.deepEqual(await ns(again.store), Array.from({ length: 12 }, (_, i) => i + 1));
    const cut = again.storage.recovered?.truncated;
    assert.ok(cut && readdirSync(directory).includes(cut.savedAs), "the cut bytes are kept aside");
    // The log goes on from the last whole append.
    await appendThree(again.store, 1, 13);
    await again.store.close();
    const third = await openWal(directory);
    assert.deepEqual(await ns(third.store), Array.from({ length: 15 }, (_, i) => i + 1));
    await third.store.close();
  }));

test("an append split across a segment roll is cut back whole when the next segment never made it", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory, { segmentBytes: 600 });
    await appendThree(first.store, 8);
    await first.store.close();
    // Find a segment whose last record continues into the next segment, and lose everything after it.
    const names = segments(directory);
    const split = names.findIndex((_name, i) => i < names.length - 1 && (parseSegmentName(names[i + 1])! - 1) % 3 !== 0);
    assert.ok(split >= 0, "no append spans two segments: make the records or the segments another size");
    for (const name of names.slice(split + 1)) rmSync(join(directory, name));
    const lastKept = parseSegmentName(names[split + 1])! - 1;
    const again = await openWal(directory, { segmentBytes: 600 });
    const recovered = await ns(again.store);
    assert.equal(recovered.length % 3, 0, `recovered ${recovered.length} events: half an append is visible`);
    assert.equal(recovered.length, lastKept - (lastKept % 3));
    await again.store.close();
  }));

test("file errors are StorageErrors naming the file: a directory where a segment or LOCK should be, a full disk while saving a torn tail, a write failing in the writer", () =>
  withDirectory(async (directory) => {
    const first = await openWal(directory);
    await fill(first.store, 3);
    await first.store.close();
    const storageErrorNaming = (file: string) => (error: unknown) =>
      error instanceof StorageError && error.file === file && error.message.includes(file);

    const segmentDirectory = join(directory, "segment-0000000000000004.wal");
    mkdirSync(segmentDirectory);
    await assert.rejects(openWal(directory), storageErrorNaming(segmentDirectory));
    rmSync(segmentDirectory, { recursive: true });

    const other = join(dirname(directory), "locked-by-a-directory");
    mkdirSync(join(other, "LOCK"), { recursive: true });
    await assert.rejects(openWal(other), storageErrorNaming(join(other, "LOCK")));

    // A torn tail to save aside, on a disk that is still full: the runtime's raw error names nothing.
    appendBytes(lastSegment(directory), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const full = forwardingFileSystem(nodeFileSystem, {
      createExclusive(path) {
        const handle = nodeFileSystem.createExclusive(path);
        return forwardingHandle(handle, { writeAt: () => { throw Object.assign(new Error("No space left on device"), { code: "ENOSPC" }); } });
      },
    });
    const storage = new WalStorage({ ...walRuntime(), fs: full }, directory);
    await assert.rejects(new EventStore({ events: testEvents(), storage }).open(), (error: unknown) =>
      error instanceof StorageError && /\.broken-\d+\.tmp$/.test(error.file ?? "") && /No space left on device/.test(error.message));

    // The writer's failing write names its segment. (A plan counts calls per thread: on the
    // main thread the first write is LOCK's, so the second one fails in the writer only.)
    await (await openWal(directory)).store.close(); // saves the torn tail aside, with room now
    const { store } = await openWal(directory, { faults: [{ operation: "write", nth: 2, code: "ENOSPC" }] });
    await store.append("s", [noted(4)]);
    await assert.rejects(store.append("s", [noted(5)]), (error: unknown) =>
      error instanceof StorageError && /ENOSPC/.test(error.message) && /segment-0000000000000001\.wal/.test(error.message));
    await store.close();
  }));
