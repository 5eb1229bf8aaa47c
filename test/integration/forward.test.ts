/**
 * The L4 forwarder end to end: real backends and clients on loopback, vane in the
 * middle, on the runtime under test.
 */
import { afterEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { closeAll, echoServer, startServer } from "../helpers/net.ts";
import { connect, exchange, readBytes } from "../helpers/raw-client.ts";
import { metrics, startVane, stopAllVanes } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
});

describe("TCP forwarding", () => {
  it("carries a 1 MB random payload each way byte-exact", async () => {
    const toServer = randomBytes(1 << 20);
    const toClient = randomBytes(1 << 20);
    const received: Buffer[] = [];
    const backend = await startServer((s) => {
      s.on("data", (d) => received.push(d));
      s.on("end", () => s.end(toClient));
    });
    const v = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const reply = await exchange(v.port, toServer);
    expect(Buffer.concat(received).equals(toServer)).toBe(true);
    expect(reply.length).toBe(toClient.length);
    expect(reply.equals(toClient)).toBe(true);
  }, 20000);

  it("honours half-close: the client's FIN reaches the backend, which can still answer", async () => {
    const backend = await startServer((s) => {
      let got = 0;
      s.on("data", (d) => (got += d.length));
      // Answers only once the client has finished sending.
      s.on("end", () => setTimeout(() => s.end(`received ${got} bytes after your FIN`), 50));
    });
    const v = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const reply = await exchange(v.port, "x".repeat(5000));
    expect(reply.toString()).toBe("received 5000 bytes after your FIN");
  });

  it("honours half-close the other way: the backend's FIN leaves the client able to send", async () => {
    let late = "";
    const backend = await startServer((s) => {
      s.end("bye early\n");
      s.on("data", (d) => (late += d.toString()));
    });
    const v = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const client = await connect(v.port);
    const first = await readBytes(client, "bye early\n".length);
    expect(first.toString()).toBe("bye early\n");
    await new Promise<void>((r) => client.once("end", () => r()));
    client.end("still talking");
    await waitFor("backend reads what the client sent after the backend's FIN", () => late === "still talking");
  });

  it("keeps echoing on a long-lived connection and counts bytes per direction", async () => {
    const echo = await echoServer();
    const v = await startVane(["--route", `*=127.0.0.1:${echo.port}`]);
    const client = await connect(v.port);
    for (let i = 0; i < 20; i++) {
      client.write(`message ${i};`);
      const back = await readBytes(client, `message ${i};`.length);
      expect(back.toString()).toBe(`message ${i};`);
    }
    client.end();
    await waitFor("vane counts both directions", () => {
      const b = v.vane.snapshot().bytes;
      return b.upstream === b.downstream && b.upstream > 0;
    });
    const expected = Array.from({ length: 20 }, (_, i) => `message ${i};`).join("").length;
    expect(v.vane.snapshot().bytes.upstream).toBe(expected);
    const text = await metrics(v);
    expect(text).toContain(`vane_bytes_total{direction="upstream"} ${expected}`);
    expect(text).toContain(`vane_bytes_total{direction="downstream"} ${expected}`);
  });

  it("closes a connection that stays idle past --idle-timeout", async () => {
    const echo = await echoServer();
    const v = await startVane(["--route", `*=127.0.0.1:${echo.port}`, "--idle-timeout", "300ms"]);
    const client = await connect(v.port);
    client.write("a");
    expect((await readBytes(client, 1)).toString()).toBe("a");
    // vane ends the connection: the client (half-open capable) sees the FIN.
    const ended = new Promise<string>((r) => client.once("end", () => r("ended")));
    expect(await ended).toBe("ended");
    const done = v.logs.find((l) => l.msg === "connection done");
    expect(done?.reason).toBe("idle");
  });

  it("closes the client when no target answers, and says why in the log", async () => {
    const echo = await echoServer();
    const v = await startVane(["--route", `*=127.0.0.1:${echo.port}`]);
    await echo.close();
    // Closed with unread input, the kernel may answer with RST instead of FIN: both
    // are a close; what matters is that no data comes back.
    const reply = await exchange(v.port, "hello").catch((err) => err.code);
    expect(reply === "ECONNRESET" || (Buffer.isBuffer(reply) && reply.length === 0)).toBe(true);
    await waitFor(
      "a log line saying no target was available",
      () => v.logs.some((l) => l.msg === "connection closed: no target available"),
    );
  });
});
