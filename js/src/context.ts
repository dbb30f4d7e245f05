// Kernel context on the page: what a user message carried (collapsed under it), and the notice
// shown when the kernel refused to send a message. Both are text only (textContent).
//
// DOM hooks for tests:
//   [data-testid="attached-context"]   <details> under a user message, closed by default;
//                                      one [data-testid="attached-item"] (data-name) per variable
//   [data-testid="notice"]             why the last message was not sent (role="alert")
import "./context.css";
import { el } from "./render";
import type { Attachment } from "./types";

export function attachedContext(items: Attachment[]): HTMLElement {
  const details = el("details", "nbchat-context");
  details.dataset.testid = "attached-context";
  details.append(el("summary", "nbchat-context-summary", `Attached: ${items.map((i) => i.name).join(", ")}`));
  for (const item of items) {
    const entry = el("div", "nbchat-context-item");
    entry.dataset.testid = "attached-item";
    entry.dataset.name = item.name;
    entry.append(el("div", "nbchat-context-name", item.name), el("pre", "nbchat-context-text", item.text));
    details.append(entry);
  }
  return details;
}

export function notice(): HTMLElement {
  const box = el("div", "nbchat-notice");
  box.dataset.testid = "notice";
  box.setAttribute("role", "alert");
  box.hidden = true;
  return box;
}

export function showNotice(box: HTMLElement, text: string | null): void {
  box.textContent = text ?? "";
  box.hidden = !text;
}
