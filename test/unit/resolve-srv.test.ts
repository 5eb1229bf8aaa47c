/**
 * SRV resolution: the wire format (resolve/dns-wire.ts), one query over real UDP to the
 * test DNS server (srv-query.ts), the TTL cache that keeps the last good answer
 * (srv-cache.ts) and the records as targets (srv-expand.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { answerId, decodeSrvAnswer, encodeQuery, TYPE_SRV } from "../../src/resolve/dns-wire.ts";
import { parseResolvConf, srvLookup } from "../../src/resolve/srv-query.ts";
import { SrvCache } from "../../src/resolve/srv-cache.ts";
import { expandSrv, ZERO_WEIGHT_SHARE } from "../../src/resolve/srv-expand.ts";
import { parseSrvTarget } from "../../src/config/target.ts";
import { runtime } from "../../src/runtime/mod.ts";
import { startDnsServer } from "../helpers/dns-server.ts";

const dns = await startDnsServer({});
afterAll(() => dns.close());

/** An answer to query `id`: the header, the question of `encodeQuery`, then `answers`. */
function answer(id: number, flags: number, answers: number[][]): Uint8Array {
  const question = encodeQuery(id, "_a._tcp.x", TYPE_SRV).subarray(12, 12 + 11 + 4);
  const header = [id >> 8, id & 255, flags >> 8, flags & 255, 0, 1, 0, answers.length, 0, 0, 0, 0];
  return new Uint8Array([...header, ...question, ...answers.flat()]);
}

/** An SRV record named by a pointer to the question (offset 12) with target `target` (as bytes). */
function srvRR(ttl: number, priority: number, weight: number, port: number, target: number[]): number[] {
  const data = [priority >> 8, priority & 255, weight >> 8, weight & 255, port >> 8, port & 255, ...target];
  return [0xc0, 12, 0, 33, 0, 1, ttl >>> 24, (ttl >> 16) & 255, (ttl >> 8) & 255, ttl & 255, 0, data.length, ...data];
}

describe("dns-wire", () => {
  it("encodes a recursive SRV question with an EDNS0 OPT record", () => {
    const q = encodeQuery(0x1234, "_a._tcp.x", TYPE_SRV);
    expect(answerId(q)).toBe(0x1234);
    expect([...q.subarray(2, 12)]).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect([...q.subarray(12, 27)]).toEqual([2, 95, 97, 4, 95, 116, 99, 112, 1, 120, 0, 0, 33, 0, 1]);
    expect([...q.subarray(27)]).toEqual([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
  });

  it("decodes SRV records with their TTLs, following a compressed target name", () => {
    // The second target is "b" plus a pointer to "x" in the question (offset 12 + 8).
    const packet = answer(7, 0x8180, [
      srvRR(30, 10, 5, 8080, [1, 65, 1, 120, 0]),
      srvRR(20, 20, 0, 9090, [1, 98, 0xc0, 20]),
    ]);
    expect(decodeSrvAnswer(packet, 7)).toEqual({
      ok: true,
      records: [
        { priority: 10, weight: 5, port: 8080, target: "a.x", ttl: 30 },
        { priority: 20, weight: 0, port: 9090, target: "b.x", ttl: 20 },
      ],
    });
  });

  it("names NXDOMAIN, truncation, another query's answer and a malformed packet", () => {
    expect(decodeSrvAnswer(answer(7, 0x8183, []), 7)).toEqual({ ok: false, reason: "NXDOMAIN" });
    expect(decodeSrvAnswer(answer(7, 0x8380, []), 7)).toEqual({
      ok: false,
      reason: "answer truncated (too many records for UDP)",
      truncated: true,
    });
    expect(decodeSrvAnswer(answer(8, 0x8180, []), 7)).toEqual({ ok: false, reason: "answer to another query" });
    const cut = answer(7, 0x8180, [srvRR(30, 10, 5, 8080, [1, 65, 1, 120, 0])]);
    expect(decodeSrvAnswer(cut.subarray(0, cut.length - 3), 7)).toEqual({ ok: false, reason: "malformed answer" });
    // A pointer to itself would loop: refused.
    expect(decodeSrvAnswer(answer(7, 0x8180, [srvRR(30, 1, 1, 1, [0xc0, 45])]), 7)).toEqual({
      ok: false,
      reason: "malformed answer",
    });
  });
});

describe("srvLookup", () => {
  const server = () => Promise.resolve([{ hostname: "127.0.0.1", port: dns.port }]);

  it("asks the given server over UDP and returns the records with their TTL", async () => {
    dns.set("_api._tcp.svc.test", { SRV: [{ priority: 10, weight: 3, port: 8080, target: "A.svc.test" }], ttl: 7 });
    const records = await srvLookup(runtime(), server)("_api._tcp.svc.test");
    expect(records).toEqual([{ priority: 10, weight: 3, port: 8080, target: "a.svc.test", ttl: 7 }]);
  });

  it("rejects with the name and the server's verdict for an unknown name", async () => {
    await expect(srvLookup(runtime(), server)("_nope._tcp.svc.test")).rejects.toThrowError(
      "dns SRV _nope._tcp.svc.test: NXDOMAIN",
    );
  });

  it("reads the servers of resolv.conf, defaulting to 127.0.0.1:53", () => {
    expect(parseResolvConf("# x\nsearch a\nnameserver 10.0.0.2\nnameserver ::1\nnameserver fe80::1%eth0\n")).toEqual([
      { hostname: "10.0.0.2", port: 53 },
      { hostname: "::1", port: 53 },
    ]);
    expect(parseResolvConf("")).toEqual([{ hostname: "127.0.0.1", port: 53 }]);
  });
});

describe("SrvCache", () => {
  const rec = (target: string, ttl = 30) => ({ priority: 1, weight: 1, port: 80, target, ttl });

  it("keeps an answer for its TTL (clamped to at least 1 s), then asks again", async () => {
    let now = 0;
    let asked = 0;
    const cache = new SrvCache(() => Promise.resolve([rec(`t${++asked}`, 0)]), () => now);
    expect((await cache.get("s")).records[0].target).toBe("t1");
    now = 999;
    expect((await cache.get("s")).records[0].target).toBe("t1");
    now = 1000;
    expect((await cache.get("s")).records[0].target).toBe("t2");
  });

  it("keeps the last good records on a failure or an empty answer, retrying after the negative TTL", async () => {
    let now = 0;
    const answers: Array<() => Promise<ReturnType<typeof rec>[]>> = [
      () => Promise.resolve([rec("good", 1)]),
      () => Promise.reject(new Error("dns SRV s: SERVFAIL")),
      () => Promise.resolve([]),
    ];
    const cache = new SrvCache(() => answers.shift()!(), () => now);
    await cache.get("s");
    now = 1000;
    expect(await cache.get("s")).toEqual({ records: [rec("good", 1)], error: "dns SRV s: SERVFAIL", expiresAt: 6000 });
    now = 6000;
    expect(await cache.get("s")).toMatchObject({ records: [rec("good", 1)], error: "dns SRV s: no SRV records" });
  });
});

describe("expandSrv", () => {
  it("makes one target per record: host, port and weight from it, tagged with name and priority", () => {
    const spec = parseSrvTarget("srv:_api._tcp.x.test");
    const records = [
      { priority: 20, weight: 0, port: 81, target: "b.x.test", ttl: 5 },
      { priority: 10, weight: 3, port: 80, target: "a.x.test", ttl: 5 },
      { priority: 30, weight: 1, port: 80, target: "a.x.test", ttl: 5 }, // same host:port: the lower priority wins
      { priority: 10, weight: 1, port: 80, target: "", ttl: 5 }, // "." : not offered
      { priority: 10, weight: 1, port: 82, target: "10.0.0.9", ttl: 5 },
    ];
    expect(expandSrv(spec, records)).toEqual([
      {
        kind: "dns",
        host: "a.x.test",
        port: 80,
        weight: 3,
        raw: "a.x.test:80",
        srv: { name: "_api._tcp.x.test", priority: 10 },
      },
      {
        kind: "ip",
        host: "10.0.0.9",
        port: 82,
        weight: 1,
        raw: "10.0.0.9:82",
        srv: { name: "_api._tcp.x.test", priority: 10 },
      },
      {
        kind: "dns",
        host: "b.x.test",
        port: 81,
        weight: ZERO_WEIGHT_SHARE,
        raw: "b.x.test:81",
        srv: { name: "_api._tcp.x.test", priority: 20 },
      },
    ]);
  });
});
