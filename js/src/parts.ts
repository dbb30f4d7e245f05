// A reply's parts in the order they streamed: text, tool calls, more text.
//
// Each tool call carries `offset`, the length of the reply's text when the call arrived (set by
// the kernel, src/nbchat/widget.py), so the text is cut there and the call's card goes between
// the two pieces. Calls without an offset (older saved notebooks) go first, as before.
import { IncrementalMarkdown, renderBlocks } from "./incremental";
import type { RenderOptions } from "./markdown";
import { toolCards, type ToolHooks } from "./toolcard";
import type { ToolCall } from "./types";

export type Part = { kind: "text"; start: number; text: string } | { kind: "tools"; calls: ToolCall[] };

/** Cut `text` at the tool calls' offsets. Empty text pieces are left out, except the last one,
 * which is where streaming text goes next. */
export function splitParts(text: string, calls: ToolCall[]): Part[] {
  const parts: Part[] = [];
  let start = 0;
  let group: ToolCall[] = [];
  const flushTools = () => {
    if (group.length) parts.push({ kind: "tools", calls: group });
    group = [];
  };
  for (const call of calls) {
    const at = Math.min(Math.max(call.offset ?? 0, start), text.length);
    if (at > start) {
      flushTools();
      parts.push({ kind: "text", start, text: text.slice(start, at) });
      start = at;
    }
    group.push(call);
  }
  flushTools();
  parts.push({ kind: "text", start, text: text.slice(start) });
  return parts;
}

function markdownBlock(text: string, options: RenderOptions): HTMLElement {
  const body = document.createElement("div");
  body.className = "nbchat-markdown";
  body.append(renderBlocks(text, options)); // an over-long block in pieces (incremental.ts)
  return body;
}

/** A finished reply's text and tool cards, in streamed order (a call without a result was
 * requested, not run: its reply is over). */
export function renderParts(text: string, calls: ToolCall[], options: RenderOptions): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const part of splitParts(text, calls)) {
    fragment.append(part.kind === "tools" ? toolCards(part.calls, true) : markdownBlock(part.text, options));
  }
  return fragment;
}

/** A streaming reply: finished pieces are rendered once; the last piece grows incrementally. */
export class LiveParts {
  readonly element: HTMLElement;
  private tail: IncrementalMarkdown;
  private tailStart = 0;
  private toolsKey = "";

  constructor(
    private readonly options: RenderOptions,
    private readonly hooks?: ToolHooks, // Approve / Deny on calls waiting for approval
  ) {
    this.element = document.createElement("div");
    this.element.className = "nbchat-parts";
    this.tail = new IncrementalMarkdown(options);
    this.element.append(this.tail.element);
  }

  update(text: string, calls: ToolCall[]): void {
    // Arguments still streaming are text: their length changes the key, so the card grows.
    const key = calls
      .map((c) => `${c.name}:${c.done}:${c.status}:${c.offset ?? 0}:${typeof c.args === "string" ? c.args.length : ""}`)
      .join(",");
    if (key !== this.toolsKey) {
      this.toolsKey = key;
      const parts = splitParts(text, calls);
      const last = parts.pop() as Extract<Part, { kind: "text" }>;
      this.element.replaceChildren();
      for (const part of parts) {
        this.element.append(part.kind === "tools" ? toolCards(part.calls, false, this.hooks) : markdownBlock(part.text, this.options));
      }
      this.tail = new IncrementalMarkdown(this.options);
      this.tailStart = last.start;
      this.element.append(this.tail.element);
    }
    this.tail.update(text.slice(this.tailStart));
  }

  /** This view's element for the finished reply, when reusing it is right: no tool calls (their
   * cards change once the reply is over) and a block long enough to have been cut into pieces
   * (rendering all of them again at once would be the one long task of a long reply). */
  finished(text: string, calls: ToolCall[]): HTMLElement | undefined {
    if (calls.length || this.toolsKey || this.tailStart || !this.tail.cut) return undefined;
    this.tail.update(text);
    return this.element;
  }
}
