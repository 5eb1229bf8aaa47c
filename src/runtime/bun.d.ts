/**
 * The parts of Bun that vane calls, typed, so `deno check` checks the Bun adapter (as
 * Hono's adapter/deno/deno.d.ts types the Deno calls it makes). Only what src/runtime
 * uses, in the shapes of Bun's own types (bun-types) as of Bun 1.4: not a
 * substitute for them. Files import it with `import type` and declare
 * `const Bun: BunApi` themselves, so neither Bun nor `bun build` ever loads it.
 */

/** `Bun`, the global: sockets, UDP, the HTTP server, files. */
export interface BunApi {
  readonly version: string;
  /** The entry script: a path under /$bunfs/ in a compiled executable. */
  readonly main: string;
  listen<Data>(options: BunListenOptions<Data>): BunListener;
  connect<Data>(options: BunConnectOptions<Data>): Promise<BunSocket<Data>>;
  udpSocket(options: BunUdpOptions): Promise<BunUdpSocket>;
  serve(options: BunServeOptions): BunServer;
  file(path: string): { text(): Promise<string> };
}

/**
 * A TCP socket of Bun.listen or Bun.connect. `data` is what the handlers keep with
 * it (vane: its connection object), set in `open`.
 */
export interface BunSocket<Data> {
  data: Data;
  /**
   * Writes what the kernel takes now of data[byteOffset, byteOffset + byteLength)
   * (default: all of it), without buffering: the count taken (maybe short), -1 when closed.
   */
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  /** Sends FIN; reading goes on (with `allowHalfOpen`). */
  shutdown(): void;
  /** Closes once what was written has gone out. */
  end(): void;
  /** Closes at once. */
  terminate(): void;
  /** Stops and restarts the `data` events (reading from the kernel). */
  pause(): void;
  resume(): void;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

/** The events of a socket. Bun calls `open` first; a failed connect may call only `error`/`close`. */
export interface BunSocketHandler<Data> {
  open?(socket: BunSocket<Data>): void;
  data?(socket: BunSocket<Data>, chunk: Uint8Array): void;
  /** The kernel takes writes again after a short one. */
  drain?(socket: BunSocket<Data>): void;
  /** The peer sent FIN. */
  end?(socket: BunSocket<Data>): void;
  error?(socket: BunSocket<Data>, err: Error): void;
  close?(socket: BunSocket<Data>, err?: Error): void;
}

export interface BunListenOptions<Data> {
  hostname?: string;
  port?: number;
  /** Listens on a socket that is open already (its descriptor) instead of hostname/port. */
  fd?: number;
  /** Keeps the socket open for writing after the peer's FIN. */
  allowHalfOpen?: boolean;
  /** SO_REUSEPORT. */
  reusePort?: boolean;
  socket: BunSocketHandler<Data>;
}

export interface BunConnectOptions<Data> {
  hostname: string;
  port: number;
  allowHalfOpen?: boolean;
  socket: BunSocketHandler<Data>;
}

/** What Bun.listen returns. */
export interface BunListener {
  readonly hostname: string;
  readonly port: number;
  /** The listening socket's descriptor (Bun sets it; its published types leave it out). */
  readonly fd?: number;
  /** Stops accepting; `closeActiveConnections` closes the accepted ones too. */
  stop(closeActiveConnections?: boolean): void;
}

export interface BunUdpOptions {
  hostname: string;
  port: number;
  socket: {
    /** One datagram: `data` in a buffer Bun owns, from `address`:`port`. */
    data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
  };
}

export interface BunUdpSocket {
  readonly hostname: string;
  readonly port: number;
  readonly address?: { address: string; port: number; family: string };
  /** false: the kernel's buffer was full and the datagram was dropped. */
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

export interface BunServeOptions {
  hostname: string;
  port: number;
  fetch(req: Request, server: BunServer): Response | Promise<Response>;
}

export interface BunServer {
  readonly hostname: string;
  readonly port: number;
  /** The peer of `req`, or null when Bun cannot tell. */
  requestIP(req: Request): { address: string; port: number; family: string } | null;
  /** Stops listening; `closeActiveConnections` closes open connections too. */
  stop(closeActiveConnections?: boolean): Promise<void>;
}

/** The module `bun:ffi`, as far as calling libc functions that take and return integers. */
export interface BunFfi {
  dlopen<Name extends string>(
    path: string,
    symbols: Record<Name, { args: BunFfiType[]; returns: BunFfiType }>,
  ): { symbols: Record<Name, (...args: number[]) => number> };
  readonly FFIType: { readonly i32: BunFfiType; readonly ptr: BunFfiType };
  /** The address of a typed array's memory, to pass as a `ptr` argument. */
  ptr(view: ArrayBufferView): number;
  /** The shared-library suffix of this platform: "so", "dylib" or "dll". */
  readonly suffix: string;
}

/** A member of bun:ffi's FFIType enum (a number). */
export type BunFfiType = number;
