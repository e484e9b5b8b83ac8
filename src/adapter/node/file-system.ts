/**
 * The WAL's file operations on `node:fs` (Node and Bun; Deno runs it too).
 * `fdatasyncSync` uses F_FULLFSYNC on macOS in Node; Bun's behaviour there is unverified.
 */
import * as fs from "node:fs";
import process from "node:process";
import type { FileHandle, FileSystem } from "../../wal/file-system.ts";
import { flockHelper } from "./lock.ts";

class NodeFileHandle implements FileHandle {
  constructor(private readonly fd: number) {}

  writeAt(bytes: Uint8Array, offset: number, length: number, position: number): void {
    let written = 0;
    while (written < length) {
      const n = fs.writeSync(this.fd, bytes, offset + written, length - written, position + written);
      if (n <= 0) throw new Error(`write made no progress (${written} of ${length} bytes written)`);
      written += n;
    }
  }

  resize(length: number): void {
    fs.ftruncateSync(this.fd, length);
  }

  syncData(): void {
    fs.fdatasyncSync(this.fd);
  }

  readAt(buffer: Uint8Array, position: number): number {
    let read = 0;
    while (read < buffer.length) {
      const n = fs.readSync(this.fd, buffer, read, buffer.length - read, position + read);
      if (n === 0) break;
      read += n;
    }
    return read;
  }

  size(): number {
    return fs.fstatSync(this.fd).size;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export const nodeFileSystem: FileSystem = {
  openWrite: (path) => new NodeFileHandle(fs.openSync(path, "r+")),
  openRead: (path) => new NodeFileHandle(fs.openSync(path, "r")),
  createExclusive: (path) => new NodeFileHandle(fs.openSync(path, "wx")),
  readFile: (path) => new Uint8Array(fs.readFileSync(path)),
  rename: (from, to) => fs.renameSync(from, to),
  remove: (path) => fs.rmSync(path, { force: true }),
  truncate: (path, length) => fs.truncateSync(path, length),
  syncDirectory(path) {
    const fd = fs.openSync(path, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  list: (path) => fs.readdirSync(path),
  exists: (path) => fs.existsSync(path),
  makeDirectory: (path) => void fs.mkdirSync(path, { recursive: true }),
  pid: process.pid,
  tryLock: flockHelper,
};

export default nodeFileSystem;
