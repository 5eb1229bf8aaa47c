/**
 * Whether a target's 101 answers the switch the client asked for (RFC 9110 §7.8,
 * RFC 6455 §4.2.2). A 101 for another protocol, or a WebSocket handshake with the wrong
 * Sec-WebSocket-Accept, means the target did not understand the request as vane
 * forwarded it: turning the connection into a tunnel then would carry bytes past every
 * rule that nobody agreed on. Such an answer is a 502.
 */
import { createHash } from "node:crypto";
import type { ResponseHead } from "../detect/http-head.ts";
import { headerValues } from "../detect/http-fields.ts";
import { answeredProtocols } from "./framing.ts";

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept a request's one Sec-WebSocket-Key calls for, or null without one. */
export function websocketAccept(keys: readonly string[]): string | null {
  if (keys.length !== 1 || keys[0] === "") return null;
  return createHash("sha1").update(keys[0] + WEBSOCKET_GUID).digest("base64");
}

/**
 * Why a 101 does not answer the upgrade offered (`offered`: lowercased protocols, as
 * sent), or null when it does. `accept`: what Sec-WebSocket-Accept must be for a
 * WebSocket switch (null: the request had no usable key, so no WebSocket switch is right).
 */
export function switchRefusal(res: ResponseHead, offered: readonly string[], accept: string | null): string | null {
  const answered = answeredProtocols(res.fields);
  if (answered.length !== 1) return "101 without one Upgrade protocol";
  const protocol = answered[0];
  // "websocket" answers "websocket"; a versioned offer ("foo/2") is answered by itself.
  if (!offered.includes(protocol)) return `101 switching to ${protocol}, which was not asked for`;
  if (protocol === "websocket") {
    const got = headerValues(res.headers, "sec-websocket-accept");
    if (accept === null || got.length !== 1 || got[0] !== accept) return "101 with a wrong Sec-WebSocket-Accept";
  }
  return null;
}
