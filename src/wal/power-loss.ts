/**
 * Simulated power loss for crash tests, in the spirit of SQLite's crash VFS and LevelDB's
 * fault-injection Env: the file layer remembers what was synced, and at a chosen sync
 * point — instead of performing that sync — it puts the directory in a state a power cut
 * could leave, then kills the writer:
 *
 * - every file keeps only the bytes its last fdatasync covered, plus, by `tail`: nothing
 *   (`drop`), a prefix of the unsynced bytes cut at a 512-byte sector boundary (`torn`),
 *   or that many bytes of garbage instead (`garbage`);
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
  /** Bytes the file held when opened, or at its last sync: what survives for sure. */
  synced: number;
  written: number;
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
      const unsynced = file.written - file.synced;
      let keep = file.synced;
      if (unsynced > 0 && plan.tail !== "drop") {
        const end = Math.floor((file.synced + next() * unsynced) / SECTOR) * SECTOR;
        keep = Math.max(file.synced, end);
      }
      if (!fs.exists(file.path)) continue;
      if (plan.tail === "torn") {
        fs.truncate(file.path, keep);
        continue;
      }
      fs.truncate(file.path, file.synced);
      if (plan.tail === "garbage" && keep > file.synced) {
        const garbage = Uint8Array.from({ length: keep - file.synced }, () => Math.floor(next() * 256));
        const handle = fs.openAppend(file.path);
        handle.append(garbage, 0, garbage.length);
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
    handle.append(bytes, 0, bytes.length);
    handle.close();
  };
  const sync = () => {
    if (++syncs === plan.atSync) powerCut();
  };

  const track = (path: string, handle: FileHandle, created: boolean): FileHandle => {
    const size = handle.size();
    const file: Tracked = { path, synced: size, written: size };
    files.set(path, file);
    if (created) unsyncedNames.push({ created: path });
    return forwardingHandle(handle, {
      append(bytes, offset, length) {
        handle.append(bytes, offset, length);
        file.written += length;
      },
      syncData() {
        // No real fdatasync: durability is what this layer simulates (the page cache
        // stands in for the disk), and crash tests then run thousands of points quickly.
        sync();
        file.synced = file.written;
      },
    });
  };

  return forwardingFileSystem(fs, {
    openAppend(path) {
      const created = !fs.exists(path);
      return track(path, fs.openAppend(path), created);
    },
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
      if (file) file.written = Math.min(file.written, length);
    },
    syncDirectory(path) {
      sync();
      const prefix = path.endsWith("/") ? path : `${path}/`;
      const inDirectory = (name: string) => name.startsWith(prefix) && !name.slice(prefix.length).includes("/");
      unsyncedNames = unsyncedNames.filter((name) => !inDirectory("created" in name ? name.created : name.to));
    },
  });
}
