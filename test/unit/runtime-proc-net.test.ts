import { describe, expect, it } from "vitest";
import { boundSockets, parseProcNet, portTaken } from "../../src/runtime/proc-net.ts";

// Lines as Linux writes them (trimmed of the columns after the state).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000
   1: 00000000:0050 00000000:0000 0A 00000000:00000000
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A
   2: 0000000000000000FFFF00000100007F:2329 00000000000000000000000000000000:0000 0A
   3: 000080FE00000000FF56500200640AFE:1F91 00000000000000000000000000000000:0000 0A
`;
const UDP = `   sl  local_address rem_address   st
  0: 3500007F:0035 00000000:0000 07
  1: 0100007F:C350 0100007F:0035 01
`;

describe("/proc/net tables", () => {
  it("reads listening TCP sockets only, with each word's bytes in network order", () => {
    expect(parseProcNet(TCP, "tcp")).toEqual([{ hostname: "127.0.0.1", port: 8080 }, {
      hostname: "0.0.0.0",
      port: 80,
    }]);
  });

  it("writes IPv6 as usual (zero run as ::) and IPv4-mapped ones as IPv4", () => {
    expect(parseProcNet(TCP6, "tcp")).toEqual([
      { hostname: "::", port: 443 },
      { hostname: "::1", port: 9000 },
      { hostname: "127.0.0.1", port: 9001 },
      { hostname: "fe80::250:56ff:fe0a:6400", port: 8081 },
    ]);
  });

  it("takes every UDP socket, bound or connected", () => {
    expect(parseProcNet(UDP, "udp")).toEqual([{ hostname: "127.0.0.53", port: 53 }, {
      hostname: "127.0.0.1",
      port: 50000,
    }]);
  });

  it("skips lines it cannot read rather than failing", () => {
    expect(parseProcNet("header\n\n  0: zz\n  1: 0100007F 00000000:0000 0A\n", "tcp")).toEqual([]);
  });

  it("reads this machine's tables (Linux)", () => {
    const tcp = boundSockets("tcp");
    expect(Array.isArray(tcp)).toBe(true);
  });
});

describe("portTaken", () => {
  const sockets = [{ hostname: "127.0.0.1", port: 8080 }, { hostname: "0.0.0.0", port: 80 }, {
    hostname: "::",
    port: 443,
  }];

  it("meets the same address and port", () => {
    expect(portTaken({ hostname: "127.0.0.1", port: 8080 }, sockets)).toBe(true);
    expect(portTaken({ hostname: "127.0.0.2", port: 8080 }, sockets)).toBe(false);
    expect(portTaken({ hostname: "127.0.0.1", port: 8081 }, sockets)).toBe(false);
  });

  it("meets any address where either side is a wildcard", () => {
    expect(portTaken({ hostname: "0.0.0.0", port: 8080 }, sockets)).toBe(true);
    expect(portTaken({ hostname: "10.1.2.3", port: 80 }, sockets)).toBe(true);
    expect(portTaken({ hostname: "::1", port: 443 }, sockets)).toBe(true);
    expect(portTaken({ hostname: "::", port: 8080 }, sockets)).toBe(true);
  });

  it("compares a name by port alone, and never port 0 (the system picks a free one)", () => {
    expect(portTaken({ hostname: "localhost", port: 8080 }, sockets)).toBe(true);
    expect(portTaken({ hostname: "localhost", port: 8081 }, sockets)).toBe(false);
    expect(portTaken({ hostname: "0.0.0.0", port: 0 }, [{ hostname: "0.0.0.0", port: 0 }])).toBe(false);
  });
});
