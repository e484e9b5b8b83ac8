/**
 * The process the crash harness kills: it appends forever to two WAL directories —
 * generic events whose content is a function of their position (in `durable` mode on
 * even runs, in `sync` mode, the writer on this thread, on odd ones), and the
 * order book's (exchange-core mix, snapshots every 500 events, small segments so rolls are
 * frequent) — and prints a line for each acknowledgement, only after the fdatasync
 * covering it has returned:
 *
 *   ready <generic head> <book head>
 *   ack <generic position> <book position>
 *
 * Usage (the harness runs it): child.ts <directory> <seed> <run>
 */
import process from "node:process";
import { EventStore } from "../../mod.ts";
import { fileStorage } from "../../src/adapter/file/index.ts";
import { ExchangeCoreMixGenerator, orderBookCodecs, OrderBookEngine, random, WORKLOAD_INSTRUMENT } from "../../src/orderbook/index.ts";
import { CRASH_SEGMENT_BYTES, crashProbeEvents, probe } from "./probe.ts";

const [directory, seedText, runText] = process.argv.slice(2);
const seed = Number(seedText);
const run = Number(runText);
const next = random(seed ^ (run * 0x9e3779b1));

const generic = new EventStore({
  events: crashProbeEvents(),
  storage: fileStorage(`${directory}/generic`, { durability: run % 2 === 0 ? "durable" : "sync", segmentBytes: CRASH_SEGMENT_BYTES }),
});
await generic.open();
const engine = await OrderBookEngine.open({
  instruments: [WORKLOAD_INSTRUMENT],
  storage: fileStorage(`${directory}/book`, { durability: "durable", segmentBytes: CRASH_SEGMENT_BYTES, codecs: orderBookCodecs }),
  snapshotEvery: 500,
});
// Order ids of each run start far above the previous runs' (ids must be new).
const generator = new ExchangeCoreMixGenerator(engine, seed + run, 100, run * 10_000_000 + 1);
const write = (line: string) => process.stdout.write(`${line}\n`);
write(`ready ${generic.headPosition} ${engine.store.headPosition}`);

for (;;) {
  const count = 1 + Math.floor(next() * 8);
  const events = [];
  for (let i = 1; i <= count; i++) events.push(probe(generic.headPosition + i, i === count));
  const genericPosition = generic.enqueue("probe", events).position;
  if (generator.resting < 50) generator.fill();
  const commands = 1 + Math.floor(next() * 20);
  for (let i = 0; i < commands; i++) generator.step();
  const bookPosition = engine.store.headPosition;
  await Promise.all([generic.durable(genericPosition), engine.store.durable(bookPosition)]);
  write(`ack ${genericPosition} ${bookPosition}`);
}
