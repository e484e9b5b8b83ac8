/**
 * The CLI commands that read a WAL directory: inspect, verify, dump, replay; and repair,
 * the one that changes it. All but repair open the log read-only (LogReader): no lock,
 * nothing written, safe next to a running writer.
 */
import { fileStorage, runtimeFileSystem, scavengeLog } from "../adapter/file/index.ts";
import type { StoredRecord } from "../core/events.ts";
import { evolveBook, type Instrument, OrderBook, stateHash } from "../orderbook/index.ts";
import { type App, orderBookApp } from "./app-module.ts";
import { FileSnapshotStore } from "../wal/file-snapshots.ts";
import { joinPath } from "../wal/file-system.ts";
import { LogReader } from "../wal/log-reader.ts";
import { CliError, type Output } from "./output.ts";

const fs = () => runtimeFileSystem();

function openReader(directory: string, app: App): LogReader {
  if (!fs().exists(directory)) throw new CliError(`no such directory: ${directory}`);
  if (!fs().list(directory).some((name) => name.startsWith("segment-"))) throw new CliError(`${directory} holds no WAL segments`);
  return new LogReader(fs(), directory, app.codecs);
}

const describeProblem = (problem: NonNullable<LogReader["scan"]["problem"]>) =>
  `${problem.reason} in ${problem.file} at offset ${problem.offset} ` +
  (problem.torn ? "(a torn tail: opening the log cuts it off and keeps the bytes aside)" : "(corruption: opening the log refuses; `eventfold repair` keeps the valid prefix)");

export async function inspect(directory: string, app: App, out: Output): Promise<number> {
  const reader = openReader(directory, app);
  const types = new Map<string, number>();
  const streams = new Map<string, number>();
  reader.each((record) => {
    types.set(record.type, (types.get(record.type) ?? 0) + 1);
    streams.set(record.streamId, (streams.get(record.streamId) ?? 0) + 1);
  }, { lent: true });
  const snapshots = new FileSnapshotStore(fs(), joinPath(directory, "snapshots"));
  const snapshotRows = [];
  for (const streamId of streams.keys()) {
    const snapshot = await snapshots.load(streamId);
    if (snapshot) snapshotRows.push({ streamId, streamVersion: snapshot.streamVersion, schemaVersion: snapshot.schemaVersion });
  }
  const report = {
    directory,
    segments: reader.segments.map((s) => ({ name: s.name, firstPosition: s.firstPosition, records: s.records, bytes: s.bytes })),
    records: reader.headPosition,
    // The end of the last whole append: the durable position of a log that was closed (or
    // reopened after a crash). A writer still running may have synced less, or written more.
    durablePosition: reader.headPosition,
    bytes: reader.segments.reduce((total, s) => total + s.bytes, 0),
    streams: Object.fromEntries(streams),
    eventTypes: Object.fromEntries([...types].sort((a, b) => b[1] - a[1])),
    snapshots: snapshotRows,
    problem: reader.scan.problem,
  };
  if (out.json) {
    out.line(JSON.stringify(report, null, 2));
    return 0;
  }
  out.line(`${directory}: ${report.records.toLocaleString("en")} records in ${report.segments.length} segment(s), ${report.bytes.toLocaleString("en")} bytes`);
  for (const s of report.segments) out.line(`  ${s.name}  positions ${s.firstPosition}..${s.firstPosition + s.records - 1}  ${s.records} records  ${s.bytes} bytes`);
  out.line(`durable position: ${report.durablePosition} (once closed or reopened; a running writer may differ)`);
  out.line(`streams: ${[...streams].map(([id, n]) => `${id} (${n})`).join(", ") || "none"}`);
  out.line("event types:");
  for (const [type, count] of Object.entries(report.eventTypes)) out.line(`  ${type.padEnd(20)} ${count}`);
  out.line(snapshotRows.length === 0 ? "snapshots: none" : `snapshots: ${snapshotRows.map((s) => `${s.streamId} at version ${s.streamVersion}`).join(", ")}`);
  if (report.problem) out.line(`problem: ${describeProblem(report.problem)}`);
  return 0;
}

export function verify(directory: string, app: App, out: Output): number {
  const reader = openReader(directory, app);
  // Decode every record too: a checksum can match bytes the decoder cannot accept.
  let count = 0;
  reader.each(() => count++, { lent: true });
  const problem = reader.scan.problem;
  if (problem) {
    out.line(`FAILED after ${count} valid records: ${describeProblem(problem)}`);
    return 1;
  }
  out.line(`ok: ${count.toLocaleString("en")} records in ${reader.segments.length} segment(s), every checksum and record valid`);
  return 0;
}

export function dump(directory: string, app: App, options: { stream?: string; from: number }, out: Output): number {
  const reader = openReader(directory, app);
  const registry = app.events;
  const known = (record: StoredRecord) => {
    try {
      return registry.decode(record); // upcast and validated where the type is known
    } catch {
      return record; // a type this tool does not know: shown as stored
    }
  };
  // Lent records: each is printed before the next is read.
  reader.each((record) => {
    if (options.stream !== undefined && record.streamId !== options.stream) return;
    const event = known(record);
    if (out.json) out.line(JSON.stringify(event));
    else out.line(`#${event.position} ${event.streamId}@${event.streamVersion} ${event.type} ${JSON.stringify(event.data)}`);
  }, { from: options.from, lent: true });
  return 0;
}

/**
 * Folds every stream of the log from its events alone (no snapshot) and prints each
 * state's hash: with the app's decider (`--events`), or the order books (the same hash the
 * demo and the engine print). A log with corruption before its end is refused: folding
 * the prefix would print a state the log does not hold. A torn tail (what a crash leaves,
 * and opening the log cuts) is folded up to it, and said.
 */
export async function replay(directory: string, app: App, instrument: Omit<Instrument, "symbol">, out: Output): Promise<number> {
  const reader = openReader(directory, app);
  const problem = reader.scan.problem;
  if (problem && !problem.torn) {
    out.line(`FAILED: ${describeProblem(problem)}; nothing replayed`);
    return 1;
  }
  if (problem) out.line(`note: ${describeProblem(problem)}; replaying the ${reader.headPosition} records before it`);
  return app === orderBookApp ? await replayBooks(reader, instrument, out) : await replayWithDecider(reader, app, out);
}

/** The order books, folded straight from the records (the codecs validated them). */
async function replayBooks(reader: LogReader, instrument: Omit<Instrument, "symbol">, out: Output): Promise<number> {
  const books = new Map<string, OrderBook>();
  const started = performance.now();
  let count = 0;
  const removals = reader.removals();
  // Lent records: the book's evolve keeps nothing of them.
  reader.each((record) => {
    if (!record.streamId.startsWith("book-") || removals.hides(record)) return;
    let book = books.get(record.streamId);
    if (book === undefined) books.set(record.streamId, book = new OrderBook({ symbol: record.streamId.slice(5), ...instrument }));
    evolveBook(book, record as never);
    if (++count % 100_000 === 0) out.progress(`replayed ${count.toLocaleString("en")} / ${reader.headPosition.toLocaleString("en")} events`);
  }, { lent: true });
  const seconds = (performance.now() - started) / 1000;
  out.endProgress();
  for (const [streamId, book] of books) {
    out.line(`${streamId}: ${book.orders.size} resting orders, state hash ${await stateHash(book)}`);
  }
  replayed(count, seconds, out);
  return 0;
}

/** Streams printed one by one; past this many, their hashes are combined into one line. */
const LISTED_STREAMS = 20;

/** Every stream folded with the app's decider from its initial state, events decoded and upcast. */
async function replayWithDecider(reader: LogReader, app: App, out: Output): Promise<number> {
  const decider = app.decider;
  if (decider === undefined) throw new CliError(`--events ${app.name} exports no decider: replay needs one to fold the streams`);
  const states = new Map<string, { state: unknown; version: number }>();
  const started = performance.now();
  let count = 0;
  // Markers, and what deleted and truncated streams lost, are left out as the store leaves them out.
  const removals = reader.removals();
  reader.each((record) => {
    if (removals.hides(record)) return;
    const event = app.events.decode(record);
    let stream = states.get(record.streamId);
    if (stream === undefined) states.set(record.streamId, stream = { state: decider.initialState(record.streamId), version: 0 });
    stream.state = decider.evolve(stream.state, event as never);
    stream.version = record.streamVersion;
    if (++count % 100_000 === 0) out.progress(`replayed ${count.toLocaleString("en")} / ${reader.headPosition.toLocaleString("en")} events`);
  }, { lent: decider.evolveKeepsNoEvents === true });
  const seconds = (performance.now() - started) / 1000;
  out.endProgress();
  const ids = [...states.keys()].sort();
  const hashes = new Map<string, string>();
  for (const id of ids) hashes.set(id, await app.stateHash(states.get(id)!.state));
  if (ids.length <= LISTED_STREAMS) {
    for (const id of ids) out.line(`${id}: version ${states.get(id)!.version}, state hash ${hashes.get(id)}`);
  } else {
    out.line(`${ids.length} streams; combined state hash ${await app.stateHash([...hashes])} (SHA of [stream, hash] pairs in stream order)`);
  }
  replayed(count, seconds, out);
  return 0;
}

function replayed(count: number, seconds: number, out: Output): void {
  out.line(`replayed ${count.toLocaleString("en")} events in ${seconds.toFixed(2)} s (${Math.round(count / Math.max(seconds, 1e-9)).toLocaleString("en")} events/s)`);
}

/** Opens the log for writing with `repair`: the valid prefix stays, the rest is moved aside. */
/** Erases what stream removals took away from the segment files (asks first, like repair). */
export async function scavengeCommand(directory: string, confirmed: boolean, out: Output): Promise<number> {
  if (!confirmed && !(await out.confirm("erase the events deleted and truncated streams removed (this cannot be undone)?"))) {
    throw new CliError("scavenge erases removed events for good; run again with --yes to go ahead");
  }
  const { erased, segmentsRewritten } = await scavengeLog(directory);
  out.line(`scavenged: ${erased} records erased, ${segmentsRewritten} segment files rewritten`);
  return 0;
}

export async function repair(directory: string, app: App, confirmed: boolean, out: Output): Promise<number> {
  const reader = openReader(directory, app);
  const problem = reader.scan.problem;
  if (!problem) {
    out.line(`nothing to repair: ${reader.headPosition} records, all valid`);
    return 0;
  }
  out.line(`found: ${describeProblem(problem)}`);
  if (!confirmed && !(await out.confirm("move the bytes after the problem aside (kept, not deleted)?"))) {
    throw new CliError("repair moves the bytes after the problem aside (they are kept, not deleted); run again with --yes to go ahead");
  }
  const storage = fileStorage(directory, { repair: true, codecs: [...app.codecs] });
  await storage.open(() => {});
  const recovered = storage.recovered!;
  await storage.close();
  out.line(`repaired: kept ${recovered.headPosition} records; set aside (nothing deleted):`);
  for (const name of recovered.setAside) out.line(`  ${name}`);
  return 0;
}
