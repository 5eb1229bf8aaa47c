/**
 * `vane service install` writes the hardened systemd unit (service-unit.ts) with
 * ExecStart naming this executable; `vane service print` shows it. Nothing else is
 * touched: the operator reloads systemd and enables the unit, as the output says.
 */
import { parseArgs } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CliError } from "./errors.ts";
import { errorText } from "../errors/mod.ts";
import { serviceUnit, UNIT_BINARY } from "./service-unit.ts";

export const SERVICE_USAGE = `Usage: vane service install [--unit-dir DIR] [--binary PATH]
       vane service print [--binary PATH]

  install      Write vane.service into DIR (default /etc/systemd/system).
  print        Print the unit instead.
  --binary     The vane executable the unit starts. Default: this executable when it
               is a compiled vane, else ${UNIT_BINARY}.`;

/** What `vane service ...` asked for. */
export interface ServiceCommand {
  action: "install" | "print";
  unitDir: string;
  binary: string;
}

/** Parses the words after `vane service`; `executable` is this process's own path. */
export function parseServiceArgs(argv: readonly string[], executable: string): ServiceCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { "unit-dir": { type: "string" }, binary: { type: "string" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    const first = errorText(err).split("\n")[0];
    throw new CliError(`service: ${first}`);
  }
  const [action, ...rest] = parsed.positionals;
  if (action !== "install" && action !== "print") {
    throw new CliError(`service: expected install or print; got ${action === undefined ? "nothing" : `"${action}"`}`);
  }
  if (rest.length > 0) throw new CliError(`service: unexpected argument "${rest[0]}"`);
  // A compiled vane knows where it is; run from source, the executable is deno or bun.
  const compiled = /(^|\/)vane[^/]*$/.test(executable);
  return {
    action,
    unitDir: parsed.values["unit-dir"] ?? "/etc/systemd/system",
    binary: parsed.values.binary ?? (compiled ? executable : UNIT_BINARY),
  };
}

/** Carries out the command; returns the lines to print. Throws CliError on a write failure. */
export function runService(command: ServiceCommand): string[] {
  const unit = serviceUnit(command.binary);
  if (command.action === "print") return [unit.trimEnd()];
  const path = join(command.unitDir, "vane.service");
  try {
    mkdirSync(command.unitDir, { recursive: true });
    writeFileSync(path, unit, { mode: 0o644 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const hint = code === "EACCES" || code === "EPERM" ? " (run it as root, or pass --unit-dir DIR)" : "";
    throw new CliError(`service: cannot write ${path}: ${code ?? String(err)}${hint}`);
  }
  return [
    `wrote ${path} (ExecStart=${command.binary} --config /etc/vane/vane.yaml)`,
    "next: put the config in /etc/vane/vane.yaml (vane --route ... --print-config > /etc/vane/vane.yaml),",
    "      check it with: vane check /etc/vane/vane.yaml",
    "      then: systemctl daemon-reload && systemctl enable --now vane",
  ];
}
