/**
 * What a reload does to HTTP keep-alive connections (as nginx's old workers do): an
 * idle one is closed so the client reconnects and meets the new config; a request in
 * flight finishes on the old config and its response says `Connection: close`.
 */
import { afterEach, describe, expect, it } from "vitest";
import type net from "node:net";
import { closeAll } from "../helpers/net.ts";
import { connect, readResponse } from "../helpers/raw-client.ts";
import { startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { startYaml, stopAllVanes, yamlConfig } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";

afterEach(async () => {
  await stopAllVanes();
  await stopAllHttp();
  await closeAll();
});

const flowTo = (port: number) => `
control: { listen: 127.0.0.1:0 }
listeners:
  - listen: http://127.0.0.1:0
    flow: [{ proxy: [127.0.0.1:${port}] }]
`;

/** The peer closed its side (the helper's sockets are half-open: "end", not "close"). */
const closed = (s: net.Socket) => new Promise<void>((resolve) => s.once("end", () => resolve()));

describe("reload and keep-alive", () => {
  it("closes an idle keep-alive connection and lets a busy one finish with Connection: close", async () => {
    let release = () => {};
    const slow = new Promise<void>((r) => (release = r));
    const a = await startBackend(async (req, res) => {
      if (req.url === "/slow") await slow;
      res.end("a");
    });
    const b = await startBackend((_req, res) => res.end("b"));
    const v = await startYaml(flowTo(a.port));

    const idle = await connect(v.port);
    idle.write("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    expect((await readResponse(idle)).body).toBe("a");
    const idleClosed = closed(idle);

    const busy = await connect(v.port);
    busy.write("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    const busyResponse = readResponse(busy);
    await waitFor("the slow request reached the backend", () => a.requests === 2);

    const outcome = await v.vane.reload(yamlConfig(flowTo(b.port)));
    expect(outcome.ok).toBe(true);
    await idleClosed;

    release();
    const r = await busyResponse;
    expect(r.body).toBe("a");
    expect(r.head.toLowerCase()).toContain("connection: close");
    await closed(busy);

    const fresh = await connect(v.port);
    fresh.write("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    expect((await readResponse(fresh)).body).toBe("b");
    fresh.destroy();
  }, 30000);
});
