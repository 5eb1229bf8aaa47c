/**
 * The config in service = the loaded config (file or flags) with the admin's structural
 * changes applied (control/runtime-state.ts). The changes are applied to the config as a
 * document and loaded with the same readers as the file, so a bad change is refused
 * with the key path of what is wrong, and a reload keeps every change that still fits.
 */
import { stringify } from "yaml";
import type { Config } from "../config/model.ts";
import { configToDocument } from "../config/print.ts";
import { loadConfigText } from "../config/yaml-load.ts";
import { applyToDocument, hasStructure, type RuntimeState } from "../control/runtime-state.ts";

export type EffectiveOutcome = { ok: true; config: Config } | { ok: false; errors: string[] };

/** `base` with `state`'s structural changes; `base` itself when there are none. */
export function effectiveConfig(base: Config, state: RuntimeState, functions: ReadonlySet<string>): EffectiveOutcome {
  if (!hasStructure(state)) return { ok: true, config: base };
  const doc = configToDocument(base);
  applyToDocument(doc, state);
  const loaded = loadConfigText(stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 }), { functions });
  if (!loaded.ok) {
    return { ok: false, errors: loaded.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)) };
  }
  return { ok: true, config: loaded.config };
}
