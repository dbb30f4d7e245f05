// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { toolCard, type ToolHooks } from "../src/toolcard";
import type { ToolCall } from "../src/types";

function call(extra: Partial<ToolCall>): ToolCall {
  return { name: "lookup_price", args: { ticker: "ACME" }, id: "c1", result: null, done: false, ...extra };
}

function hooks(): ToolHooks & { decisions: Array<[string, boolean]> } {
  const decisions: Array<[string, boolean]> = [];
  return { decisions, decide: (id, approved) => decisions.push([id, approved]), runningSince: new Map() };
}

const label = (card: HTMLElement) => card.querySelector(".nbchat-tool-state")!.textContent;

afterEach(() => {
  vi.useRealTimers();
  document.body.replaceChildren();
});

describe("toolCard", () => {
  it("asks for approval with the arguments, and answers once", () => {
    const h = hooks();
    const card = toolCard(call({ status: "pending" }), false, h);
    expect(card.dataset.state).toBe("pending");
    expect(card.dataset.approval).toBe("ask");
    expect(label(card)).toBe("waiting for approval");
    expect(card.querySelector(".nbchat-tool-args")!.textContent).toBe('{\n  "ticker": "ACME"\n}');
    const approve = card.querySelector<HTMLButtonElement>('[data-testid="tool-approve"]')!;
    const deny = card.querySelector<HTMLButtonElement>('[data-testid="tool-deny"]')!;
    approve.click();
    deny.click(); // disabled by the first answer
    expect(h.decisions).toEqual([["c1", true]]);
    expect(approve.disabled && deny.disabled).toBe(true);
  });

  it("has no buttons without hooks (a committed reply) or once stopped", () => {
    expect(toolCard(call({ status: "pending" })).querySelector("button")).toBeNull();
    const stopped = toolCard(call({ status: "pending" }), true, hooks());
    expect(stopped.dataset.state).toBe("cancelled");
    expect(stopped.querySelector("button")).toBeNull();
  });

  it("counts the seconds a call runs, across rebuilds of its card", () => {
    vi.useFakeTimers();
    const h = hooks();
    const first = toolCard(call({ status: "running" }), false, h);
    document.body.append(first);
    expect(first.dataset.state).toBe("running");
    vi.advanceTimersByTime(1500);
    expect(label(first)).toBe("running · 1.5 s");
    const rebuilt = toolCard(call({ status: "running" }), false, h);
    first.replaceWith(rebuilt);
    vi.advanceTimersByTime(500);
    expect(label(rebuilt)).toBe("running · 2.0 s");
  });

  it("shows done, error and denied with a collapsible result", () => {
    const done = toolCard(call({ done: true, status: "done", result: "101.5", elapsed: 0.25 }));
    expect([done.dataset.state, label(done)]).toEqual(["done", "done · 0.3 s"]);
    expect(done.querySelector("details")!.open).toBe(false);
    const error = toolCard(call({ done: true, status: "error", result: "error: LookupError: ACME", elapsed: 1 }));
    expect([error.dataset.state, label(error)]).toEqual(["error", "error · 1.0 s"]);
    expect(error.querySelector("details")!.open).toBe(true);
    expect(error.querySelector("details pre")!.textContent).toBe("error: LookupError: ACME");
    const denied = toolCard(call({ done: true, status: "denied", result: "denied: no" }));
    expect([denied.dataset.state, label(denied)]).toEqual(["denied", "denied"]);
    const backend = toolCard(call({ done: true, result: { x: 1 } })); // a server's own tool
    expect(backend.dataset.state).toBe("done");
  });

  it("keeps a huge result bounded until asked", () => {
    const card = toolCard(call({ done: true, status: "done", result: "<b>" + "x".repeat(5000) }));
    const pre = card.querySelector("details pre")!;
    expect(pre.textContent!.length).toBeLessThan(2100);
    expect(card.querySelector("b")).toBeNull(); // model output is text, never markup
  });
});
