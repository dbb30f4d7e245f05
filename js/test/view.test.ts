import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatView } from "../src/widget";
import type { KernelMessage, Message, ViewMessage, WidgetState, WireDelta, TurnEnd } from "../src/types";

let panels = 0;

/** A stand-in for anywidget's model: state, change events, custom messages both ways. */
class FakeModel {
  state: WidgetState = { messages: [], status: "idle", allow_remote_images: false, title: "Test chat", backend: "chats · model demo · http://127.0.0.1:3026", panel_id: `panel-${++panels}` };
  sent: ViewMessage[] = [];
  saved = 0;
  private handlers = new Map<string, Array<(...args: any[]) => void>>();

  get<K extends keyof WidgetState>(key: K): WidgetState[K] {
    return this.state[key];
  }
  set<K extends keyof WidgetState>(key: K, value: WidgetState[K]): void {
    this.state[key] = value;
    this.emit(`change:${key}`);
  }
  on(event: string, handler: (...args: any[]) => void): void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
  }
  off(event: string, handler: (...args: any[]) => void): void {
    this.handlers.set(event, (this.handlers.get(event) ?? []).filter((h) => h !== handler));
  }
  save_changes(): void {
    this.saved += 1;
  }
  send(content: ViewMessage): void {
    this.sent.push(content);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }
  kernel(msg: KernelMessage | WireDelta): void {
    this.emit("msg:custom", msg, []);
  }
  listeners(): number {
    return [...this.handlers.values()].reduce((n, list) => n + list.length, 0);
  }
}

/** What anywidget hands each view: its own object over the same model. */
function proxy(m: FakeModel) {
  return {
    get: m.get.bind(m),
    set: m.set.bind(m),
    on: m.on.bind(m),
    off: m.off.bind(m),
    send: m.send.bind(m),
    save_changes: m.save_changes.bind(m),
  };
}

function message(turn: string, role: "user" | "assistant", text: string, extra: Partial<Message> = {}): Message {
  return { id: role === "user" ? `${turn}-user` : turn, turn, role, text, status: "complete", tool_calls: [], usage: null, error: null, ...extra };
}

/** A turn_end as the kernel sends it: the last text, then the turn's two entries (the reply's
 * without its text and reasoning, which the view has from the stream). */
function turnEnd(seq: number, turn: string, text: string, user: string, extra: Partial<Message> = {}): TurnEnd {
  const { text: _text, reasoning: _reasoning, ...entry } = message(turn, "assistant", "", extra);
  return { type: "turn_end", seq, turn, text, user_entry: message(turn, "user", user), entry };
}

let model: FakeModel;
let view: ChatView;
const $ = (selector: string) => view.root.querySelector<HTMLElement>(selector);
const $$ = (selector: string) => Array.from(view.root.querySelectorAll<HTMLElement>(selector));
const lastSent = () => model.sent[model.sent.length - 1];
/** Wait until `ready()` holds: renders are paced (and spaced out after slow ones), not immediate.
 * Gives up after two seconds and lets the assertion that follows report what is wrong. */
async function until(ready: () => boolean, timeoutMs = 2000): Promise<void> {
  const started = Date.now();
  while (!ready() && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeEach(() => {
  model = new FakeModel();
  view = new ChatView(model as never);
  document.body.append(view.root);
});

afterEach(() => {
  view.dispose();
  view.root.remove();
});

describe("ChatView", () => {
  it("asks the kernel for a sync when it opens, once", () => {
    expect(model.sent).toEqual([{ type: "sync", have: 0, last: null }]);
    model.kernel({ type: "delta", seq: 4, turn: "t1", text: "x" });
    expect(model.sent).toEqual([{ type: "sync", have: 0, last: null }]);
  });

  it("shows the title and the saved transcript", () => {
    model.set("messages", [
      message("t1", "user", "Hi"),
      message("t1", "assistant", "Hello **there**", { usage: { input_tokens: 3, output_tokens: 5, total_tokens: 8 } }),
    ]);
    expect($(".nbchat-title")?.textContent).toBe("Test chat");
    expect($('[data-testid="message-user"]')?.textContent).toContain("Hi");
    const reply = $('[data-testid="message-assistant"]')!;
    expect(reply.dataset.status).toBe("complete");
    expect(reply.querySelector("strong")?.textContent).toBe("there");
    expect($('[data-testid="usage"]')?.textContent).toBe("3 in · 5 out · 8 tokens");
  });

  it("streams a live turn, then replaces it by the committed message", async () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.set("status", "streaming");
    expect($('button[aria-label="Stop"]')?.hidden).toBe(false);
    expect(($('button[aria-label="Send"]') as HTMLButtonElement).disabled).toBe(true);

    model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "Tell me", text: "", tool_calls: [] });
    model.kernel({ type: "delta", seq: 2, turn: "t1", text: "Hello" });
    model.kernel({ type: "delta", seq: 3, turn: "t1", text: " world" });
    await until(() => $('[data-testid="message-assistant"]')?.dataset.status === "streaming");
    const live = $('[data-testid="message-assistant"]')!;
    expect(live.dataset.status).toBe("streaming");
    expect(live.getAttribute("aria-busy")).toBe("true");
    expect(live.querySelector('[data-testid="streaming"]')).not.toBeNull();
    expect(live.textContent).toContain("Hello world");

    const transcript = model.state.messages;
    model.kernel(turnEnd(4, "t1", "!", "Tell me"));
    // The model's own list grew in place (what JupyterLab saves), nothing went back to the kernel.
    expect(model.state.messages).toBe(transcript);
    expect(transcript).toEqual([message("t1", "user", "Tell me"), message("t1", "assistant", "Hello world!", { reasoning: "" })]);
    expect(model.saved).toBe(0);
    model.set("status", "idle");
    await until(() => $$('[data-testid="message-assistant"]').length === 1);
    expect($$('[data-testid="message-assistant"]')).toHaveLength(1);
    expect($$('[data-testid="message-user"]')).toHaveLength(1);
    expect($('[data-testid="streaming"]')).toBeNull();
    expect($('[data-testid="message-assistant"]')?.textContent).toContain("Hello world!");
    expect($('button[aria-label="Stop"]')?.hidden).toBe(true);
  });

  it("catches up from a sync reply and resyncs on a gap", async () => {
    model.kernel({ type: "sync", seq: 7, live: [{ turn: "t3", user: "q", text: "so far", tool_calls: [] }], base: 0, messages: [] });
    model.kernel({ type: "delta", seq: 8, turn: "t3", text: ", more" });
    await until(() => !!$('[data-testid="message-assistant"]')?.textContent?.includes("so far, more"));
    expect($('[data-testid="message-assistant"]')?.textContent).toContain("so far, more");
    model.kernel({ type: "delta", seq: 10, turn: "t3", text: "lost" });
    expect(lastSent()).toEqual({ type: "sync", have: 0, last: null });
  });

  it("takes deltas in their list form", async () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "q", text: "", tool_calls: [] });
    model.kernel(["delta", 2, "t1", "list "]);
    model.kernel(["delta", 3, "t1", "form"]);
    await until(() => !!$('[data-testid="message-assistant"]')?.textContent?.includes("list form"));
    expect($('[data-testid="message-assistant"]')?.textContent).toContain("list form");
  });

  it("catches the transcript up from a sync reply, after what it has", () => {
    model.state.messages = [message("t1", "user", "a"), message("t1", "assistant", "b")];
    model.kernel({
      type: "sync",
      seq: 4,
      live: [],
      base: 2,
      messages: [message("t2", "user", "c"), message("t2", "assistant", "d")],
    });
    expect(model.state.messages.map((m) => m.id)).toEqual(["t1-user", "t1", "t2-user", "t2"]);
    expect($$('[data-testid="message-assistant"]').map((e) => e.textContent)).toEqual([
      expect.stringContaining("b"),
      expect.stringContaining("d"),
    ]);
    // A reply meant for a view that has more than this one: this view asks for its own.
    model.sent = [];
    model.kernel({ type: "sync", seq: 5, live: [], base: 9, messages: [] });
    expect(model.state.messages).toHaveLength(4);
    expect(lastSent()).toEqual({ type: "sync", have: 4, last: "t2" });
  });

  it("commits a turn once, with two views of one model and a racing state update", () => {
    const second = new ChatView(model as never);
    try {
      model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
      model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "q", text: "", tool_calls: [] });
      model.kernel(["delta", 2, "t1", "an"]);
      // A state update (a view opened elsewhere) already holds the turn when its end arrives.
      model.set("messages", [message("t1", "user", "q"), message("t1", "assistant", "answer")]);
      model.kernel(turnEnd(3, "t1", "swer", "q"));
      expect(model.state.messages).toHaveLength(2);
      model.kernel(turnEnd(4, "t2", "sent", "other")); // never started live: comes whole
      expect(model.state.messages.map((m) => m.text)).toEqual(["q", "answer", "other", "sent"]);
      for (const root of [view.root, second.root]) {
        expect(root.querySelectorAll('[data-testid="message-assistant"]')).toHaveLength(2);
      }
    } finally {
      second.dispose();
    }
  });

  it("keeps a long reply's live pieces when it is committed, instead of rendering it again", async () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "q", text: "", tool_calls: [] });
    const text = "word ".repeat(2000);
    model.kernel(["delta", 2, "t1", text.slice(0, 6000)]);
    await until(() => $$('[data-testid="message-assistant"] .nbchat-cut').length > 0);
    const live = $('[data-testid="message-assistant"] .nbchat-markdown');
    model.kernel(turnEnd(3, "t1", text.slice(6000), "q"));
    const committed = $('[data-testid="message-assistant"]')!;
    expect(committed.dataset.status).toBe("complete");
    expect(committed.querySelector(".nbchat-markdown")).toBe(live);
    expect(committed.querySelector(".nbchat-markdown")!.textContent!.replace(/\s+/g, "")).toBe(text.replace(/\s+/g, ""));
    expect($$('[data-testid="message-assistant"]')).toHaveLength(1);
  });

  it("asks for a sync when a message is missing, and commits a turn that never streamed whole", () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.sent = [];
    model.kernel(turnEnd(2, "t1", "tail", "q")); // seq 1 never came
    expect(model.state.messages).toHaveLength(0);
    expect(lastSent()).toEqual({ type: "sync", have: 0, last: null });
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.kernel(turnEnd(1, "t1", "whole reply", "q"));
    expect(model.state.messages.map((m) => m.text)).toEqual(["q", "whole reply"]);
  });

  it("streams reasoning into a collapsed Thinking box and tool arguments as they grow", async () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "q", text: "", reasoning: "", tool_calls: [] });
    model.kernel({ type: "delta", seq: 2, turn: "t1", text: "", reasoning: "Let me " });
    model.kernel({ type: "delta", seq: 3, turn: "t1", text: "", reasoning: "think." });
    await until(() => $('[data-testid="reasoning"]')?.textContent?.includes("Let me think.") ?? false);
    const box = $('[data-testid="reasoning"]') as HTMLDetailsElement;
    expect(box.open).toBe(false);
    expect(box.querySelector("summary")?.textContent).toBe("Thinking");
    const call = { name: "calculator", args: '{"expr', id: "c1", result: null, done: false };
    model.kernel({ type: "delta", seq: 4, turn: "t1", text: "", tools: [{ index: 0, ...call }] });
    await until(() => $(".nbchat-tool-args")?.textContent === '{"expr');
    model.kernel({ type: "delta", seq: 5, turn: "t1", text: "", tools: [{ index: 0, ...call, args: '{"expression": "1+1"}' }] });
    await until(() => $(".nbchat-tool-args")?.textContent === '{"expression": "1+1"}');
    expect($(".nbchat-tool-args")?.textContent).toBe('{"expression": "1+1"}');
    expect($$('[data-testid="reasoning"]')).toHaveLength(1);
  });

  it("renders tool cards pending, then done with a collapsible result", async () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "calc", text: "", tool_calls: [] });
    const call = { name: "calculator", args: { expression: "2+3*4" }, id: null, result: null, done: false };
    model.kernel({ type: "delta", seq: 2, turn: "t1", text: "", tools: [{ index: 0, ...call }] });
    await until(() => $('[data-testid="tool-card"]') !== null);
    let card = $('[data-testid="tool-card"]')!;
    expect(card.dataset.state).toBe("pending");
    expect(card.textContent).toContain("calculator");
    expect(card.querySelector(".nbchat-tool-args")?.textContent).toBe('{\n  "expression": "2+3*4"\n}');

    model.kernel({ type: "delta", seq: 3, turn: "t1", text: "", tools: [{ index: 0, ...call, result: "x".repeat(5000), done: true }] });
    await until(() => $('[data-testid="tool-card"]')?.dataset.state === "done");
    card = $('[data-testid="tool-card"]')!;
    expect(card.dataset.state).toBe("done");
    const result = card.querySelector("details pre")!;
    expect(result.textContent!.length).toBeLessThan(2100);
    (card.querySelector('button[aria-label="Show more"]') as HTMLButtonElement).click();
    expect(result.textContent).toBe("x".repeat(5000));
  });

  it("shows errors with the server's message and a Retry that asks the kernel", () => {
    model.set("messages", [
      message("t2", "user", "/fail"),
      message("t2", "assistant", "partial", { status: "error", error: { code: "server", message: "The model crashed" } }),
    ]);
    const error = $('[data-testid="error"]')!;
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("The model crashed");
    (error.querySelector('button[aria-label="Retry"]') as HTMLButtonElement).click();
    expect(lastSent()).toEqual({ type: "regenerate", turn: "t2" });
    expect($('button[aria-label="Regenerate"]')).toBeNull(); // a failed reply has Retry only
  });

  it("offers Retry on the last turn only (only the last turn can be replaced)", () => {
    const failed = { status: "error", error: { code: "server", message: "crashed" } } as const;
    model.set("messages", [
      message("t1", "user", "/fail"),
      message("t1", "assistant", "", failed),
      message("t2", "user", "/fail again"),
      message("t2", "assistant", "", failed),
    ]);
    const shown = () => $$('button[aria-label="Retry"]').filter((b) => !b.hidden).map((b) => b.dataset.turn);
    expect(shown()).toEqual(["t2"]);
    model.set("messages", [...model.get("messages"), message("t3", "user", "later"), message("t3", "assistant", "ok")]);
    expect(shown()).toEqual([]);
    model.set("status", "streaming");
    expect(shown()).toEqual([]);
  });

  it("offers Regenerate on the last reply and Edit on the last message, not while streaming", () => {
    model.set("messages", [
      message("t1", "user", "one"),
      message("t1", "assistant", "1"),
      message("t2", "user", "two"),
      message("t2", "assistant", "2"),
    ]);
    expect($$('button[aria-label="Regenerate"]').map((b) => b.dataset.turn)).toEqual(["t2"]);
    expect($$('button[aria-label="Edit message"]').map((b) => b.dataset.turn)).toEqual(["t2"]);
    $('button[aria-label="Regenerate"]')!.click();
    expect(lastSent()).toEqual({ type: "regenerate", turn: "t2" });

    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    $('button[aria-label="Edit message"]')!.click();
    expect(input.value).toBe("two");
    expect($('[data-testid="edit-note"]')!.hidden).toBe(false);
    input.value = "two, edited";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(lastSent()).toEqual({ type: "regenerate", turn: "t2", text: "two, edited" });
    expect($('[data-testid="edit-note"]')!.hidden).toBe(true);

    model.set("status", "streaming");
    expect($$('button[aria-label="Regenerate"]')).toHaveLength(0);
    expect($$('button[aria-label="Edit message"]')).toHaveLength(0);
  });

  it("cancels an edit with Escape", () => {
    model.set("messages", [message("t1", "user", "one"), message("t1", "assistant", "1")]);
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    $('button[aria-label="Edit message"]')!.click();
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(input.value).toBe("");
    expect($('[data-testid="edit-note"]')!.hidden).toBe(true);
    input.value = "new";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(lastSent()).toEqual({ type: "send", text: "new" });
  });

  it("recalls earlier prompts with ArrowUp and ArrowDown in an empty input", () => {
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    const key = (k: string) => input.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
    for (const text of ["first", "second"]) {
      input.value = text;
      key("Enter");
    }
    key("ArrowUp");
    expect(input.value).toBe("second");
    key("ArrowUp");
    expect(input.value).toBe("first");
    key("ArrowUp");
    expect(input.value).toBe("first"); // the oldest stays
    key("ArrowDown");
    expect(input.value).toBe("second");
    key("ArrowDown");
    expect(input.value).toBe("");
    input.value = "typing";
    expect(key("ArrowUp")).toBe(true); // not empty: the caret moves, nothing is recalled
    expect(input.value).toBe("typing");
  });

  it("moves the caret through a recalled prompt of several lines before recalling an older one", () => {
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    const key = (k: string) => input.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
    for (const text of ["older", "line one\nline two"]) {
      input.value = text;
      key("Enter");
    }
    key("ArrowUp");
    expect(input.value).toBe("line one\nline two");
    expect(input.selectionStart).toBe(input.value.length);
    expect(key("ArrowUp")).toBe(true); // not prevented: the caret goes up a line
    expect(input.value).toBe("line one\nline two");
    input.setSelectionRange(3, 3); // where the browser put it, on the first line
    key("ArrowUp");
    expect(input.value).toBe("older");
  });

  it("carries the draft, caret, focus, edit and prompt history over to a new view of the model", () => {
    model.set("messages", [message("t1", "user", "one"), message("t1", "assistant", "1")]);
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    $('button[aria-label="Edit message"]')!.click();
    input.value = "one, edited";
    input.setSelectionRange(3, 5);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    expect(document.activeElement).toBe(input);
    const reply = $('[data-testid="message-assistant"]');
    // The host renders the updated output with a new view; the old one leaves the page.
    view.dispose();
    view.root.remove();
    view = new ChatView(proxy(model) as never);
    document.body.append(view.root);
    expect($('[data-testid="message-assistant"]')).toBe(reply); // taken over, not rendered again
    expect($$('button[aria-label="Edit message"]')).toHaveLength(1);
    const again = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    expect(again.value).toBe("one, edited");
    expect([again.selectionStart, again.selectionEnd]).toEqual([3, 5]);
    expect($('[data-testid="edit-note"]')!.hidden).toBe(false);
    again.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(lastSent()).toEqual({ type: "regenerate", turn: "t1", text: "one, edited" });
  });

  it("recalls prompts after New in a new view, though the transcript is empty", () => {
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    input.value = "remember me";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    model.set("messages", []); // New: the kernel clears the transcript and updates the output
    view.dispose();
    view.root.remove();
    view = new ChatView(proxy(model) as never);
    document.body.append(view.root);
    const again = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    again.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowUp", bubbles: true, cancelable: true }));
    expect(again.value).toBe("remember me");
  });

  it("keeps an edit's text and says why when another turn ends before it is sent", () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.set("messages", [message("t1", "user", "one"), message("t1", "assistant", "1")]);
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    $('button[aria-label="Edit message"]')!.click();
    input.value = "one, edited";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    model.kernel(turnEnd(1, "t2", "reply", "from a cell"));
    expect(input.value).toBe("one, edited");
    expect($('[data-testid="edit-note"]')!.hidden).toBe(true);
    expect($('[data-testid="notice"]')!.textContent).toContain("only the last turn can be replaced");
    // The turn's end updates the output: the new view still has the text and the reason.
    view.dispose();
    view.root.remove();
    view = new ChatView(proxy(model) as never);
    document.body.append(view.root);
    const again = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    expect(again.value).toBe("one, edited");
    expect($('[data-testid="notice"]')!.textContent).toContain("only the last turn can be replaced");
    expect($('[data-testid="edit-note"]')!.hidden).toBe(true);
    again.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(lastSent()).toEqual({ type: "send", text: "one, edited" });
  });

  it("shows what to do and who answers while empty", () => {
    const empty = $('[data-testid="empty-state"]')!;
    expect(empty.hidden).toBe(false);
    expect(empty.textContent).toContain("Type a message");
    expect(empty.textContent).toContain("chats · model demo · http://127.0.0.1:3026");
    model.set("messages", [message("t1", "user", "one"), message("t1", "assistant", "1")]);
    expect(empty.hidden).toBe(true);
    model.set("messages", []);
    expect(empty.hidden).toBe(false);
  });

  it("shows text and tool cards in the order they streamed", async () => {
    const call = { name: "calculator", args: {}, id: null, result: "14", done: true, offset: 6 };
    model.set("messages", [message("t1", "user", "calc"), message("t1", "assistant", "Let me. It is 14.", { tool_calls: [call] })]);
    const order = () =>
      Array.from($('[data-testid="message-assistant"]')!.querySelectorAll(".nbchat-markdown, [data-testid=tool-card]")).map((n) =>
        n.classList.contains("nbchat-markdown") ? `text:${n.textContent!.trim()}` : "tool",
      );
    expect(order()).toEqual(["text:Let me", "tool", "text:. It is 14."]);

    model.kernel({ type: "sync", seq: 0, live: [], base: 2, messages: [] }); // the view has both
    model.kernel({ type: "turn_start", seq: 1, turn: "t2", user: "again", text: "Let me", tool_calls: [] });
    model.kernel({ type: "delta", seq: 2, turn: "t2", text: "", tools: [{ index: 0, ...call, done: false }] });
    model.kernel({ type: "delta", seq: 3, turn: "t2", text: " see" });
    await until(() => $$('[data-testid="message-assistant"]')[1]?.textContent?.includes("see") ?? false);
    const live = $$('[data-testid="message-assistant"]')[1];
    const parts = Array.from(live.querySelectorAll(".nbchat-markdown, [data-testid=tool-card]")).map((n) => n.textContent!.trim());
    expect(parts[0]).toBe("Let me");
    expect(parts[1]).toContain("calculator");
    expect(parts[2]).toBe("see");
  });

  it("sends on Enter, keeps Shift+Enter for new lines, stops on Escape while streaming", () => {
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    input.value = "line one";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", shiftKey: true, bubbles: true }));
    expect(model.sent.filter((m) => m.type === "send")).toEqual([]);
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(lastSent()).toEqual({ type: "send", text: "line one" });
    expect(input.value).toBe("");

    input.value = "   ";
    ($('button[aria-label="Send"]') as HTMLButtonElement).click();
    expect(model.sent.filter((m) => m.type === "send")).toHaveLength(1);

    model.set("status", "streaming");
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(lastSent()).toEqual({ type: "stop" });
    ($('button[aria-label="Stop"]') as HTMLButtonElement).click();
    expect(lastSent()).toEqual({ type: "stop" });
  });

  it("keeps its keys from the notebook's shortcuts", () => {
    const seen: string[] = [];
    const listener = (event: KeyboardEvent) => seen.push(event.key);
    document.addEventListener("keydown", listener);
    const input = $('textarea[aria-label="Message"]') as HTMLTextAreaElement;
    for (const key of ["a", "Enter"]) input.dispatchEvent(new KeyboardEvent("keydown", { key, shiftKey: true, bubbles: true }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true }));
    $('button[aria-label="New conversation"]')!.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "s", ctrlKey: true, bubbles: true }));
    document.removeEventListener("keydown", listener);
    expect(seen).toEqual(["Escape", "s"]); // Escape and Ctrl+S (save) still reach JupyterLab
  });

  it("starts a new conversation and clears the panel", () => {
    model.set("messages", [message("t1", "user", "Hi"), message("t1", "assistant", "Hello")]);
    ($('button[aria-label="New conversation"]') as HTMLButtonElement).click();
    expect(lastSent()).toEqual({ type: "new" });
    model.set("messages", []);
    expect($$('[data-testid^="message-"]')).toHaveLength(0);
  });

  it("loads remote images only after the user allows them", () => {
    model.set("messages", [message("t1", "assistant", "![plot](https://example.com/p.png)")]);
    expect($("img")).toBeNull();
    expect($('[data-testid="blocked-image"]')).not.toBeNull();
    const toggle = $('input[aria-label="Load remote images"]') as HTMLInputElement;
    toggle.click();
    expect(model.state.allow_remote_images).toBe(true);
    expect(model.saved).toBe(1);
    expect($("img")?.getAttribute("src")).toBe("https://example.com/p.png");
  });

  it("copies a code block's text", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    model.set("messages", [message("t1", "assistant", "```python\nprint('hi')\n```")]);
    ($('button[aria-label="Copy code"]') as HTMLButtonElement).click();
    await until(() => $('button[aria-label="Copy code"]')?.textContent === "Copied");
    expect(writeText).toHaveBeenCalledWith("print('hi')");
    expect($('button[aria-label="Copy code"]')?.textContent).toBe("Copied");
  });

  it("renders XSS from the model inert in the transcript", () => {
    model.set("messages", [message("t1", "assistant", '<img src=x onerror="alert(1)"> [x](javascript:alert(1)) <script>alert(2)</script>')]);
    const body = $('[data-testid="message-assistant"]')!;
    expect(body.querySelector("script, img, [onerror]")).toBeNull();
    expect(body.querySelector("a")?.hasAttribute("href")).toBe(false);
  });

  it("shows a saved transcript when no kernel answers", () => {
    const orphan = new FakeModel();
    orphan.send = () => {
      throw new Error("no comm");
    };
    orphan.state.messages = [message("t1", "user", "saved question"), message("t1", "assistant", "saved answer")];
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const saved = new ChatView(orphan as never);
    expect(saved.root.querySelector('[data-testid="message-assistant"]')?.textContent).toContain("saved answer");
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
    saved.dispose();
  });

  it("ends a streaming reply as interrupted, with its text, when the kernel goes away", async () => {
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    model.set("status", "streaming");
    model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "Tell me", text: "", tool_calls: [] });
    model.kernel(["delta", 2, "t1", "Half an ans"]);
    model.emit("comm_live_update"); // the widget manager: the kernel restarted
    const reply = $('[data-testid="message-assistant"]')!;
    expect(reply.dataset.status).toBe("interrupted");
    expect(reply.textContent).toContain("Half an ans");
    expect(reply.querySelector('[data-testid="streaming"]')).toBeNull();
    expect(reply.querySelector('[data-testid="error"]')?.textContent).toContain("Re-run the cell");
    expect(view.root.dataset.status).toBe("disconnected");
    expect($('[data-testid="notice"]')?.textContent).toContain("Re-run the cell");
    expect($('button[aria-label="Stop"]')?.hidden).toBe(true);
    for (const control of $$("textarea, button.nbchat-send, button.nbchat-new, select")) {
      expect((control as HTMLButtonElement).disabled).toBe(true);
    }
    model.kernel(["delta", 3, "t1", "wer"]); // nothing more is taken
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reply.textContent).not.toContain("Half an answer");
  });

  it("ends a streaming reply when JupyterLab's kernel connection says the kernel is dead", async () => {
    const slots: Array<(sender: unknown, status: string) => void> = [];
    const statusChanged = {
      connect: (slot: (sender: unknown, status: string) => void) => slots.push(slot) > 0,
      disconnect: (slot: (sender: unknown, status: string) => void) => slots.splice(slots.indexOf(slot), 1).length > 0,
    };
    const other = new FakeModel();
    (other as unknown as { widget_manager: unknown }).widget_manager = { kernel: { statusChanged } };
    const watched = new ChatView(other as never);
    try {
      other.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
      other.set("status", "streaming");
      other.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "q", text: "So far", tool_calls: [] });
      for (const slot of [...slots]) slot(null, "busy");
      expect(watched.root.dataset.status).toBe("streaming");
      for (const slot of [...slots]) slot(null, "dead"); // shut down
      expect(watched.root.dataset.status).toBe("disconnected");
      expect(watched.root.querySelector('[data-testid="message-assistant"]')?.getAttribute("data-status")).toBe("interrupted");
    } finally {
      watched.dispose();
    }
    expect(slots).toHaveLength(0); // disposing stops watching
  });

  it("is disconnected from the start when its model never had a comm (a saved notebook on a new kernel)", async () => {
    for (const [commLive, expected] of [[false, "disconnected"], [true, "idle"]] as const) {
      const restored = new FakeModel();
      const asked: string[] = [];
      (restored as unknown as { widget_manager: unknown }).widget_manager = {
        get_model: async (id: string) => (asked.push(id), { comm_live: commLive }),
      };
      const view = new ChatView(restored as never);
      try {
        await new Promise((resolve) => setTimeout(resolve, 0));
        expect(asked).toEqual([restored.state.panel_id]);
        expect(view.root.dataset.status).toBe(expected);
      } finally {
        view.dispose();
      }
    }
  });

  it("saves an export only in the view that asked for it, once", () => {
    const second = new ChatView(model as never);
    const saved: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
    const createObjectURL = URL.createObjectURL;
    const revokeObjectURL = URL.revokeObjectURL;
    URL.createObjectURL = () => "blob:test";
    URL.revokeObjectURL = () => undefined;
    try {
      second.root.querySelector<HTMLButtonElement>('button[aria-label="Download transcript"]')!.click();
      const request = lastSent();
      expect(request).toMatchObject({ type: "export", format: "markdown" });
      const reply = { type: "export", filename: "chat.md", mime: "text/markdown", text: "# Chat" };
      model.kernel({ ...reply, request: "someone else's" } as never);
      expect(saved).toEqual([]);
      model.kernel({ ...reply, request: (request as { request: string }).request } as never);
      model.kernel({ ...reply, request: (request as { request: string }).request } as never);
      expect(saved).toEqual(["chat.md"]); // every view got it; the one that asked saved it, once
    } finally {
      click.mockRestore();
      URL.createObjectURL = createObjectURL;
      URL.revokeObjectURL = revokeObjectURL;
      second.dispose();
    }
  });

  it("stops listening once its output node was emptied without removing it", () => {
    const output = document.createElement("div");
    const host = document.createElement("div");
    output.append(host);
    document.body.append(output);
    const before = model.listeners();
    const left = new ChatView(model as never, host);
    host.append(left.root);
    model.kernel({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    expect(model.listeners()).toBeGreaterThan(before);
    // JupyterLab re-renders an updated output: a new view, the old host dropped from the node.
    output.textContent = "Loading widget...";
    model.kernel({ type: "turn_start", seq: 1, turn: "t1", user: "q", text: "", tool_calls: [] });
    expect(model.listeners()).toBe(before);
    output.remove();
  });

  it("removes its listeners when disposed", () => {
    expect(model.listeners()).toBeGreaterThan(0);
    view.dispose();
    expect(model.listeners()).toBe(0);
  });
});
