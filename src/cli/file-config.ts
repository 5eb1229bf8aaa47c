/**
 * Following a config file: a reload when its text changes, once writes have settled
 * (as etcd-config.ts follows an etcd key).
 */
import type { Runtime } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { errorText } from "../errors/mod.ts";

/** A file change is acted on once writes have settled for this long. */
export const WATCH_DEBOUNCE_MS = 300;

/** Reloads when the file's text changes, once writes have settled. */
export function watchConfig(
  rt: Runtime,
  file: string,
  current: () => string | null,
  reload: () => void,
  log: Logger,
): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const settled = async () => {
    timer = null;
    let text: string;
    try {
      text = await rt.readTextFile(file);
    } catch {
      return; // mid-rename, or removed: the next event (or SIGHUP) tells
    }
    // Editors touch files without changing them; only new text is a new config.
    if (text === current()) return;
    log.info("reloading", { reason: "config file changed", file });
    reload();
  };
  try {
    const unwatch = rt.watchFile(file, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void settled(), WATCH_DEBOUNCE_MS);
    });
    // An edit made after the file was read and before the watch began made no event:
    // the text is compared once now.
    timer = setTimeout(() => void settled(), 0);
    return () => {
      if (timer) clearTimeout(timer);
      timer = null;
      unwatch();
    };
  } catch (err) {
    log.warn("cannot watch the config file; reload with SIGHUP or POST /reload", {
      file,
      error: errorText(err),
    });
    return () => {};
  }
}
