/**
 * A response head as an HTTP/2 stream takes it (HeadTaker, types.ts): the fields its
 * plan sends, names in lower case, with the flow's edits, handed to the stream's HPACK
 * encoder one by one. Without edits (the usual answer) they are read from the
 * upstream's head as they go, so no array and no pair is made per field; the names a
 * target sends are lowered once (headers.ts lowerName).
 */
import { type Fields, type Header, KNOWN_NAMES } from "../detect/http-fields.ts";
import {
  applyEdits,
  dropped,
  type FieldPlan,
  type HeaderEdit,
  lowerName,
  plannedLowerHeaders,
  reasonPhrase,
} from "./headers.ts";
import type { FieldSink, HeadFields } from "./types.ts";

/**
 * One response's head, filled in (`of`) just before a HeadTaker reads it and good until
 * the next response: the taker reads it at once and keeps nothing of it.
 */
export class PlannedFields implements HeadFields {
  #fields: Fields | null = null;
  #plan: FieldPlan | null = null;
  #edits: readonly HeaderEdit[] = [];
  /** The fields with the edits applied, when there are edits (made once per response). */
  #edited: Header[] | null = null;

  of(fields: Fields, plan: FieldPlan, edits: readonly HeaderEdit[]): this {
    this.#fields = fields;
    this.#plan = plan;
    this.#edits = edits;
    this.#edited = null;
    return this;
  }

  /** What the head would take as HTTP/1.1 with `status` (the byte count the logs report either way). */
  headLength(status: number): number {
    let n = "HTTP/1.1 200 \r\n\r\n".length + reasonPhrase(status).length;
    const edited = this.#editedList();
    if (edited !== null) {
      for (let i = 0; i < edited.length; i++) n += edited[i][0].length + edited[i][1].length + 4;
      return n;
    }
    const fields = this.#fields!;
    const plan = this.#plan!;
    for (let i = 0; i < fields.count; i++) {
      if (!dropped(plan, i)) n += fields.nameLength(i) + fields.valueLength(i) + 4;
    }
    const added = plan.append.fields;
    for (let i = 0; i < added.length; i++) n += added[i][0].length + added[i][1].length + 4;
    return n;
  }

  sendTo(sink: FieldSink): void {
    const edited = this.#editedList();
    if (edited !== null) {
      for (let i = 0; i < edited.length; i++) sink.field(edited[i][0], edited[i][1]);
      return;
    }
    const fields = this.#fields!;
    const plan = this.#plan!;
    for (let i = 0; i < fields.count; i++) {
      if (dropped(plan, i)) continue;
      const kind = fields.kind(i);
      sink.field(kind !== 0 ? KNOWN_NAMES[kind] : lowerName(fields.name(i)), fields.value(i));
    }
    const added = plan.append.fields;
    for (let i = 0; i < added.length; i++) sink.field(lowerName(added[i][0]), added[i][1]);
  }

  #editedList(): Header[] | null {
    if (this.#edits.length === 0) return null;
    return this.#edited ??= applyEdits(plannedLowerHeaders(this.#fields!, this.#plan!), this.#edits);
  }
}
