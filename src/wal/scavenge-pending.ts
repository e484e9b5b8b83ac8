/**
 * The commit point of a scavenge (see scavenge.ts), and what finishes or undoes one a crash
 * interrupted. Kept apart from scavenge.ts because recovery runs it at every open.
 *
 * A scavenge writes each segment it changes whole beside the original, as
 * `<segment>.scavenged`, synced. Then it writes `scavenge.pending` (the list of those
 * segments) atomically: the scavenge is decided. Then it renames each staged file over its
 * segment and removes `scavenge.pending`. Rewriting a segment's last record changes the
 * link of the next segment's header, so segments must change all together or not at all:
 * a crash before the pending file leaves the originals (the staged files are removed); a
 * crash after it is rolled forward here.
 */
import { StorageError } from "../core/errors.ts";
import { type FileSystem, joinPath, writeFileAtomically } from "./file-system.ts";
import { discardCheckpoint } from "./checkpoint.ts";

/** The file that says a scavenge was decided and which segments it replaces. */
export const PENDING = "scavenge.pending";
/** The suffix of a segment's staged replacement. */
export const STAGED = ".scavenged";

/** Decides a scavenge whose staged segments are all written and synced. */
export function commitScavenge(fs: FileSystem, directory: string, segments: readonly string[]): void {
  writeFileAtomically(fs, directory, PENDING, new TextEncoder().encode(segments.join("\n")));
  finishScavenge(fs, directory);
}

/**
 * Rolls a decided scavenge forward (renames its staged segments over the originals), or
 * removes the staged files of one that was never decided. Idempotent: a crash in here is
 * finished by the next call.
 */
export function finishScavenge(fs: FileSystem, directory: string): void {
  const pending = joinPath(directory, PENDING);
  if (fs.exists(pending)) {
    // The index checkpoint describes the segments being replaced: it goes first.
    discardCheckpoint(fs, directory);
    const segments = new TextDecoder().decode(fs.readFile(pending)).split("\n").filter((name) => name.length > 0);
    for (const segment of segments) {
      const staged = joinPath(directory, segment + STAGED);
      // Already renamed by an earlier, interrupted finish: nothing left to do for it.
      if (fs.exists(staged)) fs.rename(staged, joinPath(directory, segment));
    }
    fs.syncDirectory(directory);
    fs.remove(pending);
    fs.syncDirectory(directory);
  }
  // Staged segments and a pending list never renamed into place (writeFileAtomically's temp file).
  const undecided = fs.list(directory).filter((name) => name.endsWith(STAGED) || name === `${PENDING}.tmp`);
  for (const name of undecided) fs.remove(joinPath(directory, name));
  if (undecided.length > 0) fs.syncDirectory(directory);
}

/** For read-only inspection: refuses a log whose scavenge is decided but unfinished (its segment links are mixed). */
export function assertNoPendingScavenge(fs: FileSystem, directory: string): void {
  if (fs.exists(joinPath(directory, PENDING))) {
    throw new StorageError("the WAL has an unfinished scavenge: open the log (or run `eventfold scavenge`) to finish it", {
      file: joinPath(directory, PENDING),
    });
  }
}
