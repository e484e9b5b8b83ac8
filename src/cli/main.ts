/**
 * The `eventfold` command line:
 *
 *   eventfold <command> [options]     (deno task cli …, bun run cli …, or the package bin)
 *
 * Errors print one line and exit non-zero; `--verbose` adds the stack trace.
 */
import process from "node:process";
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { dump, inspect, replay, repair, scavengeCommand, verify } from "./log-commands.ts";
import { loadApp } from "./app-module.ts";
import { CliError, consoleOutput } from "./output.ts";
// The encodings only (node:zlib): the NATS client, an optional peer, loads with the replication commands.
import { type BatchEncoding, isBatchEncoding } from "../adapter/nats/compression.ts";

/** The options a command takes, as `node:util` parseArgs describes them. */
type Options = Record<string, { type: "string" | "boolean" }>;

interface Command {
  usage: string;
  summary: string;
  details: string;
  /** Its options (parsed strictly: an unknown one is an error); absent: arguments passed on as given. */
  options?: Options;
  run(args: Arguments): Promise<number> | number;
}

/** A command's parsed arguments. */
class Arguments {
  constructor(
    readonly positionals: string[],
    readonly values: Record<string, string | boolean | undefined>,
    /** The arguments as given (passed on as they are to the scripts bench, demo and crash run). */
    readonly raw: string[],
  ) {}
  directory(): string {
    const directory = this.positionals[0];
    if (directory === undefined) throw new CliError("missing <dir>: the WAL directory");
    if (this.positionals.length > 1) throw new CliError(`unexpected argument "${this.positionals[1]}"`);
    return directory;
  }
  number(name: string, fallback: number): number {
    const value = this.values[name];
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number < 1) throw new CliError(`--${name} must be an integer >= 1, got ${String(value)}`);
    return number;
  }
  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === "string" ? value : undefined;
  }
  flag(name: string): boolean {
    return this.values[name] === true;
  }
}

/** Parses `args` for `command` with node:util parseArgs; its errors are usage errors. */
function parse(command: Command, args: string[]): Arguments {
  if (command.options === undefined) return new Arguments([], {}, args);
  try {
    const { values, positionals } = parseArgs({ args, options: command.options, allowPositionals: true, strict: true });
    return new Arguments(positionals, values, args);
  } catch (error) {
    throw new CliError(`${(error as Error).message.split("\n")[0]} (eventfold ${command.usage})`);
  }
}

const string = { type: "string" } as const;
const boolean = { type: "boolean" } as const;
/** --events: the app module whose log it is (see app-module.ts). */
const appOption = { events: string };
/** --stream, --servers and --replicas of the replication commands. */
const replicaFlags: Options = { stream: string, servers: string, replicas: string };

/** The tree this file is in: the repository (sources), or dist/ or build/node/ (compiled). */
const root = fileURLToPath(new URL("../../", import.meta.url));
const compiled = import.meta.url.endsWith(".js");

/** Runs one of the project's scripts (given by its source path) on this same runtime. */
function script(path: string, args: string[]): number {
  const file = `${root}${compiled ? path.replace(/\.ts$/, ".js") : path}`;
  if (!existsSync(file)) throw new CliError(`${path} is not here: this command runs from a clone of the eventfold repository`);
  // The benchmarks force collections: Deno and Node need V8's gc exposed (Bun has Bun.gc).
  const command = "Deno" in globalThis
    ? ["run", "-A", "--v8-flags=--expose-gc", file, ...args]
    : "Bun" in globalThis ? [file, ...args] : ["--expose-gc", file, ...args];
  const { status, error } = spawnSync(process.execPath, command, { stdio: "inherit" });
  if (error) throw error;
  return status ?? 1;
}

const COMMANDS: Record<string, Command> = {
  inspect: {
    usage: "inspect <dir> [--events MODULE] [--json]",
    summary: "segments, records, positions, sizes, streams, event types, snapshots",
    details: "Reads the log without opening it for writing (no lock, nothing changed).",
    options: { ...appOption, json: boolean },
    run: async (a) => inspect(a.directory(), await loadApp(a.string("events")), consoleOutput(a.flag("json"))),
  },
  verify: {
    usage: "verify <dir> [--events MODULE]",
    summary: "check every record; exit 0 if all are valid, 1 naming file and offset if not",
    details: "Checks each record's CRC32C and frame and decodes it. Read-only.",
    options: appOption,
    run: async (a) => verify(a.directory(), await loadApp(a.string("events")), consoleOutput(false)),
  },
  repair: {
    usage: "repair <dir> [--events MODULE] [--yes]",
    summary: "keep the valid prefix, move the rest aside (never deleted)",
    details: "Asks first on a terminal; elsewhere only says what it would do unless --yes is given. Needs the directory's lock (no writer running).",
    options: { ...appOption, yes: boolean },
    run: async (a) => repair(a.directory(), await loadApp(a.string("events")), a.flag("yes"), consoleOutput(false)),
  },
  scavenge: {
    usage: "scavenge <dir> [--yes]",
    summary: "erase from the segment files the events deleted and truncated streams removed",
    details: "Each removed event becomes a $redacted record at its position (no gap). Asks first on a terminal; " +
      "elsewhere only with --yes. Needs the directory's lock (no writer running) and a log with no problem.",
    options: { yes: boolean },
    run: (a) => scavengeCommand(a.directory(), a.flag("yes"), consoleOutput(false)),
  },
  dump: {
    usage: "dump <dir> [--events MODULE] [--stream S] [--from P] [--json]",
    summary: "print events, decoded (and upcast where the type is known)",
    details: "--stream keeps one stream; --from starts at global position P; --json prints one JSON object per line. " +
      "--events MODULE: the app's event registry and codecs (default: the order book's; see docs).",
    options: { ...appOption, stream: string, from: string, json: boolean },
    run: async (a) =>
      dump(a.directory(), await loadApp(a.string("events")), { stream: a.string("stream"), from: a.number("from", 1) }, consoleOutput(a.flag("json"))),
  },
  replay: {
    usage: "replay <dir> [--events MODULE] [--tick-size N] [--lot-size N]",
    summary: "fold every stream from its events (the order books, or the app's decider); print state hashes and events/s",
    details: "Folds the events alone (no snapshot), so the hash checks the whole log; a log corrupt before its end is refused (exit 1). " +
      "--events MODULE folds with the module's decider; without it, the order books, with instruments of tick 1, lot 1 (the demo's) by default.",
    options: { ...appOption, "tick-size": string, "lot-size": string },
    run: async (a) =>
      replay(a.directory(), await loadApp(a.string("events")), { tickSize: a.number("tick-size", 1), lotSize: a.number("lot-size", 1) }, consoleOutput(false)),
  },
  follow: {
    usage: "follow <dir> --stream S [--servers URL,...] [--replicas N]",
    summary: "keep a standby WAL up to date from a replicated log (NATS JetStream) until stopped",
    details: "Copies each batch the primary replicated (records checked by CRC32C) into <dir>'s WAL; stops on SIGINT/SIGTERM. " +
      "--servers defaults to nats://127.0.0.1:4222. See docs/scale-out.md.",
    options: replicaFlags,
    run: async (a) => (await import("./replica-commands.ts")).follow(a.directory(), replicaOptions(a), consoleOutput(false)),
  },
  promote: {
    usage: "promote <dir> --stream S [--servers URL,...] [--replicas N]",
    summary: "take over as the primary: catch <dir> up with the replicated log and claim the next term",
    details: "The old primary is fenced (its appends are refused); start the application on <dir> with replicatedStorage and it " +
      "resumes this term from the next position. See docs/scale-out.md.",
    options: replicaFlags,
    run: async (a) => (await import("./replica-commands.ts")).promote(a.directory(), replicaOptions(a), consoleOutput(false)),
  },
  shard: {
    usage: "shard <dir> --exchange X --symbols A,B --stream S [--servers URL,...] [--replicas N] [--compression deflate|none] [--tick-size N] [--lot-size N]",
    summary: "run an exchange shard: order books for some symbols on <dir>'s WAL, replicated to S, served on NATS",
    details: "Commands arrive on eventfold.<X>.commands.<symbol> (eventfold submit, or the Router API) and are answered once " +
      "replicated; market data goes out on eventfold.<X>.market.<symbol>. Batches go to S compressed unless --compression none. " +
      "Stops on SIGINT/SIGTERM. See docs/scale-out.md.",
    options: { ...replicaFlags, exchange: string, symbols: string, compression: string, "tick-size": string, "lot-size": string },
    run: async (a) => {
      const symbols = a.string("symbols")?.split(",").filter((s) => s.length > 0);
      if (!symbols?.length) throw new CliError("missing --symbols: the symbols this shard serves");
      return (await import("./replica-commands.ts")).shard(a.directory(), {
        ...replicaOptions(a),
        exchange: exchangeOption(a),
        symbols,
        compression: compressionOption(a),
        tickSize: a.number("tick-size", 1),
        lotSize: a.number("lot-size", 1),
      }, consoleOutput(false));
    },
  },
  submit: {
    usage: "submit --exchange X [--servers URL,...] '<command JSON>'...",
    summary: "send order commands to the shards serving their symbols; print each outcome (exit 1 if one failed)",
    details: "Each command is a JSON object as eventfold/orderbook's OrderCommand, naming its symbol. See docs/scale-out.md.",
    options: { servers: string, exchange: string },
    run: async (a) => {
      if (a.positionals.length === 0) throw new CliError("missing the commands: one JSON object per argument");
      const servers = (a.string("servers") ?? "nats://127.0.0.1:4222").split(",");
      return (await import("./replica-commands.ts")).submit(a.positionals, { servers, exchange: exchangeOption(a) }, consoleOutput(false));
    },
  },
  bench: {
    usage: "bench [--quick] [--out DIR]",
    summary: "the benchmark suite on this runtime (bench/run.ts)",
    details: "See README's Benchmarks section.",
    run: (a) => script("bench/run.ts", a.raw),
  },
  demo: {
    usage: "demo [--commands N] [--seed S] [--dir PATH]",
    summary: "the matching-engine demo on the durable WAL (examples/exchange.ts)",
    details: "Prints throughput, the top of the book, trades, and checks recovery by state hash.",
    run: (a) => script("examples/exchange.ts", a.raw),
  },
  crash: {
    usage: "crash [--iterations N] [--seed S]",
    summary: "the kill -9 crash harness on this runtime (tools/crash)",
    details: "See docs/reliability.md.",
    run: (a) => script("tools/crash/run.ts", a.raw),
  },
};
/** --stream, --servers and --replicas of the replication commands. */
function replicaOptions(a: Arguments): { servers: string[]; stream: string; replicas?: number } {
  const stream = a.string("stream");
  if (stream === undefined) throw new CliError("missing --stream: the JetStream stream holding the replicated log");
  return {
    stream,
    servers: (a.string("servers") ?? "nats://127.0.0.1:4222").split(","),
    replicas: a.values.replicas !== undefined ? a.number("replicas", 1) : undefined,
  };
}

/** --compression of `shard`: how its batches go to the stream. */
function compressionOption(a: Arguments): BatchEncoding | undefined {
  const compression = a.string("compression");
  if (compression === undefined || isBatchEncoding(compression)) return compression;
  throw new CliError(`--compression must be deflate or none, got ${JSON.stringify(compression)}`);
}

/** --exchange of the shard commands. */
function exchangeOption(a: Arguments): string {
  const exchange = a.string("exchange");
  if (exchange === undefined) throw new CliError("missing --exchange: the exchange's name (its NATS subjects)");
  return exchange;
}

function help(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    "eventfold: tools for eventfold write-ahead logs",
    "",
    "usage: eventfold <command> [options]",
    "",
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "eventfold <command> --help for more; --verbose prints stack traces on errors.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes("--verbose");
  try {
    const [name, ...rest] = argv.filter((arg) => arg !== "--verbose");
    if (name === undefined || name === "--help" || name === "help") {
      console.log(help());
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS[name];
    if (command === undefined) throw new CliError(`unknown command "${name}" (eventfold --help lists them)`);
    if (rest.includes("--help")) {
      console.log(`usage: eventfold ${command.usage}\n\n${command.summary}.\n${command.details}`);
      return 0;
    }
    return await command.run(parse(command, rest));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`eventfold: ${message}`);
    if (verbose && error instanceof Error && error.stack) console.error(error.stack);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

/** Run as a program (not imported)? Node before 24 has no import.meta.main: compare paths. */
function isEntryPoint(): boolean {
  const main = (import.meta as { main?: boolean }).main;
  if (main !== undefined) return main;
  const script = process.argv[1];
  return script !== undefined && existsSync(script) && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
