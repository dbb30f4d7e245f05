// DOM for transcript entries. Model text goes through renderMarkdown (parts.ts, incremental.ts);
// everything else the model controls (tool names, arguments, results, error messages) is set as textContent only.
import type { RenderOptions } from "./markdown";
import { renderParts } from "./parts";
import type { ErrorInfo, Message, Source, Status, Usage } from "./types";

export { toolCard, toolCards } from "./toolcard";

export const RESULT_PREVIEW_CHARS = 2000;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(label: string, className: string, text = label): HTMLButtonElement {
  const b = el("button", className, text);
  b.type = "button";
  b.setAttribute("aria-label", label);
  return b;
}

/** The frame of one transcript entry; `body` receives the content. */
export function messageFrame(role: "user" | "assistant", turn: string, status: Status): HTMLElement {
  const frame = el("article", `nbchat-msg nbchat-${role}`);
  frame.dataset.testid = `message-${role}`;
  frame.dataset.turn = turn;
  frame.dataset.status = status;
  frame.setAttribute("aria-label", role === "user" ? "You said" : "Assistant replied");
  frame.append(el("div", "nbchat-role", role === "user" ? "You" : "Assistant"));
  return frame;
}

export function userMessage(turn: string, text: string, status: Status = "complete"): HTMLElement {
  const frame = messageFrame("user", turn, status);
  frame.append(el("div", "nbchat-user-text", text));
  return frame;
}

/** A finished assistant message, rendered whole (an over-long block in pieces, incremental.ts),
 * or with `body`, its text and tool cards already rendered the same way (the live view's, kept:
 * only for a reply without tool calls, whose cards change when the reply is over). */
export function assistantMessage(message: Message, options: RenderOptions, body?: HTMLElement): HTMLElement {
  const frame = messageFrame("assistant", message.turn, message.status);
  if (message.reasoning) frame.append(reasoningBox(message.reasoning));
  frame.append(body ?? renderParts(message.text, message.tool_calls, options));
  if (message.sources?.length) frame.append(sourceList(message.sources));
  if (message.status === "stopped") frame.append(el("div", "nbchat-note", "Stopped"));
  if (message.finish_reason === "length") frame.append(cutOffNote());
  if (message.error) frame.append(errorBox(message.error, message.turn));
  else if (message.status === "incomplete") {
    frame.append(errorBox({ code: "incomplete", message: "The reply did not complete." }, message.turn));
  }
  if (message.usage) frame.append(usageLine(message.usage));
  return frame;
}

/** The model's reasoning, collapsed under "Thinking"; plain text, never rendered as HTML. */
export function reasoningBox(reasoning: string): HTMLElement {
  const details = el("details", "nbchat-reasoning");
  details.dataset.testid = "reasoning";
  details.append(el("summary", "", "Thinking"));
  details.append(el("div", "nbchat-reasoning-text", reasoning));
  return details;
}

export function cutOffNote(): HTMLElement {
  const note = el("div", "nbchat-note", "Cut off: the reply reached the token limit (max_tokens).");
  note.dataset.testid = "cut-off";
  return note;
}

/** Citations as links; only http(s) addresses become links, anything else stays text. */
export function sourceList(sources: Source[]): HTMLElement {
  const list = el("ol", "nbchat-sources");
  list.dataset.testid = "sources";
  list.setAttribute("aria-label", "Sources");
  for (const source of sources) {
    const url = (source.url ?? "").trim();
    const label = source.title || url || "source";
    const item = el("li", "");
    if (/^https?:\/\//i.test(url)) {
      const link = el("a", "", label);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
      link.title = url;
      item.append(link);
    } else {
      item.textContent = url && label !== url ? `${label} (${url})` : label;
    }
    list.append(item);
  }
  return list;
}

export function formatJson(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

export function errorBox(error: ErrorInfo, turn: string): HTMLElement {
  const box = el("div", "nbchat-error");
  box.dataset.testid = "error";
  box.setAttribute("role", "alert");
  box.append(el("span", "nbchat-error-text", error.message || error.code));
  const retry = button("Retry", "nbchat-retry");
  retry.dataset.turn = turn;
  box.append(retry);
  return box;
}

/** Under a reply cut off because the kernel went away: what happened and what to do. */
export function interruptedBox(): HTMLElement {
  const box = el("div", "nbchat-error");
  box.dataset.testid = "error";
  box.setAttribute("role", "alert");
  box.append(el("span", "nbchat-error-text", INTERRUPTED));
  return box;
}

export const INTERRUPTED =
  "Interrupted: the kernel restarted or stopped while this reply streamed; the text above is what " +
  "arrived. Re-run the cell that shows this panel to reconnect.";
export const DISCONNECTED = "Disconnected from the kernel. Re-run the cell that shows this panel to reconnect.";

export function usageLine(usage: Usage): HTMLElement {
  const parts: string[] = [];
  if (usage.input_tokens != null) parts.push(`${usage.input_tokens} in`);
  if (usage.output_tokens != null) parts.push(`${usage.output_tokens} out`);
  if (usage.total_tokens != null) parts.push(`${usage.total_tokens} tokens`);
  const line = el("div", "nbchat-usage", parts.join(" · "));
  line.dataset.testid = "usage";
  line.setAttribute("aria-label", `Token usage: ${parts.join(", ")}`);
  return line;
}

export function streamingIndicator(): HTMLElement {
  const dot = el("span", "nbchat-streaming", "Streaming…");
  dot.dataset.testid = "streaming";
  dot.setAttribute("role", "status");
  dot.setAttribute("aria-label", "Reply streaming");
  return dot;
}
