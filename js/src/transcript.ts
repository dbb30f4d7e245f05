// The front end's copy of the transcript: the model's `messages` list, appended to in place.
//
// The kernel does not re-send the list when a turn ends (that would cost O(conversation) per
// turn); each model appends the entries it built from the stream, and JupyterLab saves the
// model's list in the notebook. `model.set` is not used: it would queue the whole list to be
// sent back to the kernel with the next `save_changes`. Both functions are idempotent, so
// several views of one model, or a state update racing a turn_end, add a turn once.
import type { Message } from "./types";

/** Append a finished turn's entries unless the list has them already. */
export function appendTurn(messages: Message[], entries: Message[]): boolean {
  const ids = new Set(messages.slice(-entries.length).map((m) => m.id));
  const fresh = entries.filter((m) => !ids.has(m.id));
  messages.push(...fresh);
  return fresh.length > 0;
}

/** Replace the entries from `base` on by the kernel's; false when the list is shorter than
 * `base` (this copy is behind: ask for a sync of its own). */
export function applyTail(messages: Message[], base: number, tail: Message[]): boolean {
  if (base > messages.length) return false;
  messages.splice(base, messages.length - base, ...tail);
  return true;
}
