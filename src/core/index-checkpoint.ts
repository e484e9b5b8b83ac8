/**
 * The store's index as bytes, for a fast open. A storage that keeps a checkpoint (the file
 * WAL: at close and at `EventStore.checkpoint()`) hands it back at the next open, and the
 * store takes its streams, versions and markers from it instead of being told every
 * record again; inline projections that can restore their state start from it too.
 *
 * Layout, little-endian (the storage checksums the whole):
 *
 *   u32 magic "EFIX"   u32 format 1   f64 position
 *   u32 n, then n f64: positions of stream-removal markers
 *   u32 length, then that many bytes of JSON: { projection name: state } (0: none)
 *   u32 streams, then per stream:
 *     u32 id length, id (UTF-8), f64 version, u32 runs, runs f64 first positions, runs f64 first versions
 */
import type { StreamIndex } from "./stream-index.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";

const MAGIC = 0x58494645; // "EFIX"
const FORMAT = 1;

/** What a checkpoint holds, decoded. */
export interface IndexState {
  position: number;
  markers: number[];
  projections: Record<string, unknown> | undefined;
  /** Per stream: its id, version, and `runs` runs as pairs (first position, first version). */
  streams: [streamId: string, version: number, pairs: Float64Array, runs: number][];
}

/** Encodes the index as of `position` (the store's head). */
export function encodeIndex(position: number, index: StreamIndex, markers: readonly number[], projections?: Record<string, unknown>): Uint8Array {
  const json = projections === undefined ? "" : JSON.stringify(projections);
  let size = 4 + 4 + 8 + 4 + 8 * markers.length + 4 + utf8Length(json) + 4;
  for (const [streamId, , runs] of index.entries()) size += 4 + utf8Length(streamId) + 8 + 4 + 16 * runs.count;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const u32 = (value: number) => void (view.setUint32(at, value, true), at += 4);
  const f64 = (value: number) => void (view.setFloat64(at, value, true), at += 8);
  const text = (value: string) => {
    const length = utf8Length(value);
    u32(length);
    writeUtf8(value, bytes, at, length);
    at += length;
  };
  u32(MAGIC);
  u32(FORMAT);
  f64(position);
  u32(markers.length);
  for (const marker of markers) f64(marker);
  text(json);
  let count = 0;
  const countAt = at;
  u32(0);
  for (const [streamId, version, runs] of index.entries()) {
    text(streamId);
    f64(version);
    u32(runs.count);
    for (let i = 0; i < runs.count; i++) f64(runs.start(i));
    for (let i = 0; i < runs.count; i++) f64(runs.firstVersion(i));
    count++;
  }
  view.setUint32(countAt, count, true);
  return bytes;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes a checkpoint; throws RangeError on bytes that are not one (the store then reads the log instead). */
export function decodeIndex(bytes: Uint8Array): IndexState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  // DataView throws RangeError past the end: a cut checkpoint is refused, not misread.
  const u32 = () => (at += 4, view.getUint32(at - 4, true));
  const f64 = () => (at += 8, view.getFloat64(at - 8, true));
  const text = () => {
    const length = u32();
    if (at + length > bytes.length) throw new RangeError("index checkpoint is cut short");
    return decoder.decode(bytes.subarray(at, at += length));
  };
  if (u32() !== MAGIC || u32() !== FORMAT) throw new RangeError("not an index checkpoint of format 1");
  const position = f64();
  const markers = Array.from({ length: u32() }, f64);
  const json = text();
  const projections = json.length === 0 ? undefined : JSON.parse(json) as Record<string, unknown>;
  const streams: IndexState["streams"] = [];
  for (let i = u32(); i > 0; i--) {
    const streamId = text();
    const version = f64();
    const runs = u32();
    if (at + 16 * runs > bytes.length) throw new RangeError("index checkpoint is cut short");
    const pairs = new Float64Array(2 * runs);
    for (let run = 0; run < runs; run++) pairs[2 * run] = f64();
    for (let run = 0; run < runs; run++) pairs[2 * run + 1] = f64();
    streams.push([streamId, version, pairs, runs]);
  }
  if (at !== bytes.length) throw new RangeError("index checkpoint has bytes after its end");
  return { position, markers, projections, streams };
}
