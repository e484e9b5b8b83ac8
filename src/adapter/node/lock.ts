/**
 * The WAL directory's lock on Node, which has no flock call of its own: a small helper
 * process, util-linux's flock(1), takes the lock and holds it while our end of its stdin
 * pipe is open. However this process ends (close, exit, kill -9), the pipe closes, the
 * helper exits and the kernel releases the lock: the same semantics as Deno's
 * FsFile.tryLock and Bun's flock call, and the same lock (they interoperate).
 */
import { spawn } from "node:child_process";
import type { FileLock } from "../../wal/file-system.ts";

/** flock(1)'s exit code when the lock is held (--conflict-exit-code). */
const HELD = 75;

/** Takes an exclusive flock on `path` through a flock(1) helper; undefined if it is held. */
export function flockHelper(path: string): Promise<FileLock | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "flock",
      ["--exclusive", "--nonblock", "--conflict-exit-code", String(HELD), path, "sh", "-c", "echo locked; exec cat > /dev/null"],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let output = "";
    let errors = "";
    let settled = false;
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (settled || !output.includes("locked")) return;
      settled = true;
      // Held: nothing of the helper may keep this process alive, or hold it back at exit.
      child.stdout.destroy();
      child.stderr.destroy();
      child.stdin.on("error", () => {}); // EPIPE once the helper is gone: nothing to tell
      (child.stdin as unknown as { unref?(): void }).unref?.();
      child.unref();
      resolve({
        release: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.ref(); // wait for the helper: the lock is free only once it is gone
            child.once("exit", () => done());
            child.stdin.end(); // EOF: cat exits, flock exits, the kernel drops the lock
          }),
      });
    });
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      reject(error.code === "ENOENT" ? new Error("Node needs util-linux's flock(1) on PATH to lock a WAL directory") : error);
    });
    child.once("exit", (code) => {
      if (settled) return;
      settled = true;
      if (code === HELD) resolve(undefined);
      else reject(new Error(`flock(1) exited with code ${code}${errors ? `: ${errors.trim()}` : ""}`));
    });
  });
}
