import { describe, expect, it } from "vitest";
import { assistantMessage } from "../src/render";
import type { Message } from "../src/types";

function message(extra: Partial<Message>): Message {
  return {
    id: "t1",
    turn: "t1",
    role: "assistant",
    text: "The answer.",
    status: "complete",
    tool_calls: [],
    usage: null,
    error: null,
    ...extra,
  };
}

const options = { allowRemoteImages: false };

describe("assistantMessage", () => {
  it("shows reasoning collapsed under Thinking, as text", () => {
    const frame = assistantMessage(message({ reasoning: "<b>step</b> one" }), options);
    const box = frame.querySelector<HTMLDetailsElement>('[data-testid="reasoning"]')!;
    expect(box.open).toBe(false);
    expect(box.querySelector("summary")!.textContent).toBe("Thinking");
    expect(box.textContent).toContain("<b>step</b> one");
    expect(box.querySelector("b")).toBeNull();
  });

  it("has no reasoning box or cut-off note by default", () => {
    const frame = assistantMessage(message({}), options);
    expect(frame.querySelector('[data-testid="reasoning"]')).toBeNull();
    expect(frame.querySelector('[data-testid="cut-off"]')).toBeNull();
    expect(frame.querySelector('[data-testid="sources"]')).toBeNull();
  });

  it("marks a finished reply's tool call without a result as requested, not running", () => {
    const call = { name: "lookup", args: { q: "x" }, id: "c1", result: null, done: false };
    const card = assistantMessage(message({ tool_calls: [call] }), options).querySelector<HTMLElement>(
      '[data-testid="tool-card"]',
    )!;
    expect(card.dataset.state).toBe("requested");
    expect(card.querySelector(".nbchat-tool-state")!.textContent).toBe("requested, not run");
  });

  it("notes a reply cut off by the token limit", () => {
    const frame = assistantMessage(message({ finish_reason: "length" }), options);
    expect(frame.querySelector('[data-testid="cut-off"]')!.textContent).toContain("Cut off");
  });

  it("links http(s) sources only", () => {
    const sources = [
      { title: "Jupyter", url: "https://jupyter.org/" },
      { title: "Evil", url: "javascript:alert(1)" },
      { title: null, url: "http://example.com/x" },
    ];
    const list = assistantMessage(message({ sources }), options).querySelector('[data-testid="sources"]')!;
    const links = [...list.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["https://jupyter.org/", "http://example.com/x"]);
    expect(links[0].textContent).toBe("Jupyter");
    expect(links[0].rel).toBe("noopener noreferrer nofollow");
    expect(list.children[1].textContent).toBe("Evil (javascript:alert(1))");
    expect(list.querySelectorAll("a[href^=javascript]").length).toBe(0);
  });
});
