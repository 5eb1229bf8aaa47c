/**
 * What a TcpConn's `write()` returns when the socket took every byte at once (Bun's
 * writes, nearly always, for small ones): one settled promise shared by all. A caller
 * on a hot path may compare with it and go on without awaiting, which saves a turn of
 * the microtask queue (and an async frame) per write.
 */
export const WRITTEN: Promise<void> = Promise.resolve();
