/** Helpers for WAL tests: open a store on a directory, list and damage segment files. */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventStore } from "../../mod.ts";
import { fileStorage, type WalOptions, type WalStorage } from "../../src/adapter/file/index.ts";
import { noted, type TestEvent, testEvents } from "./fixtures.ts";

export async function openWal(directory: string, options: WalOptions = {}, bufferSize?: number) {
  const storage = fileStorage(directory, options);
  const store = new EventStore<TestEvent>({ events: testEvents(), storage, bufferSize });
  await store.open();
  return { store, storage: storage as WalStorage };
}

/** Appends `count` single-event commands n = from..from+count-1 and waits until durable. */
export async function fill(store: EventStore<TestEvent>, count: number, from = 1, streamId = "s"): Promise<void> {
  let position = 0;
  for (let n = from; n < from + count; n++) position = store.enqueue(streamId, [noted(n)]).position;
  await store.durable(position);
}

export const segments = (directory: string): string[] =>
  readdirSync(directory).filter((name) => name.startsWith("segment-") && name.endsWith(".wal")).sort();

export const lastSegment = (directory: string): string => join(directory, segments(directory).at(-1)!);

export function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] ^= 0x40;
  writeFileSync(path, bytes);
}

export const appendBytes = (path: string, bytes: Uint8Array): void => appendFileSync(path, bytes);

export async function ns(store: EventStore<TestEvent>): Promise<number[]> {
  return (await store.readAll()).map((event) => (event.data as { n: number }).n);
}
