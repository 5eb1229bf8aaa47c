/**
 * Who a listener serves. Its `allow` and `deny` ranges (--allow, --deny): clients are told apart by
 * their source address, which loopback lets a test choose (127.0.0.2, 127.0.0.3 ...).
 * A refused TCP client is closed unanswered and its target sees nothing; a refused UDP
 * client opens no session; behind a trusted PROXY peer, the header's address counts.
 * And `max-conns-per-client`: one address holds at most so many connections open.
 */
import { afterEach, describe, expect, it } from "vitest";
import dgram from "node:dgram";
import net from "node:net";
import { closeAll, echoServer } from "../helpers/net.ts";
import { bindUdp, closeUdp } from "../helpers/udp.ts";
import { CONTROL, startVane, startYaml, stopAllVanes } from "../helpers/vane.ts";

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
  closeUdp();
});

/** Sends `data` from `source` to vane and ends; what came back before the close. */
function from(source: string, port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: "127.0.0.1", port, localAddress: source, allowHalfOpen: true }, () => s.end(data));
    s.on("data", (d) => chunks.push(d));
    s.on("close", () => resolve(Buffer.concat(chunks).toString()));
    s.on("error", () => {});
  });
}

async function refusedCount(statusUrl: string): Promise<number> {
  const text = await (await fetch(`${statusUrl}/metrics`)).text();
  return Number(/^vane_refused_total\{reason="deny"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe("allow and deny", () => {
  it("--deny closes a client in the range unanswered; its target sees no connection", async () => {
    const echo = await echoServer();
    const v = await startVane(["--route", `*=127.0.0.1:${echo.port}`, "--health", "none", "--deny", "127.0.0.2/32"]);
    expect(await from("127.0.0.1", v.port, "hello")).toBe("hello");
    expect(await from("127.0.0.2", v.port, "hello")).toBe("");
    expect(echo.accepted).toBe(1);
    expect(await refusedCount(v.statusUrl)).toBe(1);
  });

  it("--allow serves its ranges alone, and --deny cuts a range out of them", async () => {
    const echo = await echoServer();
    const v = await startVane([
      ...["--route", `*=127.0.0.1:${echo.port}`, "--health", "none"],
      ...["--allow", "127.0.0.0/30", "--deny", "127.0.0.2"],
    ]);
    expect(await from("127.0.0.1", v.port, "a")).toBe("a");
    expect(await from("127.0.0.3", v.port, "b")).toBe("b");
    expect(await from("127.0.0.2", v.port, "c")).toBe(""); // denied inside the allowed range
    expect(await from("127.0.0.9", v.port, "d")).toBe(""); // outside the allowed range
    expect(echo.accepted).toBe(2);
    expect(await refusedCount(v.statusUrl)).toBe(2);
  });

  it("judges the address a trusted peer's PROXY header names, not the peer's", async () => {
    const echo = await echoServer();
    const v = await startVane([
      ...["--route", `*=127.0.0.1:${echo.port}`, "--health", "none"],
      ...["--accept-proxy", "127.0.0.1", "--deny", "192.0.2.0/24"],
    ]);
    const header = (src: string) => `PROXY TCP4 ${src} 127.0.0.1 5555 80\r\n`;
    expect(await from("127.0.0.1", v.port, header("198.51.100.7") + "ok")).toBe("ok");
    expect(await from("127.0.0.1", v.port, header("192.0.2.7") + "no")).toBe("");
    expect(echo.accepted).toBe(1);
  });

  it("YAML allow/deny on a tcp:// listener; a refused UDP client opens no session", async () => {
    const echo = await echoServer();
    const got: string[] = [];
    const target = await bindUdp((m, r, s) => {
      got.push(m.toString());
      s.send(m, r.port, r.address);
    });
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: tcp://127.0.0.1:0
    deny: [127.0.0.2]
    flow:
      - proxy: { targets: [127.0.0.1:${echo.port}], health: { check: none } }
  - listen: udp://127.0.0.1:0
    allow: 127.0.0.1/32
    flow:
      - proxy: { targets: [127.0.0.1:${target.address().port}], health: { check: none } }
`);
    expect(await from("127.0.0.2", v.port, "x")).toBe("");
    const udpPort = v.vane.listeners.find((l) => l.config.address.protocol === "udp")!.addr.port;
    const reply = async (source: string) => {
      const s = dgram.createSocket("udp4");
      await new Promise<void>((r) => s.bind(0, source, () => r()));
      const answer = new Promise<string>((resolve) => {
        const t = setTimeout(() => resolve(""), 500);
        s.on("message", (m) => {
          clearTimeout(t);
          resolve(m.toString());
        });
      });
      s.send(`from ${source}`, udpPort, "127.0.0.1");
      const out = await answer;
      s.close();
      return out;
    };
    expect(await reply("127.0.0.1")).toBe("from 127.0.0.1");
    expect(await reply("127.0.0.5")).toBe("");
    expect(got).toEqual(["from 127.0.0.1"]);
  });
});

/** A connection from 127.0.0.1 held open; `closed` resolves with what it got before the close. */
async function holdOpen(port: number) {
  const s = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((r, j) => s.once("connect", r).once("error", j));
  let got = "";
  s.on("data", (d) => (got += d));
  s.on("error", () => {});
  const closed = new Promise<string>((r) => s.once("close", () => r(got)));
  return {
    s,
    closed,
    echo: async (text: string) => {
      s.write(text);
      const until = Date.now() + 2000;
      while (!got.includes(text) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return got.includes(text);
    },
  };
}

describe("max-conns-per-client", () => {
  it("closes one connection more than the limit from one address; a freed slot takes the next", async () => {
    const echo = await echoServer();
    const v = await startVane([
      ...["--route", `*=127.0.0.1:${echo.port}`, "--health", "none", "--max-conns-per-client", "2"],
    ]);
    const first = await holdOpen(v.port);
    const second = await holdOpen(v.port);
    expect(await first.echo("one")).toBe(true);
    expect(await second.echo("two")).toBe(true);
    const third = await holdOpen(v.port);
    expect(await third.closed).toBe(""); // closed unanswered
    expect(await from("127.0.0.2", v.port, "other address")).toBe("other address");
    const text = await (await fetch(`${v.statusUrl}/metrics`)).text();
    expect(text).toMatch(/^vane_refused_total\{reason="client-limit"\} 1$/m);
    first.s.destroy();
    await first.closed;
    // The slot comes back once vane saw the close: a bounded wait for it.
    let fourth = await holdOpen(v.port);
    for (let i = 0; i < 50 && !(await fourth.echo("four")); i++) fourth = await holdOpen(v.port);
    expect(await fourth.echo("four")).toBe(true);
    second.s.destroy();
    fourth.s.destroy();
  });
});

describe("a listener's max-conns", () => {
  it("serves at most so many at once on that listener while the others go on; a freed slot takes the next", async () => {
    const echo = await echoServer();
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: tcp://127.0.0.1:0
    max-conns: 2
    flow:
      - proxy: { targets: [127.0.0.1:${echo.port}], health: { check: none } }
  - listen: tcp://127.0.0.1:0
    flow:
      - proxy: { targets: [127.0.0.1:${echo.port}], health: { check: none } }
`);
    const other = v.vane.listeners[1].addr.port;
    const first = await holdOpen(v.port);
    const second = await holdOpen(v.port);
    expect(await first.echo("one")).toBe(true);
    expect(await second.echo("two")).toBe(true);
    // A third waits in the listen queue (Deno) or is closed unread (Bun): never answered now.
    const third = await holdOpen(v.port).catch(() => null);
    expect(third === null || !(await third.echo("three"))).toBe(true);
    expect(await from("127.0.0.1", other, "the other listener")).toBe("the other listener");
    first.s.destroy();
    // Room again: the waiting one is served (Deno), or the next connection is (Bun).
    let served = third !== null && (await third.echo("three"));
    for (let i = 0; i < 20 && !served; i++) served = await (await holdOpen(v.port)).echo(`retry ${i}`);
    expect(served).toBe(true);
  });
});
