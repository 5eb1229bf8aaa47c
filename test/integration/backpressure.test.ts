/**
 * Backpressure: when the backend stops reading, vane stops reading from the client
 * instead of buffering, so the client's writes stall; when the backend reads again,
 * every byte arrives, in order.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import type net from "node:net";
import { closeAll, startServer } from "../helpers/net.ts";
import { connect } from "../helpers/raw-client.ts";
import { startVane, stopAllVanes } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
});

const CHUNK = 1 << 20;
// What the client would send if nothing pushed back. Kernel buffers on loopback hold a
// few MB per socket (four sockets on the way), so the stall must come well before this.
const WANT = 256 * CHUNK;
const STALL_LIMIT = 96 * CHUNK;

/** The chunk for position i: distinct per chunk so loss or reordering shows in the hash. */
function chunkAt(i: number): Buffer {
  return Buffer.alloc(CHUNK, i % 251);
}

/** Writes chunks while the socket accepts them; resolves when it has stalled for `quietMs`. */
function writeUntilStalled(s: net.Socket, hash: ReturnType<typeof createHash>, quietMs: number) {
  return new Promise<number>((resolve) => {
    let written = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pump = () => {
      clearTimeout(timer);
      while (written < WANT) {
        const c = chunkAt(written / CHUNK);
        hash.update(c);
        written += CHUNK;
        if (!s.write(c)) {
          timer = setTimeout(() => {
            s.off("drain", pump);
            resolve(written);
          }, quietMs);
          s.once("drain", pump);
          return;
        }
      }
      resolve(written);
    };
    pump();
  });
}

describe("backpressure", () => {
  it("stalls the client while the backend does not read, then delivers every byte", async () => {
    let backendSocket: net.Socket | null = null;
    const received = createHash("sha256");
    let receivedBytes = 0;
    const backend = await startServer((s) => {
      backendSocket = s;
      s.pause(); // reads nothing until resumed
      s.on("data", (d) => {
        received.update(d);
        receivedBytes += d.length;
      });
    });
    const v = await startVane(["--route", `*=127.0.0.1:${backend.port}`, "--health", "none"]);
    const client = await connect(v.port);
    const sent = createHash("sha256");

    const written = await writeUntilStalled(client, sent, 700);
    expect(written).toBeLessThan(STALL_LIMIT);
    expect(receivedBytes).toBe(0);

    // Let the backend read: everything the client wrote arrives, exactly.
    backendSocket!.resume();
    client.end();
    await waitFor("the backend has every byte", () => receivedBytes === written, 15000);
    expect(received.digest("hex")).toBe(sent.digest("hex"));
  }, 30000);
});
