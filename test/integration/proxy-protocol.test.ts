/**
 * The PROXY protocol end to end: headers vane sends to targets, read back by a test
 * backend byte for byte; headers vane accepts from trusted peers only, whose address
 * then stands for the client (in the header vane sends on, and in its logs).
 */
import { afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import tls from "node:tls";
import { closeAll, echoServer, nameServer, startServer } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { startVane, stopAllVanes } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
});

/** A backend that keeps everything each connection sent, and closes when the client does. */
async function recorder() {
  const received: Buffer[] = [];
  const server = await startServer((s) => {
    const parts: Buffer[] = [];
    s.on("data", (d) => parts.push(d));
    s.on("end", () => {
      received.push(Buffer.concat(parts));
      s.end();
    });
  });
  return { server, received };
}

/** Sends `data` from a socket whose local port we learn, then FIN; resolves with that port. */
function sendFrom(port: number, data: Buffer | string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      const local = s.localPort!;
      s.end(data);
      s.on("data", () => {});
      s.on("close", () => resolve(local));
    });
    s.on("error", reject);
  });
}

const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2Tcp4(src: string, srcPort: number, dst: string, dstPort: number): Buffer {
  const ip = (a: string) => Buffer.from(a.split(".").map(Number));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(srcPort, 0);
  ports.writeUInt16BE(dstPort, 2);
  // version 2 + PROXY command, TCP over IPv4, 12 address bytes.
  return Buffer.concat([V2_SIG, Buffer.from([0x21, 0x11, 0x00, 0x0c]), ip(src), ip(dst), ports]);
}

describe("PROXY protocol to targets", () => {
  it("v1: the target reads the client's address and port first, then the payload", async () => {
    const { server, received } = await recorder();
    const v = await startVane(["--route", `*=127.0.0.1:${server.port}`, "--proxy-protocol", "v1", "--health", "none"]);
    const clientPort = await sendFrom(v.port, "payload");
    await waitFor("the backend got the connection", () => received.length === 1);
    expect(received[0].toString()).toBe(`PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${v.port}\r\npayload`);
  });

  it("v2: the target reads the binary header, then the payload", async () => {
    const { server, received } = await recorder();
    const v = await startVane(["--route", `*=127.0.0.1:${server.port}`, "--proxy-protocol", "v2", "--health", "none"]);
    const clientPort = await sendFrom(v.port, "payload");
    await waitFor("the backend got the connection", () => received.length === 1);
    const expected = Buffer.concat([v2Tcp4("127.0.0.1", clientPort, "127.0.0.1", v.port), Buffer.from("payload")]);
    expect(received[0].toString("hex")).toBe(expected.toString("hex"));
  });
});

describe("PROXY protocol from trusted peers", () => {
  it("takes the v1 header's address as the client's, and passes it on", async () => {
    const { server, received } = await recorder();
    const v = await startVane([
      "--route",
      `*=127.0.0.1:${server.port}`,
      "--accept-proxy",
      "127.0.0.0/8",
      "--proxy-protocol",
      "v1",
      "--health",
      "none",
    ]);
    await sendFrom(v.port, "PROXY TCP4 127.9.8.7 127.0.0.1 5555 80\r\nhello");
    await waitFor("the backend got the connection", () => received.length === 1);
    expect(received[0].toString()).toBe(`PROXY TCP4 127.9.8.7 127.0.0.1 5555 ${v.port}\r\nhello`);
    await waitFor(
      "the log names the real client",
      () => v.logs.some((l) => l.msg === "connection done" && l.client === "127.9.8.7:5555"),
    );
  });

  it("accepts a v2 header too, and strips it when no header is sent on", async () => {
    const echo = await echoServer();
    const v = await startVane(["--route", `*=127.0.0.1:${echo.port}`, "--accept-proxy", "127.0.0.1"]);
    const reply = await exchange(
      v.port,
      Buffer.concat([v2Tcp4("127.4.4.4", 4444, "127.0.0.1", 80), Buffer.from("echo me")]),
    );
    expect(reply.toString()).toBe("echo me");
    await waitFor(
      "the log names the client from the header",
      () => v.logs.some((l) => l.msg === "connection done" && l.client === "127.4.4.4:4444"),
    );
  });

  it("closes a trusted peer's connection that does not start with a PROXY header", async () => {
    const echo = await echoServer();
    const v = await startVane(["--route", `*=127.0.0.1:${echo.port}`, "--accept-proxy", "127.0.0.1"]);
    const reply = await exchange(v.port, "GET / HTTP/1.1\r\n\r\n").catch((err) => err.code);
    expect(reply === "ECONNRESET" || (Buffer.isBuffer(reply) && reply.length === 0)).toBe(true);
    await waitFor(
      "the log says a header was required",
      () => v.logs.some((l) => l.msg === "connection closed: PROXY header required from this peer"),
    );
    expect(echo.accepted).toBe(1); // the initial health check only
  });

  it("passes a PROXY header from an untrusted peer through as plain bytes", async () => {
    const echo = await echoServer();
    const v = await startVane(["--route", `*=127.0.0.1:${echo.port}`, "--accept-proxy", "127.99.0.0/16"]);
    const line = "PROXY TCP4 127.9.8.7 127.0.0.1 5555 80\r\nhello";
    expect((await exchange(v.port, line)).toString()).toBe(line);
  });

  it("routes TLS by SNI after a PROXY header", async () => {
    // A real ClientHello from node:tls, captured, then sent behind a v1 header.
    let got!: (b: Buffer) => void;
    const helloP = new Promise<Buffer>((r) => (got = r));
    const capture = await startServer((s) => s.once("data", (d) => (got(d), s.destroy())));
    const t = tls.connect({
      host: "127.0.0.1",
      port: capture.port,
      servername: "alpha.test",
      rejectUnauthorized: false,
    });
    t.on("error", () => {});
    const hello = await helloP;
    t.destroy();

    const alpha = await nameServer("alpha-backend");
    const other = await nameServer("catch-all");
    const v = await startVane([
      "--route",
      `alpha.test=127.0.0.1:${alpha.port}`,
      "--route",
      `*=127.0.0.1:${other.port}`,
      "--accept-proxy",
      "127.0.0.1",
    ]);
    const reply = await exchange(
      v.port,
      Buffer.concat([Buffer.from("PROXY TCP4 127.2.2.2 127.0.0.1 2222 443\r\n"), hello]),
    );
    expect(reply.toString()).toBe("alpha-backend");
  });
});

describe("PROXY protocol on HTTP upstream connections", () => {
  it("opens each HTTP upstream connection with the client's header, and never shares it", async () => {
    const seen: string[] = [];
    // A minimal HTTP backend that records the first line of each connection.
    const backend = await startServer((s) => {
      let first: string | null = null;
      let buf = "";
      s.on("data", (d) => {
        buf += d.toString("latin1");
        if (first === null && buf.includes("\r\n")) {
          first = buf.slice(0, buf.indexOf("\r\n"));
          seen.push(first);
        }
        if (buf.includes("\r\n\r\n")) {
          buf = "";
          s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        }
      });
    });
    const v = await startVane([
      "--listen",
      "http://127.0.0.1:0",
      "--route",
      `*=127.0.0.1:${backend.port}`,
      "--proxy-protocol",
      "v1",
      "--health",
      "none",
    ]);
    const port = v.vane.listeners[1].addr.port;
    const a = await exchange(
      port,
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(a.toString().match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    // Two requests, two upstream connections, each opened by a PROXY line for this client.
    expect(seen).toHaveLength(2);
    for (const line of seen) {
      expect(line).toMatch(new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${port}$`));
    }
  });
});
