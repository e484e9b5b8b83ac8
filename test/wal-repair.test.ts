/**
 * Every kind of damage docs/wal-format.md names, each done to a real log of many small
 * segments. For each: verify (read-only) reports the problem; open refuses it naming the
 * same file and offset and changes nothing (or, for a torn tail, cuts it); repair ends in a
 * directory that opens, holding exactly the valid prefix (cut back to a whole append),
 * with every byte of every damaged file kept aside (but the zeros at a file's end: a
 * segment sized ahead of its records); and the log goes on from there.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StorageError } from "../mod.ts";
import { runtimeFileSystem } from "../src/adapter/file/index.ts";
import { LogReader } from "../src/wal/log-reader.ts";
import { checkRecord, paddedLength } from "../src/wal/record-format.ts";
import { encodeSegmentHeader, newLogId, parseSegmentName, SEGMENT_HEADER_BYTES, segmentName } from "../src/wal/segment.ts";
import { crc32c } from "../src/wal/crc32c.ts";
import { appendEnd, noted } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { ns, openWal, segments } from "./support/wal.ts";

const EVENTS = 60;
const SEGMENT_BYTES = 700;
const textOf = (n: number) => `${n}:`.padEnd(5 + ((n * 37) % 60), "abc");

/** Writes events 1..EVENTS in appends of 1-3 (appendEnd's pattern) over small segments. */
async function buildLog(directory: string): Promise<void> {
  const { store } = await openWal(directory, { segmentBytes: SEGMENT_BYTES });
  for (let n = 0; n < EVENTS;) {
    const batch = [];
    for (const end = appendEnd(n, EVENTS); n < end;) batch.push(noted(++n, textOf(n)));
    store.enqueue("s", batch);
  }
  await store.durable();
  await store.close();
  // These cases are about recovery reading the whole log: without the index checkpoint the
  // close wrote (damage under a checkpoint: test/wal-checkpoint.test.ts).
  rmSync(join(directory, "index.checkpoint"));
}

/** Positions at which an append of the built log ends (where a valid prefix may stop). */
const APPEND_ENDS = (() => {
  const ends = [0];
  for (let n = 0; n < EVENTS;) ends.push(n = appendEnd(n, EVENTS));
  return ends;
})();
/** What repair keeps when position `p` is the first one lost: the whole appends before it. */
const keptBefore = (p: number) => Math.max(...APPEND_ENDS.filter((end) => end <= p - 1));

interface Layout {
  names: string[];
  first: number[];
  offsets: number[][];
}

function layout(directory: string): Layout {
  const names = segments(directory);
  return {
    names,
    first: names.map((name) => parseSegmentName(name)!),
    offsets: names.map((name) => {
      const bytes = new Uint8Array(readFileSync(join(directory, name)));
      const view = new DataView(bytes.buffer);
      const offsets: number[] = [];
      for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length;) {
        offsets.push(offset);
        offset += paddedLength(checkRecord(bytes, view, offset, bytes.length) as number);
      }
      return offsets;
    }),
  };
}

interface Damage {
  /** What was done. */
  name: string;
  /** A crash can leave it: open cuts it without repair. */
  torn?: boolean;
  /** Damages `directory`; returns the event numbers repair must keep, in order. */
  apply(directory: string, log: Layout, scratch: string): Promise<number[]> | number[];
}

const upTo = (last: number) => Array.from({ length: last }, (_, i) => i + 1);
const middle = (log: Layout) => Math.floor(log.names.length / 2);
const pathOf = (directory: string, log: Layout, at: number) => join(directory, log.names[at]!);

function flip(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0x40;
  writeFileSync(path, bytes);
}

const DAMAGES: Damage[] = [
  {
    name: "a bad checksum in a middle segment, valid records after it",
    apply(directory, log) {
      const m = middle(log);
      flip(pathOf(directory, log, m), log.offsets[m]![1]! + 20);
      return upTo(keptBefore(log.first[m]! + 1));
    },
  },
  {
    name: "a bad checksum in the last segment, valid records after it",
    apply(directory, log) {
      const last = log.names.length - 1;
      assert.ok(log.offsets[last]!.length >= 2, "the last segment needs two records");
      flip(pathOf(directory, log, last), log.offsets[last]![0]! + 20);
      return upTo(keptBefore(log.first[last]!));
    },
  },
  {
    name: "a torn tail: the last record cut short",
    torn: true,
    apply(directory, log) {
      const last = log.names.length - 1;
      truncateSync(pathOf(directory, log, last), log.offsets[last]!.at(-1)! + 9);
      return upTo(keptBefore(EVENTS));
    },
  },
  {
    name: "a torn tail: the last record's first sector lost (zeros), the rest of it there, zeros after it",
    torn: true,
    apply(directory, log) {
      const last = log.names.length - 1;
      const path = pathOf(directory, log, last);
      const bytes = readFileSync(path);
      bytes.fill(0, log.offsets[last]!.at(-1)!, log.offsets[last]!.at(-1)! + 8);
      writeFileSync(path, Buffer.concat([bytes, new Uint8Array(4096)]));
      return upTo(keptBefore(EVENTS));
    },
  },
  {
    name: "a torn tail: garbage after the last record",
    torn: true,
    apply(directory, log) {
      writeFileSync(pathOf(directory, log, log.names.length - 1), new Uint8Array(333).map((_, i) => (i * 131 + 7) & 0xff), { flag: "a" });
      return upTo(EVENTS);
    },
  },
  {
    name: "a record repeated in a middle segment",
    apply(directory, log) {
      const m = middle(log);
      const path = pathOf(directory, log, m);
      const bytes = readFileSync(path);
      const [first, second] = [log.offsets[m]![0]!, log.offsets[m]![1]!];
      writeFileSync(path, Buffer.concat([bytes.subarray(0, second), bytes.subarray(first, second), bytes.subarray(second)]));
      return upTo(keptBefore(log.first[m]! + 1));
    },
  },
  {
    name: "a middle segment's header cut short",
    apply(directory, log) {
      const m = middle(log);
      truncateSync(pathOf(directory, log, m), 20);
      return upTo(keptBefore(log.first[m]!));
    },
  },
  {
    name: "the last segment's header cut short",
    apply(directory, log) {
      const last = log.names.length - 1;
      truncateSync(pathOf(directory, log, last), 20);
      return upTo(keptBefore(log.first[last]!));
    },
  },
  {
    name: "a middle segment deleted",
    apply(directory, log) {
      const m = middle(log);
      rmSync(pathOf(directory, log, m));
      return upTo(keptBefore(log.first[m]!));
    },
  },
  {
    name: "a middle segment zeroed",
    apply(directory, log) {
      const m = middle(log);
      const path = pathOf(directory, log, m);
      writeFileSync(path, new Uint8Array(readFileSync(path).length));
      return upTo(keptBefore(log.first[m]!));
    },
  },
  {
    name: "two segments' names swapped",
    apply(directory, log) {
      const m = middle(log);
      const [a, b] = [pathOf(directory, log, m), pathOf(directory, log, m + 1)];
      renameSync(a, `${a}.swap`);
      renameSync(b, a);
      renameSync(`${a}.swap`, b);
      return upTo(keptBefore(log.first[m]!));
    },
  },
  {
    name: "a middle segment cut at a record boundary",
    apply(directory, log) {
      const m = middle(log);
      truncateSync(pathOf(directory, log, m), log.offsets[m]![2]!);
      return upTo(keptBefore(log.first[m]! + 2));
    },
  },
  {
    name: "an empty file named like the next segment",
    apply(directory) {
      writeFileSync(join(directory, segmentName(EVENTS + 1)), new Uint8Array(0));
      return upTo(EVENTS);
    },
  },
  {
    name: "a segment of an older format version",
    apply(directory, log) {
      const m = middle(log);
      const path = pathOf(directory, log, m);
      const bytes = readFileSync(path);
      bytes.writeUInt32LE(1, 8);
      bytes.writeUInt32LE(crc32c(bytes, 0, 44), 44);
      writeFileSync(path, bytes);
      return upTo(keptBefore(log.first[m]!));
    },
  },
  {
    name: "a middle segment replaced by the same-named segment of another log",
    async apply(directory, log, scratch) {
      await buildLog(scratch); // the same events, the same layout: another log id
      const m = middle(log);
      assert.deepEqual(segments(scratch), log.names);
      copyFileSync(join(scratch, log.names[m]!), pathOf(directory, log, m));
      return upTo(keptBefore(log.first[m]!));
    },
  },
  {
    name: "a segment of another log whose positions continue this one's",
    apply(directory, log) {
      const last = log.names.length - 1;
      const bytes = readFileSync(pathOf(directory, log, last));
      const link = bytes.readUInt32LE(log.offsets[last]!.at(-1)!);
      writeFileSync(join(directory, segmentName(EVENTS + 1)), encodeSegmentHeader({ logId: newLogId(), firstPosition: EVENTS + 1, link }));
      return upTo(EVENTS);
    },
  },
  {
    name: "a segment of a fork: the same log and positions, another history",
    async apply(directory, _log, scratch) {
      rmSync(scratch, { recursive: true, force: true });
      cpSync(directory, scratch, { recursive: true });
      // Both go on from the same point, one event per append and per segment, differently.
      for (const [where, base] of [[directory, 1000], [scratch, 2000]] as const) {
        const { store } = await openWal(where, { segmentBytes: 64 });
        for (let i = 1; i <= 4; i++) await store.append("s", [noted(base + i)]);
        await store.close();
      }
      const name = segmentName(EVENTS + 3);
      assert.ok(existsSync(join(scratch, name)) && existsSync(join(directory, name)));
      copyFileSync(join(scratch, name), join(directory, name));
      rmSync(join(directory, "index.checkpoint")); // written by the closes above: the whole log is to be read
      return [...upTo(EVENTS), 1001, 1002];
    },
  },
];

/** Every file's bytes in a directory (LOCK aside). */
function files(directory: string): Map<string, Buffer> {
  return new Map(readdirSync(directory).filter((name) => name !== "LOCK").sort().map((name) => [name, readFileSync(join(directory, name))]));
}

/**
 * Every byte of every file before the repair (but zeros at its end) is still there after it: in the file itself
 * or its `.broken` (a kept prefix), in the files saved from it (`<name>.broken-<offset>`),
 * or in the file moved aside whole (`<name>.broken`).
 */
function assertEveryByteKept(before: Map<string, Buffer>, after: Map<string, Buffer>): void {
  for (const [name, bytes] of before) {
    const whole = [...after].find(([other, content]) => other.startsWith(`${name}.broken`) && !/\.broken-\d/.test(other) && content.equals(bytes));
    if (whole) continue;
    const saved = [...after]
      .filter(([other]) => other.startsWith(`${name}.broken-`) && !before.has(other))
      .map(([other, content]) => ({ offset: Number(/\.broken-(\d+)/.exec(other)![1]), content }))
      .sort((a, b) => a.offset - b.offset);
    // The kept prefix is in the file, or in its `.broken` if a later cut set it aside too.
    const movedPrefix = [...after].find(([other, content]) =>
      /\.broken(\.\d+)?$/.test(other) && other.startsWith(`${name}.broken`) && !before.has(other) && bytes.subarray(0, content.length).equals(content));
    const kept = after.get(name) ?? movedPrefix?.[1] ?? Buffer.alloc(0);
    const rebuilt = Buffer.concat([kept, ...saved.map((piece) => piece.content)]);
    // Zeros after the data are not kept (a segment sized ahead of its records: zero-tail.ts).
    const zerosAfter = bytes.subarray(rebuilt.length).every((byte) => byte === 0);
    assert.ok(rebuilt.equals(bytes.subarray(0, rebuilt.length)) && zerosAfter, `${name}: ${bytes.length} bytes before, ${kept.length} kept + ${saved.map((s) => `${s.content.length} at ${s.offset}`).join(", ")} aside`);
    for (const piece of saved) assert.ok(piece.offset >= kept.length, `${name}: bytes saved from ${piece.offset} overlap the kept prefix`);
  }
}

for (const damage of DAMAGES) {
  test(`repair: ${damage.name}`, async () => {
    const directory = temporaryDirectory("eventfold-repair-");
    const wal = join(directory.path, "wal");
    try {
      await buildLog(wal);
      const log = layout(wal);
      assert.ok(log.names.length >= 5, `only ${log.names.length} segments: make them smaller`);
      const expected = await damage.apply(wal, log, join(directory.path, "other"));
      const damaged = files(wal);

      // verify (read-only) and open agree on the problem; refusing changes nothing.
      const problem = new LogReader(runtimeFileSystem(), wal).scan.problem;
      assert.ok(problem, "verify found nothing wrong");
      assert.equal(problem.torn, damage.torn ?? false, `verify calls it ${problem.torn ? "a torn tail" : "corruption"}`);
      if (!problem.torn) {
        await assert.rejects(openWal(wal), (error: unknown) =>
          error instanceof StorageError && error.file === problem.file && error.offset === problem.offset);
        assert.deepEqual(files(wal), damaged);
      }

      const repaired = await openWal(wal, { repair: true });
      assert.deepEqual(await ns(repaired.store), expected);
      const setAside = repaired.storage.recovered!.setAside;
      await repaired.store.close();
      assertEveryByteKept(damaged, files(wal));
      for (const name of setAside) assert.ok(existsSync(join(wal, name)), `${name} is reported set aside but is not there`);

      // What repair left opens as it is, verifies clean, and goes on.
      assert.equal(new LogReader(runtimeFileSystem(), wal).scan.problem, undefined, "verify still finds a problem after repair");
      const again = await openWal(wal);
      assert.deepEqual(await ns(again.store), expected);
      await again.store.append("s", [noted(9999)]);
      await again.store.close();
      const last = await openWal(wal);
      assert.deepEqual(await ns(last.store), [...expected, 9999]);
      await last.store.close();
      assert.equal(new LogReader(runtimeFileSystem(), wal).scan.problem, undefined);
    } finally {
      directory.remove();
    }
  });
}

test("zeros after the last record (a segment sized ahead of its records) are the log's end: verify, open and repair agree, nothing is set aside", async () => {
  const directory = temporaryDirectory("eventfold-repair-");
  const wal = join(directory.path, "wal");
  try {
    await buildLog(wal);
    const names = segments(wal);
    writeFileSync(join(wal, names.at(-1)!), new Uint8Array(4096), { flag: "a" });
    const before = files(wal);
    assert.equal(new LogReader(runtimeFileSystem(), wal).scan.problem, undefined);
    for (const repair of [false, true]) {
      const opened = await openWal(wal, { repair });
      assert.deepEqual(await ns(opened.store), upTo(EVENTS));
      assert.deepEqual(opened.storage.recovered!.setAside, []);
      await opened.store.close();
    }
    // Closed, the last segment is its records again.
    const after = files(wal);
    const last = names.at(-1)!;
    assert.deepEqual(after.get(last), before.get(last)!.subarray(0, before.get(last)!.length - 4096));
    assert.deepEqual([...after.keys()].filter((name) => name !== "index.checkpoint"), [...before.keys()]);
  } finally {
    directory.remove();
  }
});

test("a second repair never overwrites what the first set aside", async () => {
  const directory = temporaryDirectory("eventfold-repair-");
  try {
    await buildLog(directory.path);
    // The same damage twice, so the same names: a stray file where the next segment goes.
    const next = join(directory.path, segmentName(EVENTS + 1));
    for (const round of [1, 2]) {
      writeFileSync(next, `stray file ${round}`);
      const { store } = await openWal(directory.path, { repair: true });
      await store.close();
    }
    const aside = readdirSync(directory.path).filter((name) => name.startsWith(`${segmentName(EVENTS + 1)}.broken`)).sort();
    assert.deepEqual(aside.map((name) => readFileSync(join(directory.path, name), "utf8")), ["stray file 1", "stray file 2"]);
  } finally {
    directory.remove();
  }
});
