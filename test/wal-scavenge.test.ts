/**
 * Scavenging the file WAL: removed events leave the segment files, the log still opens
 * and reads the same, and a crash at any step leaves either the old log or the new one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EventStore, StorageError } from "../mod.ts";
import { fileStorage, runtimeFileSystem, scavengeLog } from "../src/adapter/file/index.ts";
import { forwardingFileSystem } from "../src/wal/file-system.ts";
import { scavenge } from "../src/wal/scavenge.ts";
import { noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";

const SECRET = "top secret";

async function openStore(directory: string): Promise<EventStore<TestEvent>> {
  // Small segments: the removed events, the markers and the kept ones spread over several files.
  const store = new EventStore({ events: testEvents(), storage: fileStorage(directory, { segmentBytes: 512 }) });
  await store.open();
  return store;
}

/** A log where stream "gone" is deleted and stream "old" truncated, both holding the secret; "kept" is untouched. */
async function removalLog(directory: string): Promise<{ head: number; kept: unknown[] }> {
  const store = await openStore(directory);
  for (let i = 1; i <= 6; i++) {
    await store.append("gone", [{ ...noted(i, `${SECRET} ${i}`), metadata: { who: SECRET }, id: `${SECRET}-${i}` }]);
    await store.append("old", [noted(i, i <= 3 ? `${SECRET} ${i}` : `fine ${i}`), noted(10 + i)]);
    await store.append("kept", [noted(100 + i)]);
  }
  await store.deleteStream("gone");
  await store.truncateStream("old", 7);
  const kept = await store.readAll();
  const head = store.headPosition;
  await store.close();
  return { head, kept };
}

const segmentBytes = (directory: string): string =>
  readdirSync(directory).filter((name) => name.endsWith(".wal")).map((name) => readFileSync(join(directory, name), "latin1")).join("");

test("scavenge erases removed events from the segment files; the log reopens and reads the same", async () => {
  const directory = temporaryDirectory();
  try {
    const { head, kept } = await removalLog(directory.path);
    assert.match(segmentBytes(directory.path), new RegExp(SECRET));
    assert.ok(readdirSync(directory.path).filter((name) => name.endsWith(".wal")).length > 3);
    const result = await scavengeLog(directory.path);
    assert.equal(result.erased, 6 + 6); // all of "gone"; versions 1-6 of "old" (three appends of two)
    assert.ok(result.segmentsRewritten >= 1);
    assert.doesNotMatch(segmentBytes(directory.path), new RegExp(SECRET));
    const store = await openStore(directory.path);
    assert.equal(store.headPosition, head);
    assert.deepEqual(await store.readAll(), kept);
    assert.equal(store.streamDeleted("gone"), true);
    assert.deepEqual((await store.readStream("old")).map((e) => e.streamVersion), [7, 8, 9, 10, 11, 12]);
    const erased = await store.storage.read(1, 1);
    assert.deepEqual([erased[0]!.type, erased[0]!.data, erased[0]!.metadata, erased[0]!.id], ["$redacted", null, undefined, undefined]);
    await store.append("kept", [noted(200)]);
    await store.close();
    assert.deepEqual(await scavengeLog(directory.path), { erased: 0, segmentsRewritten: 0 });
  } finally {
    directory.remove();
  }
});

test("a scavenge interrupted before its commit point leaves the old log; after it, the next open finishes it", async () => {
  const fs = runtimeFileSystem();
  for (const crashAt of ["commit", "second rename"] as const) {
    const directory = temporaryDirectory();
    try {
      const { head, kept } = await removalLog(directory.path);
      let renames = 0;
      const crashing = forwardingFileSystem(fs, {
        rename(from, to) {
          if (crashAt === "commit" && from.endsWith("scavenge.pending.tmp")) throw new Error("crash");
          if (crashAt === "second rename" && from.endsWith(".scavenged") && ++renames === 2) throw new Error("crash");
          fs.rename(from, to);
        },
      });
      await assert.rejects(scavenge(crashing, directory.path), /crash/);
      // Before the commit the secret is still in the (old) log; after it, the open rolls the scavenge forward.
      const store = await openStore(directory.path);
      assert.equal(store.headPosition, head);
      assert.deepEqual(await store.readAll(), kept);
      await store.close();
      assert.equal(new RegExp(SECRET).test(segmentBytes(directory.path)), crashAt === "commit");
      assert.deepEqual(readdirSync(directory.path).filter((name) => name.includes("scavenge")), []);
    } finally {
      directory.remove();
    }
  }
});

test("scavenge refuses a log a writer holds, and changes nothing", async () => {
  const directory = temporaryDirectory();
  try {
    await removalLog(directory.path);
    const store = await openStore(directory.path);
    const before = segmentBytes(directory.path);
    await assert.rejects(scavengeLog(directory.path), StorageError);
    assert.equal(segmentBytes(directory.path), before);
    await store.close();
  } finally {
    directory.remove();
  }
});
