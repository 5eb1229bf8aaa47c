/**
 * Watching a config file for changes. Editors and config managers often write a new
 * file and rename it over the old one, which a watch on the file itself loses after
 * the first time; so the directory is watched and events are filtered by name.
 * node:fs `watch` behaves alike on Deno and Bun (inotify on Linux).
 */
import { watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";

export function watchFile(path: string, onChange: () => void): () => void {
  const full = resolve(path);
  const name = basename(full);
  const watcher = watch(dirname(full), (_event, file) => {
    // Some platforms omit the name; then any change in the directory may be ours.
    if (file === null || file === undefined || String(file) === name) onChange();
  });
  // A watcher that fails later (the directory removed) must not take vane down.
  watcher.on("error", () => {});
  return () => watcher.close();
}
