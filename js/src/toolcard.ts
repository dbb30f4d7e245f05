// Tool cards: a tool call's name, its arguments (growing while they stream), its state and a
// bounded, collapsible result. Kernel-side tools (src/nbchat/toolloop.py) add states: a call
// waiting for approval shows Approve / Deny; a running call shows its elapsed time.
//
// Everything the model controls (names, arguments, results) is set as textContent only.
import { button, el, formatJson, RESULT_PREVIEW_CHARS } from "./render";
import type { ToolCall } from "./types";
import "./toolcard.css";

/** What a live view lends its cards: how to answer an approval, and when each running call
 * was first seen (so the elapsed time survives the card being rebuilt). */
export interface ToolHooks {
  decide(id: string, approved: boolean): void;
  runningSince: Map<string, number>;
}

/** data-state of a card: "pending" (requested, or waiting for approval: data-approval="ask"),
 * "running", "done", "error", "denied", "cancelled", or "requested" (a finished reply's call
 * that never ran). */
export function toolState(call: ToolCall, finished: boolean): string {
  if (call.done) return call.status && call.status !== "done" ? call.status : "done";
  if (call.status === "running" || call.status === "cancelled") return call.status;
  if (call.status === "pending") return finished ? "cancelled" : "pending";
  return finished ? "requested" : "pending";
}

/** Tool cards; in a finished reply a call without a result was requested but not run (a
 * stateless backend asks the client to run its tools). */
export function toolCards(calls: ToolCall[], finished = false, hooks?: ToolHooks): HTMLElement {
  const list = el("div", "nbchat-tools");
  for (const call of calls) list.append(toolCard(call, finished, hooks));
  return list;
}

export function toolCard(call: ToolCall, finished = false, hooks?: ToolHooks): HTMLElement {
  const card = el("section", "nbchat-tool");
  card.dataset.testid = "tool-card";
  const state = toolState(call, finished);
  card.dataset.state = state;
  card.setAttribute("aria-label", `Tool call ${call.name}`);
  const head = el("div", "nbchat-tool-head");
  head.append(el("span", "nbchat-tool-name", call.name));
  const label = el("span", "nbchat-tool-state", stateLabel(call, state));
  label.setAttribute("role", "status");
  head.append(label);
  card.append(head, el("pre", "nbchat-tool-args", formatJson(call.args)));
  if (call.status === "pending" && state === "pending" && hooks && call.id) {
    card.dataset.approval = "ask";
    card.append(approval(call.id, hooks));
  }
  if (state === "running" && hooks && call.id) tick(label, call.id, hooks.runningSince);
  if (call.done) card.append(toolResult(call.result, state !== "done"));
  return card;
}

function stateLabel(call: ToolCall, state: string): string {
  const took = call.elapsed != null ? ` · ${seconds(call.elapsed)}` : "";
  switch (state) {
    case "done":
      return `done${took}`;
    case "error":
      return `error${took}`;
    case "denied":
      return "denied";
    case "cancelled":
      return "cancelled";
    case "running":
      return "running…";
    case "requested":
      return "requested, not run";
    default:
      return call.status === "pending" ? "waiting for approval" : "running…";
  }
}

function seconds(value: number): string {
  return `${value.toFixed(1)} s`;
}

function approval(id: string, hooks: ToolHooks): HTMLElement {
  const row = el("div", "nbchat-tool-approval");
  const approve = button("Approve", "nbchat-approve");
  const deny = button("Deny", "nbchat-deny");
  approve.dataset.testid = "tool-approve";
  deny.dataset.testid = "tool-deny";
  const answer = (approved: boolean) => () => {
    approve.disabled = deny.disabled = true; // one answer; the card changes when the kernel acts
    hooks.decide(id, approved);
  };
  approve.addEventListener("click", answer(true));
  deny.addEventListener("click", answer(false));
  row.append(approve, deny);
  return row;
}

/** Count the seconds a call has been running until its label leaves the page. */
function tick(label: HTMLElement, id: string, since: Map<string, number>): void {
  const start = since.get(id) ?? Date.now();
  since.set(id, start);
  const show = () => {
    label.textContent = `running · ${seconds((Date.now() - start) / 1000)}`;
  };
  show();
  const timer = setInterval(() => {
    if (label.isConnected) show();
    else clearInterval(timer);
  }, 100);
}

function toolResult(result: unknown, open: boolean): HTMLElement {
  const details = el("details", "nbchat-tool-result");
  details.open = open; // an error or a denial is read at once; a result is opened on demand
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
