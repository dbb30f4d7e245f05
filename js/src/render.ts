// DOM for transcript entries. Model text goes through renderMarkdown (via renderBlocks); everything else the model
// controls (tool names, arguments, results, error messages) is set as textContent only.
import { renderBlocks } from "./incremental";
import type { RenderOptions } from "./markdown";
import type { ErrorInfo, Message, Status, ToolCall, Usage } from "./types";

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
 * or with `body`, its text already rendered the same way (the live view's, kept). */
export function assistantMessage(message: Message, options: RenderOptions, body?: HTMLElement): HTMLElement {
  const frame = messageFrame("assistant", message.turn, message.status);
  if (message.tool_calls.length) frame.append(toolCards(message.tool_calls));
  if (!body) {
    body = el("div", "nbchat-markdown");
    body.append(renderBlocks(message.text, options));
  }
  frame.append(body);
  if (message.status === "stopped") frame.append(el("div", "nbchat-note", "Stopped"));
  if (message.error) frame.append(errorBox(message.error, message.turn));
  else if (message.status === "incomplete") {
    frame.append(errorBox({ code: "incomplete", message: "The reply did not complete." }, message.turn));
  }
  if (message.usage) frame.append(usageLine(message.usage));
  return frame;
}

export function toolCards(calls: ToolCall[]): HTMLElement {
  const list = el("div", "nbchat-tools");
  for (const call of calls) list.append(toolCard(call));
  return list;
}

export function toolCard(call: ToolCall): HTMLElement {
  const card = el("section", "nbchat-tool");
  card.dataset.testid = "tool-card";
  card.dataset.state = call.done ? "done" : "pending";
  card.setAttribute("aria-label", `Tool call ${call.name}`);
  const head = el("div", "nbchat-tool-head");
  head.append(el("span", "nbchat-tool-name", call.name));
  const state = el("span", "nbchat-tool-state", call.done ? "done" : "running…");
  state.setAttribute("role", "status");
  head.append(state);
  card.append(head, el("pre", "nbchat-tool-args", formatJson(call.args)));
  if (call.done) card.append(toolResult(call.result));
  return card;
}

function toolResult(result: unknown): HTMLElement {
  const details = el("details", "nbchat-tool-result");
  details.append(el("summary", "", "Result"));
  const full = formatJson(result);
  const pre = el("pre", "", full.slice(0, RESULT_PREVIEW_CHARS));
  details.append(pre);
  if (full.length > RESULT_PREVIEW_CHARS) {
    pre.textContent += "…";
    const more = button("Show more", "nbchat-more");
    more.addEventListener("click", () => {
      pre.textContent = full;
      more.remove();
    });
    details.append(more);
  }
  return details;
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
