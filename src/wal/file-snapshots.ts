/**
 * Snapshots as files: `snapshots/<hex of the stream id>.snapshot`, JSON behind a CRC32C,
 * written atomically (temp, fsync, rename, directory fsync). A snapshot that fails its
 * checksum is treated as absent (the log rebuilds the state), and reported.
 */
import { StorageError } from "../core/errors.ts";
import type { Snapshot, SnapshotStore } from "../core/snapshots.ts";
import { crc32c } from "./crc32c.ts";
import { type FileSystem, joinPath, makeDirectoryDurably, writeFileAtomically } from "./file-system.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const fileName = (streamId: string): string =>
  `${[...encoder.encode(streamId)].map((b) => b.toString(16).padStart(2, "0")).join("")}.snapshot`;

export class FileSnapshotStore implements SnapshotStore {
  constructor(private readonly fs: FileSystem, private readonly directory: string) {}

  load(streamId: string): Promise<Snapshot | undefined> {
    const path = joinPath(this.directory, fileName(streamId));
    if (!this.fs.exists(path)) return Promise.resolve(undefined);
    const bytes = this.fs.readFile(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4 || view.getUint32(0, true) !== crc32c(bytes, 4)) {
      console.error(`eventfold: ignoring snapshot ${path}: checksum mismatch`);
      return Promise.resolve(undefined);
    }
    const snapshot = JSON.parse(decoder.decode(bytes.subarray(4))) as Snapshot;
    return Promise.resolve(snapshot.streamId === streamId ? snapshot : undefined);
  }

  save(snapshot: Snapshot): Promise<void> {
    try {
      makeDirectoryDurably(this.fs, this.directory);
      const body = encoder.encode(JSON.stringify(snapshot));
      const bytes = new Uint8Array(body.length + 4);
      bytes.set(body, 4);
      new DataView(bytes.buffer).setUint32(0, crc32c(bytes, 4), true);
      writeFileAtomically(this.fs, this.directory, fileName(snapshot.streamId), bytes);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(new StorageError(`cannot save the snapshot of "${snapshot.streamId}": ${(error as Error).message}`, { cause: error }));
    }
  }
}
