/**
 * Peers on the same workload:
 *
 * - `nodejs-order-book` (npm), matching only, in memory: the same commands mapped to its
 *   limit / cancel / modify calls (order ids as strings, made before the clock starts);
 * - SQLite in WAL mode (`node:sqlite`, or `better-sqlite3` on Node 20; synchronous=FULL) as the event store most people
 *   would pick: the very events our engine produced for the workload are appended to an
 *   events table with the (stream, version) uniqueness an event store needs. One
 *   transaction per 1,000 commands is our `durable` mode's durability (acknowledged after
 *   the covering sync); one transaction per command is `sync`'s. SQLite only appends;
 *   our figures include the matching.
 */
import { type SqliteDatabase, sqliteDriver } from "../../src/adapter/sqlite/driver.ts";
import { OrderBook as PeerOrderBook } from "nodejs-order-book";
import { OrderBookEngine, type Workload } from "../../src/orderbook/index.ts";
import { newHistogram, type Percentiles, percentiles } from "./stats.ts";

export interface PeerResult {
  system: string;
  commands: number;
  ordersPerSecond: number;
  criticalPath?: Percentiles;
}

type PeerCall = (book: InstanceType<typeof PeerOrderBook>) => unknown;

function peerCalls(workload: Workload): { setup: PeerCall[]; commands: PeerCall[] } {
  const map = (command: Workload["commands"][number]): PeerCall => {
    switch (command.type) {
      case "place": {
        const options = {
          side: command.side as never,
          id: String(command.orderId),
          size: command.quantity,
          price: command.price as number,
          timeInForce: command.timeInForce as never,
        };
        return (book) => book.limit(options);
      }
      case "cancel": {
        const id = String(command.orderId);
        return (book) => book.cancel(id);
      }
      case "modify": {
        const id = String(command.orderId);
        const update = command.quantity === undefined ? { price: command.price! } : { price: command.price, size: command.quantity };
        return (book) => book.modify(id, update as never);
      }
      default:
        throw new Error(`no nodejs-order-book equivalent for ${command.type}`);
    }
  };
  return { setup: workload.setup.map(map), commands: workload.commands.map(map) };
}

/** nodejs-order-book in memory: a throughput pass, then a pass timing every call. */
export function benchNodejsOrderBook(workload: Workload): PeerResult {
  const calls = peerCalls(workload);
  const run = (timed: boolean) => {
    const book = new PeerOrderBook();
    for (const call of calls.setup) call(book);
    const histogram = newHistogram();
    const started = performance.now();
    for (const call of calls.commands) {
      if (!timed) {
        call(book);
        continue;
      }
      const start = performance.now();
      call(book);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1e6)));
    }
    return { seconds: (performance.now() - started) / 1000, histogram };
  };
  const throughput = run(false);
  const latency = run(true);
  return {
    system: "nodejs-order-book (memory, matching only)",
    commands: calls.commands.length,
    ordersPerSecond: Math.round(calls.commands.length / throughput.seconds),
    criticalPath: percentiles(latency.histogram),
  };
}

interface EventRow {
  position: number;
  streamId: string;
  streamVersion: number;
  type: string;
  data: unknown;
}

/** The events each command of the workload produces (from our engine in memory). */
export async function workloadEvents(workload: Workload): Promise<{ rows: EventRow[]; commandEnds: Int32Array }> {
  const engine = await OrderBookEngine.open({ instruments: [workload.instrument], bufferSize: 1024 });
  for (const command of workload.setup) engine.submitValidated(command);
  const rows: EventRow[] = [];
  const commandEnds = new Int32Array(workload.commands.length);
  workload.commands.forEach((command, i) => {
    for (const event of engine.submitValidated(command).events) {
      rows.push({ position: event.position, streamId: event.streamId, streamVersion: event.streamVersion, type: event.type, data: event.data });
    }
    commandEnds[i] = rows.length;
  });
  await engine.close();
  return { rows, commandEnds };
}

/** An SQLite driver: node:sqlite, or better-sqlite3 on Node 20 (the SQLite adapter's choice). */
export const loadSqlite = sqliteDriver;

/** Appends the workload's events to SQLite, committing every `commandsPerCommit` commands. */
export function benchSqlite(
  driver: { name: string; open(path: string, timeoutMs: number): SqliteDatabase },
  events: { rows: EventRow[]; commandEnds: Int32Array },
  directory: string,
  commandsPerCommit: number,
  limit = Infinity,
): PeerResult {
  const database = driver.open(`${directory}/events-${commandsPerCommit}.sqlite`, 5000);
  database.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    CREATE TABLE events (
      position INTEGER PRIMARY KEY,
      stream_id TEXT NOT NULL,
      stream_version INTEGER NOT NULL,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      UNIQUE (stream_id, stream_version)
    );`);
  const insert = database.prepare("INSERT INTO events (position, stream_id, stream_version, type, data) VALUES (?, ?, ?, ?, ?)");
  const commands = Math.min(limit, events.commandEnds.length);
  const started = performance.now();
  let row = 0;
  for (let i = 0; i < commands; i += commandsPerCommit) {
    const end = events.commandEnds[Math.min(commands, i + commandsPerCommit) - 1];
    database.exec("BEGIN");
    for (; row < end; row++) {
      const event = events.rows[row];
      insert.run(event.position, event.streamId, event.streamVersion, event.type, JSON.stringify(event.data));
    }
    database.exec("COMMIT");
  }
  const seconds = (performance.now() - started) / 1000;
  database.close();
  return {
    system: commandsPerCommit === 1
      ? `SQLite WAL mode, commit per command (sync; ${driver.name})`
      : `SQLite WAL mode, commit per ${commandsPerCommit.toLocaleString("en")} commands (durable; ${driver.name})`,
    commands,
    ordersPerSecond: Math.round(commands / seconds),
  };
}

