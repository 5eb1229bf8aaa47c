/** Every fuzz target, in the order a run goes through them. */
import type { AnyTarget } from "../target.ts";
import { chunked } from "./chunked.ts";
import { h2Frames } from "./h2-frames.ts";
import { hpack } from "./hpack.ts";
import { httpRequest } from "./http-request.ts";
import { httpResponse } from "./http-response.ts";
import { proxyProtocol } from "./proxy-protocol.ts";
import { tlsClientHello } from "./tls-client-hello.ts";
import { yamlConfig } from "./yaml-config.ts";

export const TARGETS: readonly AnyTarget[] = [
  httpRequest,
  httpResponse,
  chunked,
  tlsClientHello,
  proxyProtocol,
  h2Frames,
  hpack,
  yamlConfig,
];
