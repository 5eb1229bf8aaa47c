/**
 * The open-file limit, raised and said once per process at start, with the max-conns
 * it makes (server/client-slots.ts derives it): out of descriptors nothing works, so
 * an operator who asks for more connections than the limit allows is warned.
 */
import type { VaneContext } from "./context.ts";
import { defaultMaxConns, fdReserve } from "./client-slots.ts";

/** Raises the open-file limit, sets `ctx.derivedMaxConns` from it and says both. */
export function applyFileLimit(ctx: VaneContext): void {
  const fileLimit = ctx.rt.raiseFileLimit();
  ctx.derivedMaxConns = defaultMaxConns(fileLimit?.soft ?? null);
  const soft = fileLimit?.soft ?? null;
  const configured = ctx.initial.maxConns;
  const maxConns = configured ?? ctx.derivedMaxConns;
  if (soft === null) {
    ctx.primaryInfo("file descriptors: limit unknown", { maxConns });
  } else {
    const raised = fileLimit!.raisedFrom === null ? "" : ` (raised from ${fileLimit!.raisedFrom})`;
    ctx.primaryInfo(`file descriptors: limit ${soft}${raised}`, {
      maxConns,
      reserve: Number.isFinite(soft) ? fdReserve(soft) : null,
    });
  }
  if (configured !== null && soft !== null && configured > ctx.derivedMaxConns) {
    ctx.log.warn("max-conns is more than the open-file limit allows; vane may run out of descriptors", {
      maxConns: configured,
      fits: ctx.derivedMaxConns,
      limit: soft,
    });
  }
}
