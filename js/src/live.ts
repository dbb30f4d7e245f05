// The view's copy of turns still streaming, kept in step with the kernel by sequence numbers.
//
// Every kernel message but "sync" carries the next seq. A view that has not synced yet (just
// opened, or reconnected) ignores deltas and asks for a sync; a gap in seq means something was
// missed, so it asks again. The sync reply carries each live turn's text so far and the seq it
// is current to, and messages at or below that seq are dropped as already included.
//
// A turn_end completes its turn: `finished` then holds the turn's two transcript entries, built
// from what streamed, for the caller to commit (see transcript.ts).
import type { KernelMessage, LiveTurn, Message, TurnEnd, WireDelta } from "./types";

export type Outcome = "changed" | "ignored" | "resync";

export const SYNC_RETRY_MS = 1000;

export class LiveTurns {
  readonly turns = new Map<string, LiveTurn>();
  /** The entries of the turn the last applied turn_end finished. */
  finished: [Message, Message] | null = null;
  private readonly dropped = new Set<string>(); // committed before their turn_end came
  private seq = -1; // last applied seq; -1 until the first sync reply
  private requestedAt = -Infinity; // when the pending sync request went out

  get synced(): boolean {
    return this.seq >= 0;
  }

  /** Call before sending a sync request, so requests are not repeated while one is pending.
   * A request unanswered for SYNC_RETRY_MS may go again: the first one can be lost while a
   * reloaded page is still connecting to the kernel. */
  requestSync(now: number = Date.now()): boolean {
    if (now - this.requestedAt < SYNC_RETRY_MS) return false;
    this.requestedAt = now;
    return true;
  }

  apply(msg: KernelMessage): Outcome {
    this.finished = null;
    if (msg.type === "sync") {
      if (msg.seq < this.seq) return "ignored";
      this.seq = msg.seq;
      this.requestedAt = -Infinity;
      this.turns.clear();
      this.dropped.clear();
      for (const turn of msg.live) this.turns.set(turn.turn, structuredCopy(turn));
      return "changed";
    }
    if (!this.synced || msg.seq <= this.seq) return this.synced ? "ignored" : "resync";
    if (msg.seq !== this.seq + 1) return "resync";
    switch (msg.type) {
      case "turn_start":
        this.turns.set(msg.turn, {
          turn: msg.turn,
          user: msg.user,
          text: msg.text,
          reasoning: msg.reasoning ?? "",
          tool_calls: [...msg.tool_calls],
        });
        break;
      case "delta": {
        const turn = this.turns.get(msg.turn);
        if (!turn) return "resync";
        turn.text += msg.text;
        if (msg.reasoning) turn.reasoning = (turn.reasoning ?? "") + msg.reasoning;
        for (const { index, ...call } of msg.tools ?? []) turn.tool_calls[index] = call;
        break;
      }
      case "turn_end": {
        if (this.dropped.delete(msg.turn)) break; // a state update brought it already
        // A turn that never started live here comes whole in this message.
        const turn = this.turns.get(msg.turn) ?? { turn: msg.turn, user: "", text: "", reasoning: "", tool_calls: [] };
        turn.text += msg.text;
        if (msg.reasoning) turn.reasoning = (turn.reasoning ?? "") + msg.reasoning;
        this.turns.delete(msg.turn);
        this.finished = turnMessages(turn, msg);
        break;
      }
    }
    this.seq = msg.seq;
    return "changed";
  }

  /** A committed message now shows this turn: stop showing it as live. */
  drop(turnId: string): boolean {
    if (!this.turns.delete(turnId)) return false;
    this.dropped.add(turnId);
    return true;
  }
}

/** A kernel message in object form (deltas come as lists, see types.ts). */
export function parseKernelMessage(raw: KernelMessage | WireDelta): KernelMessage {
  if (!Array.isArray(raw)) return raw;
  const [, seq, turn, text, tools, reasoning] = raw;
  const delta: KernelMessage = { type: "delta", seq, turn, text };
  if (tools) delta.tools = tools;
  if (reasoning) delta.reasoning = reasoning;
  return delta;
}

/** The two transcript entries of a finished turn, as the kernel keeps them: its text and
 * reasoning from the stream, everything else from the turn_end. */
function turnMessages(turn: LiveTurn, end: TurnEnd): [Message, Message] {
  const assistant = { ...end.entry, text: turn.text, reasoning: turn.reasoning ?? "" } as Message;
  return [end.user_entry, assistant];
}

function structuredCopy(turn: LiveTurn): LiveTurn {
  return { ...turn, tool_calls: [...turn.tool_calls] };
}
