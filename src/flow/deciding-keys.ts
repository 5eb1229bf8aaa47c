/**
 * The keys whose values alone decide what a flow answers. An evaluation of most flows
 * depends on nothing but the keys its conditions and templates read: the same values,
 * the same outcome and the same edits. A caller that sees those values again (the next
 * request on a kept-alive connection, to the same host) may then reuse the answer
 * instead of running the rules again (http-decide.ts).
 */
import type { Rule } from "../config/model.ts";
import { conditionKeys } from "./condition.ts";
import { compileTemplate } from "./template.ts";

/**
 * The keys read by `rules` (conditions and templates, sub-flows included), or null when
 * something besides key values can change their answer: a rate limit's counts, a
 * plugin's reply.
 */
export function decidingKeys(rules: readonly Rule[]): string[] | null {
  const keys = new Set<string>();
  return collect(rules, keys) ? [...keys] : null;
}

/** Adds what `rules` read to `keys`; false when their answer depends on more than keys. */
function collect(rules: readonly Rule[], keys: Set<string>): boolean {
  for (const rule of rules) {
    if (rule.when !== null) conditionKeys(rule.when, keys);
    const a = rule.action;
    switch (a.kind) {
      case "rate-limit":
      case "plugin":
        return false;
      case "flow":
        if (!collect(a.rules, keys)) return false;
        break;
      case "set-headers":
        for (const [, value] of [...a.request, ...a.response]) templateKeys(value, keys);
        break;
      case "respond":
        for (const [, value] of a.headers) templateKeys(value, keys);
        templateKeys(a.body, keys);
        break;
      case "redirect":
        templateKeys(a.location, keys);
        break;
      // Constants (a terminate step's own flow is decided by its own decider).
      case "proxy":
      case "abort":
      case "terminate":
      case "remove-headers":
        break;
      default: {
        // A new action must say here which of the two it is: this fails to compile until
        // it does, and until then (were it to run) counts as one that depends on more.
        const unknown: never = a;
        void unknown;
        return false;
      }
    }
  }
  return true;
}

function templateKeys(text: string, keys: Set<string>): void {
  for (const k of compileTemplate(text, { header: false }).keys) keys.add(k);
}
