/**
 * What the log commands know about the application whose log they read: its event
 * registry (to decode and upcast), its WAL codecs, and optionally its decider (for
 * `replay`). By default the order book's; `--events <module>` loads an app's own.
 *
 * The module exports (named, or as one default object):
 *   events   an EventRegistry (eventRegistry(...)): required
 *   codecs   the DataCodec[] its file storage was opened with (default none: JSON records)
 *   decider  a Decider: `replay` folds each stream with it
 *   stateHash(state)  a string for a state (default: SHA-256 of its JSON)
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { EventRegistry } from "../core/events.ts";
import type { Decider } from "../core/decider.ts";
import type { DataCodec } from "../wal/codec.ts";
import { orderBookCodecs, orderBookEvents } from "../orderbook/index.ts";
import { CliError } from "./output.ts";

/** An application as the log commands see it. */
export interface App {
  /** Where it came from, for messages. */
  readonly name: string;
  readonly events: EventRegistry;
  readonly codecs: readonly DataCodec[];
  readonly decider?: Decider<unknown, unknown, never>;
  readonly stateHash: (state: unknown) => string | Promise<string>;
}

/** SHA-256 of a state's JSON, hex. */
export async function jsonHash(state: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(state) ?? "undefined");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The order book (the default: what the demo writes). */
export const orderBookApp: App = { name: "the order book", events: orderBookEvents(), codecs: orderBookCodecs, stateHash: jsonHash };

/** Loads `--events <module>` (a path, resolved from the working directory), or the order book's when none. */
export async function loadApp(path: string | undefined): Promise<App> {
  if (path === undefined) return orderBookApp;
  let loaded: Record<string, unknown>;
  try {
    loaded = await import(pathToFileURL(resolve(path)).href);
  } catch (error) {
    throw new CliError(`--events ${path}: cannot load the module: ${(error as Error).message}`);
  }
  const app = (loaded.events === undefined && typeof loaded.default === "object" ? loaded.default : loaded) as Record<string, unknown>;
  const wrong = (what: string) => new CliError(`--events ${path}: ${what}`);
  if (!(app.events instanceof EventRegistry) && typeof (app.events as EventRegistry | undefined)?.decode !== "function") {
    throw wrong("exports no `events` registry (export const events = eventRegistry(...))");
  }
  if (app.codecs !== undefined && !Array.isArray(app.codecs)) throw wrong("`codecs` must be an array of data codecs");
  const decider = app.decider as Partial<Decider<unknown, unknown, never>> | undefined;
  if (decider !== undefined && (["initialState", "decide", "evolve"] as const).some((key) => typeof decider[key] !== "function")) {
    throw wrong("`decider` must have initialState, decide and evolve");
  }
  if (app.stateHash !== undefined && typeof app.stateHash !== "function") throw wrong("`stateHash` must be a function");
  return {
    name: path,
    events: app.events as EventRegistry,
    codecs: (app.codecs as DataCodec[] | undefined) ?? [],
    decider: decider as Decider<unknown, unknown, never> | undefined,
    stateHash: (app.stateHash as App["stateHash"] | undefined) ?? jsonHash,
  };
}
