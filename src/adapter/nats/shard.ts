/**
 * Symbols sharded over exchange processes, on NATS: each shard serves its symbols'
 * command subjects, `eventfold.<exchange>.commands.<symbol>` (request/reply: a JSON array
 * of order commands in, their outcomes out, answered once durable — replicated, with
 * replicatedStorage), and fans market data out on `eventfold.<exchange>.market.<symbol>`
 * (each request's events, published once durable). The router sends each symbol's
 * commands to its subject; NATS delivers them to whichever shard serves it, so the router
 * needs no map of shards, and a shard moves by serving its subjects elsewhere.
 */
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { checkInteger, checkKeys, invalid } from "../../core/check.ts";
import { EventfoldError, StorageError } from "../../core/errors.ts";
import type { OrderBookEngine } from "../../orderbook/engine.ts";
import type { OrderCommandInput } from "../../orderbook/commands.ts";

/** What became of one command. */
export type CommandOutcome =
  | { ok: true; position: number; events: { type: string; data: unknown; position: number }[] }
  | { ok: false; error: string; code?: string };

/** A market-data message: the events one request's commands caused on a symbol, durable. */
export interface MarketData {
  /** The symbol. */
  symbol: string;
  /** The events, in log order. */
  events: { type: string; data: unknown; position: number }[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const commandSubject = (exchange: string, symbol: string) => `eventfold.${exchange}.commands.${symbol}`;
const marketSubject = (exchange: string, symbol: string) => `eventfold.${exchange}.market.${symbol}`;

function checkName(what: string, name: string, value: unknown): void {
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    invalid(what, name, `must be 1-64 letters, digits, "-" or "_", got ${JSON.stringify(value)}`);
  }
}

/** Options of `serveShard`. */
export interface ShardOptions {
  /** NATS server URL(s) (default nats://127.0.0.1:4222). */
  servers?: string | string[];
  /** The exchange's name (subjects `eventfold.<exchange>.…`). */
  exchange: string;
  /** The engine whose instruments this shard serves. */
  engine: OrderBookEngine;
}

/** A shard serving its engine's symbols; `close` stops serving (the engine stays open). */
export interface Shard {
  /** The symbols it serves. */
  readonly symbols: readonly string[];
  /** Stops serving, once the requests under way are answered. */
  close(): Promise<void>;
}

/** Serves `options.engine`'s symbols on NATS (see the module comment). */
export async function serveShard(options: ShardOptions): Promise<Shard> {
  const what = "shard options";
  checkKeys(what, options, ["servers", "exchange", "engine"]);
  checkName(what, "exchange", options.exchange);
  const engine = options.engine;
  const symbols = [...engine.instruments.keys()];
  for (const symbol of symbols) checkName(what, `symbol ${symbol}`, symbol);
  const connection = await connectTo(options.servers);
  const subscriptions: Subscription[] = [];
  const handling = new Set<Promise<void>>();
  for (const symbol of symbols) {
    // One queue group: were the shard started twice, each request is still served once.
    const subscription = connection.subscribe(commandSubject(options.exchange, symbol), {
      queue: "eventfold-shard",
      callback: (error, message) => {
        if (error) return;
        const handled: Promise<void> = handle(message.data).then(
          ({ reply, events }) => {
            message.respond(encoder.encode(JSON.stringify(reply)));
            if (events.length > 0) {
              const data: MarketData = { symbol, events };
              connection.publish(marketSubject(options.exchange, symbol), encoder.encode(JSON.stringify(data)));
            }
          },
          (failure) => void message.respond(encoder.encode(JSON.stringify({ failed: (failure as Error).message }))),
        ).finally(() => handling.delete(handled));
        handling.add(handled);
      },
    });
    subscriptions.push(subscription);
  }

  /** Executes a request's commands in order, then waits once for all of them to be durable. */
  async function handle(data: Uint8Array): Promise<{ reply: CommandOutcome[]; events: MarketData["events"] }> {
    const commands = JSON.parse(decoder.decode(data)) as OrderCommandInput[];
    if (!Array.isArray(commands)) throw new Error("a request is a JSON array of order commands");
    const reply: CommandOutcome[] = [];
    const events: MarketData["events"] = [];
    for (const command of commands) {
      try {
        const result = engine.submit(command);
        const caused = result.events.map((event) => ({ type: event.type, data: event.data, position: event.position }));
        reply.push({ ok: true, position: result.position, events: caused });
        events.push(...caused);
      } catch (error) {
        if (!(error instanceof EventfoldError) || error instanceof StorageError) throw error;
        reply.push({ ok: false, error: error.message, code: error.code });
      }
    }
    await engine.durable();
    return { reply, events };
  }

  return {
    symbols,
    async close() {
      for (const subscription of subscriptions) subscription.unsubscribe();
      await Promise.allSettled(handling);
      await connection.drain();
    },
  };
}

/** Options of `connectRouter`. */
export interface RouterOptions {
  /** NATS server URL(s) (default nats://127.0.0.1:4222). */
  servers?: string | string[];
  /** The exchange's name. */
  exchange: string;
  /** How long a request waits for its shard (default 10,000 ms). */
  timeoutMs?: number;
}

/** Sends commands to the shards serving their symbols, and follows market data. */
export class Router {
  readonly #connection: NatsConnection;
  readonly #exchange: string;
  readonly #timeoutMs: number;

  private constructor(connection: NatsConnection, exchange: string, timeoutMs: number) {
    this.#connection = connection;
    this.#exchange = exchange;
    this.#timeoutMs = timeoutMs;
  }

  /** Connects a router (see RouterOptions). Throws ValidationError on bad options. */
  static async connect(options: RouterOptions): Promise<Router> {
    const what = "router options";
    checkKeys(what, options, ["servers", "exchange", "timeoutMs"]);
    checkName(what, "exchange", options.exchange);
    checkInteger(what, "timeoutMs", options.timeoutMs, 1);
    return new Router(await connectTo(options.servers), options.exchange, options.timeoutMs ?? 10_000);
  }

  /**
   * Sends `commands` (each naming its symbol) to their shards, one request per symbol, and
   * resolves with their outcomes in the order given, each answered once durable.
   */
  async submit(commands: readonly OrderCommandInput[]): Promise<CommandOutcome[]> {
    const bySymbol = new Map<string, number[]>();
    commands.forEach((command, i) => {
      const symbol = (command as { symbol?: unknown })?.symbol;
      if (typeof symbol !== "string") invalid("order command", `${i}.symbol`, "must be a string");
      let indexes = bySymbol.get(symbol);
      if (indexes === undefined) bySymbol.set(symbol, indexes = []);
      indexes.push(i);
    });
    const outcomes = new Array<CommandOutcome>(commands.length);
    await Promise.all([...bySymbol].map(async ([symbol, indexes]) => {
      const subject = commandSubject(this.#exchange, symbol);
      let reply;
      try {
        reply = await this.#connection.request(subject, encoder.encode(JSON.stringify(indexes.map((i) => commands[i]))), { timeout: this.#timeoutMs });
      } catch (error) {
        throw new StorageError(`no shard answered for ${symbol} (${subject}): ${(error as Error).message}`, { cause: error });
      }
      const answer = JSON.parse(decoder.decode(reply.data)) as CommandOutcome[] | { failed: string };
      if (!Array.isArray(answer)) throw new StorageError(`the shard serving ${symbol} failed: ${answer.failed}`);
      indexes.forEach((index, k) => (outcomes[index] = answer[k]!));
    }));
    return outcomes;
  }

  /** Calls `onData` with the market data of `symbol` as its shard publishes it; returns what stops it. */
  marketData(symbol: string, onData: (data: MarketData) => void): () => void {
    const subscription = this.#connection.subscribe(marketSubject(this.#exchange, symbol), {
      callback: (error, message) => {
        if (!error) onData(JSON.parse(decoder.decode(message.data)) as MarketData);
      },
    });
    return () => subscription.unsubscribe();
  }

  /** Disconnects. */
  async close(): Promise<void> {
    await this.#connection.drain();
  }
}

async function connectTo(servers: string | string[] | undefined): Promise<NatsConnection> {
  const list = servers === undefined ? ["nats://127.0.0.1:4222"] : typeof servers === "string" ? [servers] : servers;
  try {
    return await connect({ servers: list, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  } catch (error) {
    throw new StorageError(`cannot connect to NATS at ${list.join(", ")}: ${(error as Error).message}`, { cause: error });
  }
}
