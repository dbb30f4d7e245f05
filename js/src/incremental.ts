// Renders a growing Markdown text without re-rendering all of it on every frame.
//
// Text before the last "safe" paragraph break (a blank line outside any code fence, followed by
// an unindented line) never changes its rendering, so it is rendered once into a frozen block;
// only the tail after it is re-rendered. A block that grows past PIECE_LIMIT characters (one long
// paragraph or code block) is cut into pieces too, so a frame's work (Markdown, highlighting and
// the browser's layout) stays bounded however long the block gets: a paragraph at a line break
// or else a space, a code block at a line break, its pieces each rendered as a closed code block.
// The cut points depend only on the text, so `renderBlocks` gives the finished message the same
// pieces.
import { renderMarkdown, type RenderOptions } from "./markdown";

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** Longest run of text (characters) rendered as one block once it is cut. */
export const PIECE_LIMIT = 2000;

export class IncrementalMarkdown {
  readonly element: HTMLElement;
  private readonly tail: HTMLElement;
  private text = "";
  private frozenUpTo = 0; // text[0, frozenUpTo) is rendered in frozen blocks
  private scanFrom = 0; // start of the first line not yet scanned for fences and breaks
  private fence: string | null = null; // the open fence marker, if inside a code block
  private fenceOpener = ""; // the line that opened it
  private pieceOpener = ""; // prefix of the current piece when it starts inside a code block
  private cuts = 0; // pieces cut out of over-long blocks

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
    for (const piece of this.scan()) {
      const block = document.createElement("div");
      block.className = piece.cut ? "nbchat-block nbchat-cut" : "nbchat-block";
      block.append(renderMarkdown(piece.source, this.options));
      this.tail.before(block);
    }
    this.tail.replaceChildren(renderMarkdown(this.pieceOpener + text.slice(this.frozenUpTo), this.options));
  }

  /** Number of frozen blocks (rendered once and kept). */
  get frozenBlocks(): number {
    return this.element.childElementCount - 1;
  }

  /** Whether some block was too long and was cut into pieces. */
  get cut(): boolean {
    return this.cuts > 0;
  }

  private reset(): void {
    this.frozenUpTo = this.scanFrom = this.cuts = 0;
    this.fence = null;
    this.fenceOpener = this.pieceOpener = "";
    while (this.element.firstChild !== this.tail) this.element.firstChild?.remove();
  }

  /** Scan complete lines (and an over-long last line); return the blocks to freeze. */
  private scan(): Array<{ source: string; cut: boolean }> {
    const pieces: Array<{ source: string; cut: boolean }> = [];
    const text = this.text;
    const freeze = (end: number, cut: boolean): void => {
      let source = this.pieceOpener + text.slice(this.frozenUpTo, end);
      if (this.fence !== null) source += `${source.endsWith("\n") ? "" : "\n"}${this.fence}\n`;
      pieces.push({ source, cut });
      if (cut) this.cuts += 1;
      this.frozenUpTo = end;
      this.pieceOpener = this.fence !== null ? this.fenceOpener : "";
    };
    for (;;) {
      const end = text.indexOf("\n", this.scanFrom);
      if (end < 0) break;
      const line = text.slice(this.scanFrom, end);
      const next = end + 1;
      const long = next - this.frozenUpTo > PIECE_LIMIT && this.scanFrom > this.frozenUpTo;
      if (this.fence !== null) {
        const m = FENCE.exec(line);
        if (m && m[1][0] === this.fence[0] && m[1].length >= this.fence.length && !line.slice(m[0].length).trim()) {
          this.fence = null;
        } else if (long) {
          freeze(this.scanFrom, true);
        }
      } else {
        const m = FENCE.exec(line);
        if (m) {
          this.fence = m[1];
          this.fenceOpener = `${line}\n`;
        } else if (!line.trim()) {
          if (next >= text.length) break; // decide once the next line starts
          if (!/[ \t\n]/.test(text[next])) freeze(next, false);
        } else if (long) {
          freeze(this.scanFrom, true);
        }
      }
      this.scanFrom = next;
    }
    // One over-long line (outside code): cut after its last space within the limit, else at it.
    while (this.fence === null && text.length - this.frozenUpTo > PIECE_LIMIT) {
      const window = text.slice(this.frozenUpTo, this.frozenUpTo + PIECE_LIMIT);
      let cut = Math.max(window.lastIndexOf(" "), window.lastIndexOf("\n")) + 1;
      if (cut <= 0) cut = PIECE_LIMIT;
      const code = window.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // keep a surrogate pair together
      freeze(this.frozenUpTo + cut, true);
    }
    return pieces;
  }
}

/** A finished message: rendered whole, unless a block in it is long enough to be cut into
 * pieces, which then are the ones a live view showed (each laid out on its own). */
export function renderBlocks(text: string, options: RenderOptions): Node {
  const incremental = new IncrementalMarkdown(options);
  if (text.length > PIECE_LIMIT) {
    incremental.update(text);
    if (incremental.cut) return withoutClass(incremental.element);
  }
  return renderMarkdown(text, options);
}

function withoutClass(element: HTMLElement): DocumentFragment {
  const fragment = document.createDocumentFragment();
  fragment.append(...Array.from(element.childNodes));
  return fragment;
}
