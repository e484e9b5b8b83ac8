/**
 * Batches compressed on the way to the stream (raw DEFLATE, RFC 1951, level 1): a WAL
 * record repeats its stream id, event type, id prefix and header zeros, and shrinks about
 * five times. On a cluster every byte is received, stored and re-sent by each of the
 * stream's replicas, so a fifth of the bytes is most of their CPU and bandwidth saved.
 * zlib's asynchronous calls run on Node's thread pool; Deno and Bun do most of the work on
 * the calling thread (about 0.3 ms per 512 KiB batch, measured).
 */
import { deflateRaw, inflateRaw } from "node:zlib";
import { StorageError } from "../../core/errors.ts";

/** How a batch's body is encoded on the stream. */
export type BatchEncoding = "deflate" | "none";

const BATCH_ENCODINGS: readonly BatchEncoding[] = ["deflate", "none"];

/** Whether `value` names a batch encoding (an option's value, checked where it enters). */
export function isBatchEncoding(value: unknown): value is BatchEncoding {
  return (BATCH_ENCODINGS as readonly unknown[]).includes(value);
}

/** The largest inflated body taken: 1 GiB, far above any batch (NATS' max_payload is 64 MiB at most). */
const MAX_LENGTH = 1 << 30;

/** Output chunks: a whole batch in one where it fits (zlib's default, 16 KiB, costs a round of callbacks per chunk). */
const chunkSize = (length: number) => Math.min(Math.max(64, length), 4 << 20);

/** `bytes` compressed (level 1: the fastest, most of the gain on records). */
export function deflateBatch(bytes: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    deflateRaw(bytes, { level: 1, chunkSize: chunkSize(bytes.length) }, (error, out) => error ? reject(error) : resolve(out))
  );
}

/** A compressed body back to exactly `length` bytes; a body that does not inflate to that is an error naming `what`. */
export function inflateBatch(data: Uint8Array, length: number, what: string): Promise<Uint8Array> {
  if (length > MAX_LENGTH) return Promise.reject(new StorageError(`${what}: its header says it inflates to ${length} bytes, more than a batch can be`));
  return new Promise((resolve, reject) =>
    inflateRaw(data, { maxOutputLength: Math.max(1, length), chunkSize: chunkSize(length) }, (error, out) => {
      if (error) reject(new StorageError(`${what}: its body does not inflate (${error.message})`, { cause: error }));
      else if (out.length !== length) reject(new StorageError(`${what}: its body inflates to ${out.length} bytes, its header says ${length}`));
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.length)); // a plain Uint8Array, as an uncompressed body
    })
  );
}
