import { describe, expect, it } from "vitest";
import { LiveTurns, SYNC_RETRY_MS } from "../src/live";

const start = (seq: number, turn = "t1") => ({ type: "turn_start" as const, seq, turn, user: "hi", text: "", tool_calls: [] });
const delta = (seq: number, text: string, turn = "t1") => ({ type: "delta" as const, seq, turn, text, tools: [] });

describe("LiveTurns", () => {
  it("asks for a sync before applying anything", () => {
    const live = new LiveTurns();
    expect(live.apply(start(1))).toBe("resync");
    expect(live.requestSync()).toBe(true);
    expect(live.requestSync()).toBe(false); // one request at a time
    expect(live.apply({ type: "sync", seq: 1, live: [{ turn: "t1", user: "hi", text: "ab", tool_calls: [] }], base: 0, messages: [] })).toBe("changed");
    expect(live.apply(delta(2, "cd"))).toBe("changed");
    expect(live.turns.get("t1")?.text).toBe("abcd");
  });

  it("asks again when a sync request goes unanswered", () => {
    const live = new LiveTurns();
    expect(live.requestSync(1000)).toBe(true);
    expect(live.requestSync(1000 + SYNC_RETRY_MS - 1)).toBe(false);
    expect(live.requestSync(1000 + SYNC_RETRY_MS)).toBe(true);
  });

  it("drops messages the sync already covered", () => {
    const live = new LiveTurns();
    live.apply({ type: "sync", seq: 5, live: [{ turn: "t1", user: "hi", text: "abc", tool_calls: [] }], base: 0, messages: [] });
    expect(live.apply(delta(5, "c"))).toBe("ignored");
    expect(live.turns.get("t1")?.text).toBe("abc");
  });

  it("detects a gap and resyncs", () => {
    const live = new LiveTurns();
    live.apply({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    live.apply(start(1));
    expect(live.apply(delta(3, "x"))).toBe("resync");
    expect(live.turns.get("t1")?.text).toBe("");
  });

  it("applies tool updates by index and forgets ended turns", () => {
    const live = new LiveTurns();
    live.apply({ type: "sync", seq: 0, live: [], base: 0, messages: [] });
    live.apply(start(1));
    const call = { name: "calculator", args: { expression: "1+1" }, id: null, result: null, done: false };
    live.apply({ type: "delta", seq: 2, turn: "t1", text: "", tools: [{ index: 0, ...call }] });
    live.apply({ type: "delta", seq: 3, turn: "t1", text: "", tools: [{ index: 0, ...call, result: "2", done: true }] });
    expect(live.turns.get("t1")?.tool_calls).toEqual([{ ...call, result: "2", done: true }]);
    const done = { ...call, result: "2", done: true };
    const asked = { id: "t1-user", turn: "t1", role: "user" as const, text: "hi", status: "complete" as const, tool_calls: [], usage: null, error: null };
    const entry = { id: "t1", turn: "t1", role: "assistant" as const, status: "complete" as const, tool_calls: [done], usage: null, error: null };
    live.apply({ type: "turn_end", seq: 4, turn: "t1", text: "2", user_entry: asked, entry });
    expect(live.turns.size).toBe(0);
    const [user, assistant] = live.finished!;
    expect(user).toMatchObject({ id: "t1-user", role: "user", text: "hi" });
    expect(assistant).toMatchObject({ id: "t1", role: "assistant", text: "2", tool_calls: [{ ...call, result: "2", done: true }] });
  });
});
