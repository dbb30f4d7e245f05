// Prompt history for the message box, as in a terminal: ArrowUp in an empty box recalls the
// previous prompt, ArrowUp again goes further back, ArrowDown comes forward and, past the newest,
// back to an empty box. A recalled prompt that the user edits stops the browsing.

export class PromptHistory {
  private readonly entries: string[] = [];
  private index = -1; // position in entries while browsing; -1 when not browsing
  private shown = ""; // what browsing put in the box, to notice edits

  constructor(initial: string[] = []) {
    for (const entry of initial) this.add(entry);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Remember a sent prompt (a repeat of the newest is kept once). */
  add(text: string): void {
    if (text.trim() && this.entries[this.entries.length - 1] !== text) this.entries.push(text);
    this.index = -1;
  }

  /** The text to show for ArrowUp / ArrowDown with `current` in the box, or null to let the key
   * do what it normally does (move the caret). */
  move(direction: "up" | "down", current: string): string | null {
    const browsing = this.index >= 0 && current === this.shown;
    if (!browsing) {
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
