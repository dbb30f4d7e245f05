// Prompt history for the message box, as in a terminal: ArrowUp in an empty box recalls the
// previous prompt, ArrowUp again goes further back, ArrowDown comes forward and, past the newest,
// back to an empty box. A recalled prompt that the user edits stops the browsing. In a recalled
// prompt of several lines the keys first move the caret, as in a terminal: ArrowUp recalls the
// older prompt only from the first line, ArrowDown the newer one only from the last.
//
// The history is the conversation's user messages plus what was typed here. A page reloaded
// while a reply streams gets the transcript without that turn (it is not committed yet), so the
// view also adds the user text of turns it learns of from the kernel (turn_start, sync), once
// per turn.

export class PromptHistory {
  private readonly entries: string[] = [];
  private readonly turns = new Set<string>(); // the turns whose message is in entries
  private index = -1; // position in entries while browsing; -1 when not browsing
  private shown = ""; // what browsing put in the box, to notice edits

  get size(): number {
    return this.entries.length;
  }

  /** Remember a prompt sent from this box (a repeat of the newest is kept once); browsing
   * starts again from the newest. */
  add(text: string): void {
    this.push(text);
    this.index = -1;
  }

  /** Remember the user message of a conversation turn, once per turn key (the kernel reports a
   * turn again after a resync). Browsing goes on: entries are only added after it. */
  addTurn(turn: string, text: string): void {
    if (this.turns.has(turn)) return;
    this.turns.add(turn);
    this.push(text);
  }

  private push(text: string): void {
    if (text.trim() && this.entries[this.entries.length - 1] !== text) this.entries.push(text);
  }

  /** The text to show for ArrowUp / ArrowDown with `current` in the box and the caret at
   * `caret` (a string index), or null to let the key do what it normally does (move the caret). */
  move(direction: "up" | "down", current: string, caret: number = current.length): string | null {
    const browsing = this.index >= 0 && current === this.shown;
    if (browsing) {
      const lineAway = direction === "up" ? current.slice(0, caret) : current.slice(caret);
      if (lineAway.includes("\n")) return null; // not on the first (last) line yet
    } else {
      this.index = -1;
      if (current !== "" || direction === "down" || !this.entries.length) return null;
      this.index = this.entries.length;
    }
    if (direction === "up") {
      if (this.index === 0) return null;
      this.index -= 1;
    } else {
      this.index += 1;
      if (this.index >= this.entries.length) {
        this.index = -1;
        this.shown = "";
        return "";
      }
    }
    this.shown = this.entries[this.index];
    return this.shown;
  }
}
