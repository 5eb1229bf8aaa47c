/**
 * A rule's `when`, compiled into one predicate over the evaluation's scope, and the
 * list of keys it reads (for `needsDetection`).
 */
import { type Condition, HOST_KEYS } from "../config/model.ts";
import { keyReader, normalizeKey, type Scope } from "./input.ts";
import { compileMatcher } from "./matcher.ts";

export type Predicate = (scope: Scope) => boolean;

export function compileCondition(c: Condition): Predicate {
  switch (c.kind) {
    case "key": {
      const read = keyReader(c.key);
      const test = compileMatcher(c.matcher, HOST_KEYS.includes(normalizeKey(c.key)));
      return (scope) => test(read(scope));
    }
    case "not": {
      const inner = compileCondition(c.of);
      return (scope) => !inner(scope);
    }
    case "any": {
      const parts = c.of.map(compileCondition);
      return (scope) => {
        for (let i = 0; i < parts.length; i++) if (parts[i](scope)) return true;
        return false;
      };
    }
    case "all": {
      const parts = c.of.map(compileCondition);
      return (scope) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i](scope)) return false;
        return true;
      };
    }
  }
}

/** Every key the condition reads, normalised, for deciding whether a flow needs detection. */
export function conditionKeys(c: Condition, into: Set<string> = new Set()): Set<string> {
  if (c.kind === "key") into.add(normalizeKey(c.key));
  else if (c.kind === "not") conditionKeys(c.of, into);
  else for (const x of c.of) conditionKeys(x, into);
  return into;
}
