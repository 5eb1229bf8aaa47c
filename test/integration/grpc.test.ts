/**
 * gRPC through vane, with a real gRPC client and server (@grpc/grpc-js on Node, started
 * by the test): the client speaks HTTP/2 to vane, vane forwards each call as an HTTP/2
 * stream to an h2c pool. A unary call with trailing metadata, a bidirectional stream
 * where each message waits for the previous reply (a proxy that held the request
 * stream until its end would deadlock it), and a failing call whose grpc-status and
 * message must arrive as the server sent them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { nodeServer, stopNodeServers } from "../helpers/node-server.ts";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/net.ts";
import { spawnVane } from "../helpers/process.ts";
import { stopAll } from "../helpers/cleanup.ts";
import { runCommand } from "../helpers/command.ts";
import { waitFor } from "../helpers/wait.ts";

const SERVER = fileURLToPath(new URL("../fixtures/grpc/server.cjs", import.meta.url));
const CLIENT = fileURLToPath(new URL("../fixtures/grpc/client.cjs", import.meta.url));

afterEach(async () => {
  stopNodeServers();
  await stopAll();
});

/** The gRPC server on Node; resolves with its port. */
function grpcServer(): Promise<number> {
  return nodeServer({ file: SERVER }).then((s) => s.port);
}

/** An h2c target (node:http2) that echoes the request body, says its HTTP version and sends a trailer. */
function h2cEcho(): Promise<number> {
  const script = `
const http2 = require("node:http2");
const s = http2.createServer((req, res) => {
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => {
    res.setHeader("x-h2-version", req.httpVersion);
    res.addTrailers({ "x-trailer": "done" });
    res.end(Buffer.concat(parts));
  });
});
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  return nodeServer({ code: script }).then((s) => s.port);
}

/** vane on an http:// listener in front of the gRPC server, as an h2c pool. */
async function vaneBefore(target: number) {
  const port = await freePort();
  const vane = spawnVane([
    "--status",
    "off",
    "--workers",
    "1",
    "--listen",
    `http://127.0.0.1:${port}`,
    "--route",
    `*=127.0.0.1:${target}`,
    "--protocol",
    "h2c",
  ]);
  await waitFor("vane listening", () => vane.stderr().includes("listening"), 15_000);
  return { vane, port };
}

interface Calls {
  unary: { error: string | null; reply: string | null; trailer: string };
  chat: { code: number; replies: string[] };
  fail: { code: number; details: string };
}

async function calls(port: number): Promise<Calls> {
  const r = await runCommand("node", [CLIENT, String(port)], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`gRPC client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Calls;
}

const EXPECTED: Calls = {
  unary: { error: null, reply: "echo:ping", trailer: "kept" },
  chat: { code: 0, replies: ["reply 1: m1", "reply 2: m2", "reply 3: m3"] },
  fail: { code: 5, details: "no such thing" },
};

describe("gRPC through vane", () => {
  it("the client alone reaches the server directly with these results (the reference)", async () => {
    expect(await calls(await grpcServer())).toEqual(EXPECTED);
  });

  it("unary, bidirectional streaming and an error pass through an h2c pool unchanged (--protocol h2c)", async () => {
    const { port } = await vaneBefore(await grpcServer());
    expect(await calls(port)).toEqual(EXPECTED);
  }, 30_000);

  it(
    "HTTP/1.1 requests reach an h2c target as HTTP/2 streams: bodies both ways, its trailers in the chunked trailer section",
    async () => {
      const target = await h2cEcho();
      const { port } = await vaneBefore(target);
      const post = await runCommand("curl", [
        "-sS",
        "--http1.1",
        "--raw",
        "-D",
        "-",
        "--data-binary",
        "hello over h1",
        `http://127.0.0.1:${port}/echo`,
      ]);
      expect(post.stdout).toMatch(/^HTTP\/1\.1 200 \r\n/);
      expect(post.stdout).toContain("x-h2-version: 2.0\r\n");
      expect(post.stdout).toContain("transfer-encoding: chunked\r\n");
      // The body as the target sent it, then its trailer after the last chunk.
      expect(post.stdout).toMatch(/\r\n\r\nd\r\nhello over h1\r\n0\r\nx-trailer: done\r\n\r\n$/);
      const get = await runCommand("curl", [
        "-sS",
        "--http1.1",
        "-w",
        " %{http_code}",
        `http://127.0.0.1:${port}/echo`,
      ]);
      expect(get.stdout).toBe(" 200");
    },
    30_000,
  );
});
