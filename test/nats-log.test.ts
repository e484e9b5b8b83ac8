/**
 * The NATS log's message format: batches compressed (raw DEFLATE) or not, both read back
 * byte for byte, and a message whose body cannot be what its header says refused with a
 * StorageError naming it. Needs NATS with JetStream (EVENTFOLD_NATS_URL, default
 * nats://127.0.0.1:4222).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { StorageError, ValidationError } from "../mod.ts";
import { natsLog, type ReplicaBatch } from "../src/adapter/nats/index.ts";
import { NATS_URL, removeStream, streamName } from "./support/nats.ts";

/** Records-like bytes: a repeated 112-byte pattern with a counter (compressible, like WAL records). */
function recordsLike(count: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(count * 112);
  const text = new TextEncoder().encode(`{"stream":"orders-${seed}","type":"noted","data":{"n":`);
  for (let i = 0; i < count; i++) {
    bytes.set(text, i * 112 + 16);
    new DataView(bytes.buffer).setUint32(i * 112 + 8, seed * 1_000_000 + i, true);
  }
  return bytes;
}

const batch = (first: number, count: number, seed: number) => ({ term: 1, primary: "p", first, last: first + count - 1, bytes: recordsLike(count, seed) });

test("nats log: batches go compressed by default and come back byte for byte; uncompressed ones are read alike", async () => {
  const stream = streamName("codec");
  const compressed = natsLog({ servers: NATS_URL, stream });
  const plain = natsLog({ servers: NATS_URL, stream, compression: "none" });
  const reader = natsLog({ servers: NATS_URL, stream });
  await compressed.open();
  await plain.open();
  await reader.open();
  const connection = await connect({ servers: NATS_URL });
  try {
    const one = batch(1, 2000, 1);
    const two = batch(2001, 500, 2);
    assert.equal(await compressed.append(one, 0), 1);
    assert.equal(await plain.append(two, 1), 2);
    assert.equal(await compressed.append({ term: 2, primary: "q", first: 2501, last: 2500, bytes: new Uint8Array(0) }, 2), 3);

    // On the stream: the first body deflated (and much smaller), the second as it was.
    const jsm = await jetstreamManager(connection);
    const raw1 = await jsm.streams.getMessage(stream, { seq: 1 });
    assert.equal(raw1!.header.get("Eventfold-Encoding"), "deflate");
    assert.equal(raw1!.header.get("Eventfold-Length"), String(one.bytes.length));
    assert.ok(raw1!.data.length * 5 < one.bytes.length, `${raw1!.data.length} bytes for ${one.bytes.length}`);
    const raw2 = await jsm.streams.getMessage(stream, { seq: 2 });
    assert.equal(raw2!.header.get("Eventfold-Encoding"), "");
    assert.deepEqual(raw2!.data, two.bytes);

    const read = [await reader.batch(1), await reader.batch(2), await reader.batch(3)];
    assert.deepEqual(read.map((b) => [b.sequence, b.term, b.first, b.last]), [[1, 1, 1, 2000], [2, 1, 2001, 2500], [3, 2, 2501, 2500]]);
    assert.deepEqual(read[0]!.bytes, one.bytes);
    assert.deepEqual(read[1]!.bytes, two.bytes);
    assert.equal(read[2]!.bytes.length, 0);
    assert.equal(await reader.find(2100), 2);

    // Following delivers the same bytes.
    const followed: ReplicaBatch[] = [];
    let following: { stop(): Promise<void> } | undefined;
    await new Promise<void>((resolve) => {
      following = reader.follow(0, (b) => {
        followed.push(b);
        if (followed.length === 3) resolve();
      });
    });
    await following!.stop();
    // (a consumer's message bodies may be Buffers: compared as plain byte arrays)
    assert.deepEqual(followed.map((b) => new Uint8Array(b.bytes)), read.map((b) => new Uint8Array(b.bytes)));
  } finally {
    await connection.close();
    await reader.close();
    await plain.close();
    await compressed.close();
    await removeStream(natsLog({ servers: NATS_URL, stream }));
  }
});

test("nats log: a body that does not inflate, inflates to another length, or has an unknown encoding is refused, naming the message", async () => {
  const stream = streamName("codec");
  const log = natsLog({ servers: NATS_URL, stream });
  await log.open();
  const connection = await connect({ servers: NATS_URL });
  try {
    const js = jetstream(connection);
    const publish = async (encoding: string, length: string, body: Uint8Array) => {
      const header = headers();
      for (const [name, value] of [["Term", "1"], ["Primary", "p"], ["First", "1"], ["Last", "1"], ["Encoding", encoding], ["Length", length]]) {
        header.set(`Eventfold-${name}`, value!);
      }
      return (await js.publish(`eventfold.${stream}`, body, { headers: header })).seq;
    };
    const { deflateRawSync } = await import("node:zlib");
    const garbage = await publish("deflate", "100", new Uint8Array([0xff, 0xfe, 0xfd, 0x00, 0x13]));
    const short = await publish("deflate", "100", deflateRawSync(new Uint8Array(60)));
    const long = await publish("deflate", "100", deflateRawSync(new Uint8Array(5000)));
    const unknown = await publish("zstd", "100", new Uint8Array(10));
    const noLength = await publish("deflate", "", deflateRawSync(new Uint8Array(60)));
    const huge = await publish("deflate", String(2 ** 40), deflateRawSync(new Uint8Array(60)));
    const refused = async (sequence: number, why: RegExp) =>
      await assert.rejects(log.batch(sequence), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.match(error.message, new RegExp(`message ${sequence}\\b`));
        assert.match(error.message, why);
        return true;
      });
    await refused(garbage, /does not inflate/);
    await refused(short, /inflates to 60 bytes, its header says 100/);
    await refused(long, /does not inflate/);
    await refused(unknown, /unknown encoding "zstd"/);
    await refused(noLength, /Eventfold-Length/);
    await refused(huge, /more than a batch can be/);
  } finally {
    await connection.close();
    await log.close();
    await removeStream(natsLog({ servers: NATS_URL, stream }));
  }
});

test("nats log: an unknown compression is refused with a ValidationError naming it", () => {
  assert.throws(
    () => natsLog({ stream: "ok", compression: "gzip" as never }),
    (error: unknown) => error instanceof ValidationError && /compression/.test(error.message) && /gzip/.test(error.message),
  );
});

test("nats log: a batch asked for by a sequence the stream does not hold is refused with a StorageError naming it", async () => {
  const log = natsLog({ servers: NATS_URL, stream: streamName("none") });
  await log.open();
  try {
    await assert.rejects(log.batch(7), (error: unknown) => error instanceof StorageError && /holds no batch 7/.test(error.message));
  } finally {
    await removeStream(log);
  }
});
