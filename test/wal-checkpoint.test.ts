/**
 * Fast open: the store's index checkpoint in the file WAL. A log opens from it without
 * reading the records it covers, reads the same as a full scan, and a checkpoint that no
 * longer describes the log is ignored.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventStore, inlineProjection, type RecordedEvent, StorageError } from "../mod.ts";
import { fileStorage, runtimeFileSystem, scavengeLog } from "../src/adapter/file/index.ts";
import { LogReader } from "../src/wal/log-reader.ts";
import { noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";

const storage = (directory: string) => fileStorage(directory, { segmentBytes: 1024 });

async function openStore(directory: string, projections = [] as ReturnType<typeof counting>[]): Promise<EventStore<TestEvent>> {
  const store = new EventStore({ events: testEvents(), storage: storage(directory), bufferSize: 8, projections });
  await store.open();
  return store;
}

/** Appends `count` events over three interleaved streams, some in multi-event appends. */
async function fill(store: EventStore<TestEvent>, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n += 2) {
    const stream = `s-${n % 3}`;
    await store.append(stream, n % 4 === 0 ? [noted(n), noted(n + 1)] : [noted(n)]);
    if (n % 4 !== 0) await store.append(stream, [noted(n + 1)]);
  }
}

/** How many records the WAL reports at open, and whether it offered a checkpoint. */
async function openCounts(directory: string): Promise<{ reported: number; checkpoint: number | undefined }> {
  const wal = storage(directory);
  let reported = 0;
  let checkpoint: number | undefined;
  await wal.open(() => void reported++, (saved) => (checkpoint = saved.position, true));
  await wal.close();
  return { reported, checkpoint };
}

async function view(store: EventStore<TestEvent>) {
  return {
    head: store.headPosition,
    all: await store.readAll(),
    streams: await Promise.all(["s-0", "s-1", "s-2"].map(async (id) => [store.streamVersion(id), await store.readStream(id, { from: 2, limit: 5 })])),
    positions: [store.positionOf("s-1", 1), store.positionOf("s-2", store.streamVersion("s-2"))],
  };
}

test("a closed log opens from its checkpoint without reading what it covers, and reads the same", async () => {
  const directory = temporaryDirectory();
  try {
    const store = await openStore(directory.path);
    await fill(store, 1, 120);
    const before = await view(store);
    await store.close();
    assert.ok(existsSync(join(directory.path, "index.checkpoint")));
    assert.deepEqual(await openCounts(directory.path), { reported: 0, checkpoint: 120 });
    const reopened = await openStore(directory.path);
    assert.deepEqual(await view(reopened), before);
    await fill(reopened, 121, 10);
    await reopened.close();
    assert.deepEqual(await openCounts(directory.path), { reported: 0, checkpoint: 130 });
  } finally {
    directory.remove();
  }
});

test("after a crash the log opens from its last checkpoint and scans only what follows it", async () => {
  const directory = temporaryDirectory();
  const crashed = temporaryDirectory();
  try {
    const store = await openStore(directory.path);
    await fill(store, 1, 60);
    assert.equal(await store.checkpoint(), true);
    await fill(store, 61, 40);
    await store.durable();
    const before = await view(store);
    // What the disk holds at this moment, as a crash would leave it (no close, no newer checkpoint).
    cpSync(directory.path, crashed.path, { recursive: true });
    await store.close();
    assert.deepEqual(await openCounts(crashed.path), { reported: 40, checkpoint: 60 });
    const reopened = await openStore(crashed.path);
    assert.deepEqual(await view(reopened), before);
    await reopened.close();
  } finally {
    directory.remove();
    crashed.remove();
  }
});

test("a checkpoint that no longer describes the log is ignored and removed: a bad checksum, a scavenged log", async () => {
  const directory = temporaryDirectory();
  try {
    let store = await openStore(directory.path);
    await fill(store, 1, 40);
    const before = await view(store);
    await store.close();
    const path = join(directory.path, "index.checkpoint");
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(path, bytes);
    assert.deepEqual(await openCounts(directory.path), { reported: 40, checkpoint: undefined });
    assert.equal(existsSync(path), false);
    store = await openStore(directory.path);
    assert.deepEqual(await view(store), before);
    await store.truncateStream("s-0", 2);
    await store.close();
    assert.equal(existsSync(path), true);
    await scavengeLog(directory.path);
    assert.equal(existsSync(path), false, "a scavenge removes the checkpoint of the segments it rewrites");
    store = await openStore(directory.path);
    assert.equal(store.headPosition, 41);
    assert.deepEqual(await store.readAll({ from: 30 }), before.all.slice(29).filter((e) => !(e.streamId === "s-0" && e.streamVersion < 2)));
    await store.close();
  } finally {
    directory.remove();
  }
});

/** An inline projection counting events per stream; `saves` opts into checkpointing its state. */
function counting(saves: boolean) {
  const applied: number[] = [];
  const projection = inlineProjection<Record<string, number>, TestEvent>({
    name: "counts",
    initialState: () => ({}),
    apply: (state, event: RecordedEvent<TestEvent>) => {
      applied.push(event.position);
      state[event.streamId] = (state[event.streamId] ?? 0) + 1;
      return state;
    },
    ...(saves && { snapshot: { save: (state: Record<string, number>) => ({ ...state }), load: (saved: unknown) => ({ ...(saved as Record<string, number>) }) } }),
  });
  return Object.assign(projection, { applied });
}

test("inline projections that save their state start from the checkpoint; others are rebuilt from the whole log", async () => {
  const directory = temporaryDirectory();
  try {
    const store = await openStore(directory.path, [counting(true)]);
    await fill(store, 1, 30);
    await store.close();
    for (const saves of [true, false]) {
      const projection = counting(saves);
      const reopened = await openStore(directory.path, [projection]);
      await reopened.append("s-0", [noted(99)]);
      assert.equal(projection.applied.length, saves ? 1 : reopened.headPosition);
      assert.deepEqual(projection.state, Object.fromEntries(["s-0", "s-1", "s-2"].map((id) => [id, reopened.streamVersion(id)])));
      await reopened.close();
    }
  } finally {
    directory.remove();
  }
});

/**
 * Fills a log with 60 events, closes it (saving its checkpoint), and flips the byte of its
 * first segment that `at` picks (given the segment's bytes); returns the segment's path.
 */
async function damagedLog(directory: string, at: (view: DataView) => number): Promise<string> {
  const store = await openStore(directory);
  await fill(store, 1, 60);
  await store.close();
  const first = join(directory, "segment-0000000000000001.wal");
  const bytes = readFileSync(first);
  bytes[at(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength))] ^= 0xff;
  writeFileSync(first, bytes);
  return first;
}

test("damage in the middle of a read: the records before it read, a read that reaches it fails naming it", async () => {
  const directory = temporaryDirectory();
  try {
    // The last byte of the third record's data flipped: a read checks the records'
    // checksums a window at a time, and must still stop at this one.
    let third = 48;
    const first = await damagedLog(directory.path, (view) => {
      for (let i = 0; i < 2; i++) third += (view.getUint32(third + 4, true) + 7) & ~7;
      return third + view.getUint32(third + 4, true) - 1;
    });
    const opened = await openStore(directory.path);
    assert.deepEqual((await opened.readAll({ limit: 2 })).map((event) => event.position), [1, 2]);
    await assert.rejects(opened.readAll({ limit: 5 }), (error: unknown) =>
      error instanceof StorageError && error.file === first && error.offset === third && /position 3 failed to read back/.test(error.message));
    await opened.close();
  } finally {
    directory.remove();
  }
});

test("damage under a checkpoint: the open trusts it, a read of the damaged record fails naming it, verify finds it, repair reads the whole log", async () => {
  const directory = temporaryDirectory();
  try {
    // A byte of the first record flipped (it is older than the event buffer, so the open does not read it).
    const first = await damagedLog(directory.path, () => 48 + 60);
    const opened = await openStore(directory.path);
    assert.equal(opened.headPosition, 60);
    await assert.rejects(opened.readAll({ limit: 1 }), (error: unknown) =>
      error instanceof StorageError && error.file === first && error.offset === 48 && /eventfold repair/.test(error.message));
    await opened.close();
    assert.match(String(new LogReader(runtimeFileSystem(), directory.path).scan.problem?.reason), /checksum/);
    const repaired = new EventStore({ events: testEvents(), storage: fileStorage(directory.path, { segmentBytes: 1024, repair: true }) });
    await repaired.open();
    assert.equal(repaired.headPosition, 0, "the valid prefix ends before the damaged first record");
    await repaired.close();
    assert.equal(existsSync(join(directory.path, "index.checkpoint")), false);
  } finally {
    directory.remove();
  }
});
