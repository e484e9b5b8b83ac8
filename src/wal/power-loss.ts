/**
 * Simulated power loss for crash tests, in the spirit of SQLite's crash VFS and LevelDB's
 * fault-injection Env: the file layer remembers what was synced, and at a chosen sync
 * point — instead of performing that sync — it puts the directory in a state a power cut
 * could leave, then kills the writer:
 *
 * - every file keeps only the bytes its last fdatasync covered, plus, by `tail`: nothing
 *   (`drop`), a prefix of the unsynced bytes cut at a 512-byte sector boundary (`torn`),
 *   or that many bytes of garbage instead (`garbage`); the unsynced bytes lost read as
 *   zeros where the file's synced size covers them (the WAL writes only into new space:
 *   past a file's end, or into the zeros a segment was sized to), and the file has the
 *   size its last fdatasync saw, or as far as the torn or garbage bytes reach;
 * - names created or renamed since their directory's last fsync are forgotten: renames
 *   are undone (a file a rename replaced comes back), new files removed.
 *
 * Plain data (a plan) so it can be handed to the writer Worker like `faults`.
 */
import { InjectedFault } from "./faults.ts";
import { type FileHandle, type FileSystem, forwardingFileSystem, forwardingHandle } from "./file-system.ts";

/** Where and how a simulated power cut happens. */
export interface PowerLoss {
  /** 1-based count of sync calls (fdatasync or directory fsync) at which power is lost. */
  atSync: number;
  /** What becomes of the bytes written but not synced. */
  tail: "drop" | "torn" | "garbage";
  /** Seeds the tear point and the garbage. */
  seed: number;
}

const SECTOR = 512;

interface Tracked {
  path: string;
  /** The file's size now. */
  size: number;
  /** Its size when opened, or at its last sync: what a power cut leaves. */
  syncedSize: number;
  /** The bytes written since then, [from, to), if any. */
  dirty?: { from: number; to: number };
}

export function withPowerLoss(fs: FileSystem, plan: PowerLoss): FileSystem {
  let syncs = 0;
  let random = plan.seed >>> 0 || 1;
  const next = () => {
    // xorshift32: enough to pick tear points and garbage.
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    return (random >>> 0) / 0x1_0000_0000;
  };
  const files = new Map<string, Tracked>();
  /** Names made since their directory was last synced, oldest first. */
  let unsyncedNames: ({ created: string } | { from: string; to: string; replaced?: Uint8Array })[] = [];

  const powerCut = (): never => {
    for (const file of files.values()) {
      const { from, to } = file.dirty ?? { from: file.syncedSize, to: file.syncedSize };
      // The unsynced bytes that survive (as written, or as garbage) end at a sector boundary.
      let end = from;
      if (to > from && plan.tail !== "drop") end = Math.max(from, Math.floor((from + next() * (to - from)) / SECTOR) * SECTOR);
      if (!fs.exists(file.path)) continue;
      fs.truncate(file.path, Math.max(file.syncedSize, end));
      const lostFrom = plan.tail === "torn" ? end : from;
      const zeros = Math.min(to, file.syncedSize) - lostFrom;
      const garbage = plan.tail === "garbage" && end > from
        ? Uint8Array.from({ length: end - from }, () => Math.floor(next() * 256))
        : undefined;
      if (zeros <= 0 && garbage === undefined) continue;
      const handle = fs.openWrite(file.path);
      try {
        if (zeros > 0) handle.writeAt(new Uint8Array(zeros), 0, zeros, lostFrom);
        if (garbage !== undefined) handle.writeAt(garbage, 0, garbage.length, from);
      } finally {
        handle.close();
      }
    }
    for (const name of unsyncedNames.reverse()) {
      if ("created" in name) {
        if (fs.exists(name.created)) fs.remove(name.created);
      } else if (fs.exists(name.to)) {
        fs.rename(name.to, name.from);
        if (name.replaced) restore(name.to, name.replaced);
      }
    }
    // Reported like any I/O failure (fail-stop): nothing after this point is acknowledged.
    throw new InjectedFault("syncData", "EPOWER", syncs);
  };
  const restore = (path: string, bytes: Uint8Array) => {
    const handle = fs.createExclusive(path);
    handle.writeAt(bytes, 0, bytes.length, 0);
    handle.close();
  };
  const sync = () => {
    if (++syncs === plan.atSync) powerCut();
  };

  /** A size change (ftruncate) the file saw: it loses any unsynced bytes past its new end. */
  const resized = (file: Tracked, length: number) => {
    file.size = length;
    if (file.dirty !== undefined && (file.dirty.to = Math.min(file.dirty.to, length)) <= file.dirty.from) file.dirty = undefined;
  };

  const track = (path: string, handle: FileHandle, created: boolean): FileHandle => {
    const size = handle.size();
    const file: Tracked = { path, size, syncedSize: size };
    files.set(path, file);
    if (created) unsyncedNames.push({ created: path });
    return forwardingHandle(handle, {
      writeAt(bytes, offset, length, position) {
        handle.writeAt(bytes, offset, length, position);
        const { from, to } = file.dirty ?? { from: position, to: position };
        file.dirty = { from: Math.min(from, position), to: Math.max(to, position + length) };
        file.size = Math.max(file.size, position + length);
      },
      resize(length) {
        handle.resize(length);
        resized(file, length);
      },
      syncData() {
        // No real fdatasync: durability is what this layer simulates (the page cache
        // stands in for the disk), and crash tests then run thousands of points quickly.
        sync();
        file.syncedSize = file.size;
        file.dirty = undefined;
      },
    });
  };

  return forwardingFileSystem(fs, {
    openWrite: (path) => track(path, fs.openWrite(path), false),
    createExclusive: (path) => track(path, fs.createExclusive(path), true),
    rename(from, to) {
      // A rename over an existing file is undone by bringing that file back, as it was.
      const replaced = fs.exists(to) ? fs.readFile(to) : undefined;
      fs.rename(from, to);
      const file = files.get(from);
      if (file) {
        files.delete(from);
        file.path = to;
        files.set(to, file);
      }
      unsyncedNames.push({ from, to, replaced });
    },
    truncate(path, length) {
      fs.truncate(path, length);
      const file = files.get(path);
      if (file) resized(file, length);
    },
    syncDirectory(path) {
      sync();
      const prefix = path.endsWith("/") ? path : `${path}/`;
      const inDirectory = (name: string) => name.startsWith(prefix) && !name.slice(prefix.length).includes("/");
      unsyncedNames = unsyncedNames.filter((name) => !inDirectory("created" in name ? name.created : name.to));
    },
  });
}
