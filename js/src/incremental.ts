// Renders a growing Markdown text without re-rendering all of it on every frame.
//
// Text before the last "safe" paragraph break (a blank line outside any code fence, followed by
// an unindented line) never changes its rendering, so it is rendered once into a frozen block;
// only the tail after it is re-rendered. The finished message is rendered whole by the caller.
import { renderMarkdown, type RenderOptions } from "./markdown";

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

export class IncrementalMarkdown {
  readonly element: HTMLElement;
  private readonly tail: HTMLElement;
  private text = "";
  private frozenUpTo = 0; // text[0, frozenUpTo) is rendered in frozen blocks
  private scanFrom = 0; // start of the first line not yet scanned for fences and breaks
  private fence: string | null = null; // the open fence marker, if inside a code block

  constructor(private readonly options: RenderOptions) {
    this.element = document.createElement("div");
    this.element.className = "nbchat-markdown";
    this.tail = document.createElement("div");
    this.element.append(this.tail);
  }

  /** Show `text`, which normally extends what was shown before. */
  update(text: string): void {
    if (!text.startsWith(this.text.slice(0, this.frozenUpTo))) this.reset();
    this.text = text;
    const split = this.scan();
    if (split > this.frozenUpTo) {
      const block = document.createElement("div");
      block.append(renderMarkdown(text.slice(this.frozenUpTo, split), this.options));
      this.tail.before(block);
      this.frozenUpTo = split;
    }
    this.tail.replaceChildren(renderMarkdown(text.slice(this.frozenUpTo), this.options));
  }

  /** Number of frozen blocks (rendered once and kept). */
  get frozenBlocks(): number {
    return this.element.childElementCount - 1;
  }

  private reset(): void {
    this.frozenUpTo = this.scanFrom = 0;
    this.fence = null;
    while (this.element.firstChild !== this.tail) this.element.firstChild?.remove();
  }

  /** Scan complete lines; return the last safe break offset found (or frozenUpTo). */
  private scan(): number {
    let split = this.frozenUpTo;
    const text = this.text;
    for (;;) {
      const end = text.indexOf("\n", this.scanFrom);
      if (end < 0) break;
      const line = text.slice(this.scanFrom, end);
      const next = end + 1;
      if (this.fence !== null) {
        const m = FENCE.exec(line);
        if (m && m[1][0] === this.fence[0] && m[1].length >= this.fence.length && !line.slice(m[0].length).trim()) {
          this.fence = null;
        }
      } else {
        const m = FENCE.exec(line);
        if (m) this.fence = m[1];
        else if (!line.trim()) {
          if (next >= text.length) break; // decide once the next line starts
          if (!/[ \t\n]/.test(text[next])) split = next;
        }
      }
      this.scanFrom = next;
    }
    return split;
  }
}
