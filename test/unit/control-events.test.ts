import { describe, expect, it } from "vitest";
import { EventHub, type VaneEvent } from "../../src/control/events.ts";

describe("EventHub", () => {
  it("hands each published event to every subscriber until it unsubscribes", () => {
    const hub = new EventHub();
    const seen: VaneEvent[] = [];
    const stop = hub.subscribe((e) => seen.push(e));
    hub.publish("admin", { change: "drain" });
    stop();
    hub.publish("admin", { change: "undrain" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: "admin", change: "drain" });
    expect(Number.isNaN(Date.parse(seen[0].time))).toBe(false);
  });

  it("publishes access-log lines through its hook, and says when subscribers come and go", () => {
    const hub = new EventHub();
    const counts: number[] = [];
    hub.watchSubscribers((n) => counts.push(n));
    const lines: unknown[] = [];
    const a = hub.subscribe((e) => lines.push(e.line));
    const b = hub.subscribe(() => {
      throw new Error("a stream gone");
    });
    hub.accessLog('127.0.0.1 "GET / HTTP/1.1" 200');
    b();
    b();
    a();
    expect(lines).toEqual(['127.0.0.1 "GET / HTTP/1.1" 200']);
    expect(counts).toEqual([1, 2, 1, 0]);
  });
});
