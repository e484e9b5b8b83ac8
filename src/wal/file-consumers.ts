/**
 * Consumers of a file WAL: `consumers/<hex of the name>.consumer` holds a consumer's
 * checkpoint and parked events as JSON behind a CRC32C, written atomically (temp, fsync,
 * rename, directory fsync) at each save. A file log has one writing process (its lock), so
 * its consumers' group lease lives in that process. A file that fails its checksum is an
 * error, not a fresh start: a consumer must not run its events again from position 1.
 */
import { StorageError } from "../core/errors.ts";
import { type ConsumerStore, type ParkedEvent, ProcessLeases } from "../core/consumer-store.ts";
import { crc32c } from "./crc32c.ts";
import { type FileSystem, joinPath, makeDirectoryDurably, writeFileAtomically } from "./file-system.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const fileName = (name: string): string => `${[...encoder.encode(name)].map((b) => b.toString(16).padStart(2, "0")).join("")}.consumer`;

interface ConsumerFile {
  name: string;
  position: number;
  parked: ParkedEvent[];
}

export class FileConsumerStore implements ConsumerStore {
  readonly #leases = new ProcessLeases();

  constructor(private readonly fs: FileSystem, private readonly directory: string) {}

  #read(name: string): ConsumerFile {
    const path = joinPath(this.directory, fileName(name));
    if (!this.fs.exists(path)) return { name, position: 0, parked: [] };
    const bytes = this.fs.readFile(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4 || view.getUint32(0, true) !== crc32c(bytes, 4)) {
      throw new StorageError(`consumer "${name}": its checkpoint file fails its checksum`, { file: path });
    }
    return JSON.parse(decoder.decode(bytes.subarray(4))) as ConsumerFile;
  }

  #write(file: ConsumerFile): void {
    try {
      makeDirectoryDurably(this.fs, this.directory);
      const body = encoder.encode(JSON.stringify(file));
      const bytes = new Uint8Array(body.length + 4);
      bytes.set(body, 4);
      new DataView(bytes.buffer).setUint32(0, crc32c(bytes, 4), true);
      writeFileAtomically(this.fs, this.directory, fileName(file.name), bytes);
    } catch (error) {
      throw new StorageError(`cannot save consumer "${file.name}": ${(error as Error).message}`, { cause: error });
    }
  }

  load(name: string): Promise<number> {
    try {
      return Promise.resolve(this.#read(name).position);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  save(name: string, member: string, position: number): Promise<boolean> {
    if (!this.#leases.holds(name, member)) return Promise.resolve(false);
    try {
      this.#write({ ...this.#read(name), position });
      return Promise.resolve(true);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  acquire(name: string, member: string, ttlMs: number): Promise<boolean> {
    return this.#leases.acquire(name, member, ttlMs);
  }

  release(name: string, member: string): Promise<void> {
    return this.#leases.release(name, member);
  }

  park(name: string, event: ParkedEvent): Promise<void> {
    try {
      const file = this.#read(name);
      file.parked.push(event);
      this.#write(file);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  parked(name: string): Promise<ParkedEvent[]> {
    try {
      return Promise.resolve(this.#read(name).parked);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
