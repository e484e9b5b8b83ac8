/**
 * Turns one runtime's benchmark results into a Markdown report and an SVG chart, and
 * puts the latest tables of every runtime into README between its bench markers.
 */
import type { FixedRateResult, ModeResult } from "./engine-bench.ts";
import type { HeapPerOrder, LongRunResult, RecoveryResult } from "./memory.ts";
import type { MicroResult } from "./micro.ts";
import type { PeerResult } from "./peers.ts";
import type { Percentiles } from "./stats.ts";

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

export interface BenchResults {
  runtime: string;
  version: string;
  date: string;
  quick: boolean;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string };
  commands: number;
  modes: ModeResult[];
  fixedRate: FixedRateResult[];
  peers: (PeerResult & { workload: string })[];
  recovery: (RecoveryResult & { label: string })[];
  heapPerOrder: HeapPerOrder[];
  longRun: Omit<LongRunResult, "directory">;
  micro: MicroResult[];
  goals: Goal[];
}

const integer = (value: number) => Math.round(value).toLocaleString("en");
const rate = (perSecond: number) =>
  perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M/s` : perSecond >= 1e3 ? `${(perSecond / 1e3).toFixed(1)} K/s` : `${perSecond.toFixed(0)} /s`;
const ratio = (ours: number, theirs: number) => `${(ours / theirs).toFixed(ours / theirs >= 10 ? 0 : 2)}x`;
const micros = (value: number) => (value >= 1000 ? integer(value) : String(value));
const latency = (p?: Percentiles) => p ? [p.p50, p.p99, p.p999, p.p9999, p.max].map(micros).join(" / ") : "-";
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`, ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n");

export function markdown(results: BenchResults): string {
  const out: string[] = [];
  const { machine } = results;
  out.push(`### ${results.runtime} ${results.version}${results.quick ? " (quick smoke run: too short to quote)" : ""}`);
  out.push(`${results.date.slice(0, 10)}, ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}. ` +
    `Latencies in µs (p50 / p99 / p99.9 / p99.99 / max); ratios are side by side in this one run.`);
  const workloads = [...new Set(results.modes.map((mode) => mode.workload))];
  for (const workload of workloads) {
    const modes = results.modes.filter((mode) => mode.workload === workload);
    const memory = modes.find((mode) => mode.mode === "memory")!;
    const sync = modes.find((mode) => mode.mode === "sync")!;
    const peer = results.peers.find((p) => p.workload === workload && p.system.startsWith("nodejs-order-book"));
    out.push(`\n**Engine, ${workload}** (${integer(memory.commands)} commands; sync on the first ${integer(sync.commands)})`);
    const rows = modes.map((mode) => [
      `eventfold ${mode.mode}`, rate(mode.ordersPerSecond), ratio(mode.ordersPerSecond, memory.ordersPerSecond),
      ratio(mode.ordersPerSecond, sync.ordersPerSecond), peer ? ratio(mode.ordersPerSecond, peer.ordersPerSecond) : "-",
      latency(mode.criticalPath), mode.durableAck ? `${micros(mode.durableAck.p50)} / ${micros(mode.durableAck.p99)}` : "-",
    ]);
    if (peer) rows.push([peer.system, rate(peer.ordersPerSecond), ratio(peer.ordersPerSecond, memory.ordersPerSecond), ratio(peer.ordersPerSecond, sync.ordersPerSecond), "1x", latency(peer.criticalPath), "-"]);
    out.push(table(["system", "orders/s", "vs memory", "vs sync", "vs nodejs-order-book", "critical path µs", "durable ack p50 / p99 µs"], rows));
  }
  const durable = results.modes.find((mode) => mode.mode === "durable")!;
  const ourSync = results.modes.find((mode) => mode.mode === "sync")!;
  out.push(`\n**Event-store append, same events: eventfold (whole engine) vs SQLite WAL mode (append only)**`);
  out.push(table(["system", "commands", "orders/s", "eventfold at the same durability", "ratio"], results.peers.filter((p) => p.system.startsWith("SQLite")).map((peer) => {
    const ours = peer.system.includes("(sync") ? ourSync : durable;
    return [peer.system, integer(peer.commands), rate(peer.ordersPerSecond), `${ours.mode}: ${rate(ours.ordersPerSecond)}`, ratio(ours.ordersPerSecond, peer.ordersPerSecond)];
  })));
  out.push(`\n**Fixed offered rate, durable mode, ${durable.workload}** (latency from each command's intended start; the first tenth of the commands warms up, offered but not recorded; ` +
    `the loop alone: the same loop at the same rate with nothing submitted, how late this host makes a command on its own)`);
  out.push(table(["offered", "achieved", "commands", "critical path µs", "durable ack µs", "the loop alone µs"], results.fixedRate.map((run) => [
    rate(run.offeredPerSecond), rate(run.achievedPerSecond), integer(run.commands), latency(run.criticalPath), latency(run.durableAck), latency(run.loopAlone),
  ])));
  out.push(`\n**Recovery** (open the WAL with no snapshot, in a new process: read, check CRCs, decode and fold every event)`);
  out.push(table(["log", "events", "seconds", "events/s", "state hash"], results.recovery.map((run) => [
    run.label, integer(run.events), run.seconds.toFixed(2), rate(run.eventsPerSecond), run.stateHashMatches ? "matches" : "DIFFERS",
  ])));
  out.push(`\n**Memory**`);
  const peerHeap = results.heapPerOrder[results.heapPerOrder.length - 1];
  out.push(table(["system", "resting orders", "live heap + typed arrays per resting order", "vs nodejs-order-book", "RSS after"], results.heapPerOrder.map((row) => [
    row.system, integer(row.restingOrders), `${row.bytesPerOrder} B`, ratio(row.bytesPerOrder, peerHeap.bytesPerOrder), `${row.rssMegabytes} MB`,
  ])));
  const long = results.longRun;
  out.push(`\nLong durable run: ${integer(long.commands)} commands (generated as they go), ${integer(long.events)} events, ${rate(long.ordersPerSecond)}; ` +
    `live heap ${long.samples.map((s) => s.heapMegabytes).join(" → ")} MB (growth ${long.heapGrowthPercent} %), ` +
    `RSS ${long.samples[0].rssMegabytes} → ${long.samples[long.samples.length - 1].rssMegabytes} MB.`);
  out.push(`\n**Micro-benchmarks** (mitata)`);
  out.push(table(["operation", "avg ns", "p50 ns", "p99 ns", "ops/s"], results.micro.map((m) => [m.name, String(m.avg), String(m.p50), String(m.p99), rate(m.opsPerSecond)])));
  out.push(`\n**Goals**`);
  out.push(table(["goal", "measured", "met"], results.goals.map((goal) => [goal.goal, goal.measured, goal.met ? "met" : "not met"])));
  return out.join("\n") + "\n";
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Horizontal bars on a log scale, one panel per metric. */
export function chart(results: BenchResults): string {
  const workload = results.modes[0].workload;
  const modes = results.modes.filter((mode) => mode.workload === workload);
  const peer = results.peers.find((p) => p.workload === workload && p.criticalPath);
  const throughput = [
    ...modes.map((mode) => ({ label: `eventfold ${mode.mode}`, value: mode.ordersPerSecond, ours: true })),
    ...results.peers.filter((p) => p.workload === workload || p.system.startsWith("SQLite")).map((p) => ({ label: p.system, value: p.ordersPerSecond, ours: false })),
  ];
  const latencies = [...modes.map((mode) => ({ label: `eventfold ${mode.mode}`, p: mode.criticalPath, ours: true }))];
  if (peer?.criticalPath) latencies.push({ label: peer.system, p: peer.criticalPath, ours: false });
  const width = 1000;
  const left = 420;
  const barHeight = 18;
  const rows: string[] = [];
  let y = 30;
  const title = (text: string) => {
    rows.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">${escape(text)}</text>`);
    y += 14;
  };
  const logX = (value: number, min: number, max: number) => left + ((Math.log10(value) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * (width - left - 90);
  title(`${results.runtime} ${results.version}: orders/s, ${workload} (log scale)`);
  const maxRate = Math.max(...throughput.map((row) => row.value)) * 1.2;
  for (const row of throughput) {
    const x = logX(Math.max(row.value, 10), 100, maxRate);
    rows.push(`<text x="${left - 6}" y="${y + 13}" font-size="12" text-anchor="end">${escape(row.label)}</text>`);
    rows.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x - left)}" height="${barHeight - 4}" fill="${row.ours ? "#2b6cb0" : "#a0aec0"}"/>`);
    rows.push(`<text x="${x + 4}" y="${y + 13}" font-size="12">${escape(rate(row.value))}</text>`);
    y += barHeight;
  }
  y += 24;
  title(`critical-path latency, µs (log scale): p50, p99, p99.9, p99.99`);
  const shades = ["#2b6cb0", "#4a90d9", "#7fb3e8", "#b8d6f5"];
  const maxLatency = Math.max(...latencies.map((row) => row.p.p9999)) * 1.5;
  for (const row of latencies) {
    rows.push(`<text x="${left - 6}" y="${y + 13}" font-size="12" text-anchor="end">${escape(row.label)}</text>`);
    [row.p.p50, row.p.p99, row.p.p999, row.p.p9999].forEach((value, i) => {
      const x = logX(Math.max(value, 0.01), 0.01, maxLatency);
      rows.push(`<rect x="${left}" y="${y + i * 5}" width="${Math.max(1, x - left)}" height="4" fill="${row.ours ? shades[i] : "#a0aec0"}"/>`);
    });
    rows.push(`<text x="${left + 4 + (width - left - 90)}" y="${y + 13}" font-size="11">${row.p.p99} µs p99</text>`);
    y += barHeight + 6;
  }
  const height = y + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${rows.join("\n")}\n</svg>\n`;
}

export const README_START = "<!-- bench:start -->";
export const README_END = "<!-- bench:end -->";

/** README's benchmark section with the given per-runtime reports; unchanged if the markers are missing. */
export function withBenchSection(readme: string, reports: { runtime: string; markdown: string }[]): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) return readme;
  const body = reports.map((report) =>
    `${report.markdown}\n![${report.runtime} benchmark chart](bench/results/${report.runtime}.svg)\n`
  ).join("\n");
  return `${readme.slice(0, start + README_START.length)}\n${body}\n${readme.slice(end)}`;
}
