/**
 * Scavenging: erasing from the segment files what stream removals took away.
 *
 * `deleteStream` and `truncateStream` append a marker; reads leave the removed events out
 * from then on, but their bytes stay in the segments (the WAL only appends). A scavenge
 * rewrites every record a marker removed as a `$redacted` record: same position, stream
 * version, timestamp and append flag (so appends stay whole and the log has no gap), JSON
 * data `null`, no metadata, no id. Markers and everything else are copied byte for byte.
 *
 * It runs on a closed log (it takes the directory's lock) and only on a log with no
 * problem (a torn tail or corruption is for open or `repair` first). The segments it
 * changes are replaced all together or not at all (scavenge-pending.ts).
 */
import { StorageError } from "../core/errors.ts";
import { isSystemType, redactedRecord, type StreamRemovals } from "../core/stream-removal.ts";
import { CodecTable } from "./codec.ts";
import { checksumOf } from "./crc32c.ts";
import { decodeSegmentHeader, encodeSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentHeader } from "./segment.ts";
import { type FileSystem, joinPath, writeFileSynced } from "./file-system.ts";
import { acquireLock } from "./lock.ts";
import { LogReader } from "./log-reader.ts";
import {
  newPlan,
  paddedLength,
  RecordDecoder,
  RecordEncoder,
  recordContinues,
  recordPosition,
  recordStreamVersion,
  sealRecord,
} from "./record-format.ts";
import { commitScavenge, finishScavenge, STAGED } from "./scavenge-pending.ts";

/** What a scavenge did. */
export interface ScavengeResult {
  /** Records erased now (rewritten as `$redacted`). */
  erased: number;
  /** Segment files replaced (erased records, or only a new link to the segment before). */
  segmentsRewritten: number;
}

/** Erases what the log's markers removed (see the module comment). Throws StorageError on a log with a problem. */
export async function scavenge(fs: FileSystem, directory: string): Promise<ScavengeResult> {
  const release = await acquireLock(fs, directory);
  try {
    finishScavenge(fs, directory);
    const reader = new LogReader(fs, directory);
    const problem = reader.scan.problem;
    if (problem !== undefined) {
      throw new StorageError(`WAL has a problem (${problem.reason}): open it or run \`eventfold repair\` before scavenging`, {
        file: problem.file,
        offset: problem.offset,
      });
    }
    const removals = reader.removals();
    const segments = reader.segments.map(({ name, bytes }) => ({ name, bytes: fs.readFile(joinPath(directory, name)).subarray(0, bytes) }));
    const decoder = new RecordDecoder(new CodecTable());
    return rewrite(fs, directory, segments, removals, decoder);
  } finally {
    await release();
  }
}

function forEachRecord(bytes: Uint8Array, visit: (view: DataView, offset: number) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length; offset += paddedLength(view.getUint32(offset + 4, true))) {
    visit(view, offset);
  }
}

function rewrite(
  fs: FileSystem,
  directory: string,
  segments: { name: string; bytes: Uint8Array }[],
  removals: StreamRemovals,
  decoder: RecordDecoder,
): ScavengeResult {
  const encoder = new RecordEncoder(new CodecTable());
  const plan = newPlan();
  const staged: string[] = [];
  let erased = 0;
  // The CRC of the last record before each segment, as rewritten: the next header's link.
  let link: number | undefined;
  for (const { name, bytes } of segments) {
    const original = decodeSegmentHeader(bytes) as SegmentHeader;
    const parts: Uint8Array[] = [encodeSegmentHeader({ ...original, link: link ?? original.link })];
    let changed = link !== undefined && link !== original.link;
    forEachRecord(bytes, (view, offset) => {
      const length = paddedLength(view.getUint32(offset + 4, true));
      const header = { type: decoder.typeOf(bytes, view, offset), streamId: decoder.streamIdOf(bytes, view, offset), streamVersion: recordStreamVersion(view, offset) };
      if (isSystemType(header.type) || !removals.hides(header)) {
        parts.push(bytes.subarray(offset, offset + length));
        link = view.getUint32(offset, true);
        return;
      }
      const position = recordPosition(view, offset);
      const record = redactedRecord({ ...header, position, timestamp: view.getFloat64(offset + 24, true) });
      const size = encoder.measure(record, plan);
      const out = new Uint8Array(paddedLength(size));
      const outView = new DataView(out.buffer);
      encoder.write(record, plan, out, outView, 0, size, recordContinues(view, offset));
      sealRecord(outView, 0, checksumOf(out));
      parts.push(out);
      link = outView.getUint32(0, true);
      changed = true;
      erased++;
    });
    if (changed) {
      // Synced now, renamed only once every staged segment is (scavenge-pending.ts).
      writeFileSynced(fs, joinPath(directory, name + STAGED), parts);
      staged.push(name);
    }
  }
  if (staged.length > 0) commitScavenge(fs, directory, staged);
  return { erased, segmentsRewritten: staged.length };
}
