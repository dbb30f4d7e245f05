import { describe, expect, it } from "vitest";
import { PromptHistory } from "../src/history";

describe("PromptHistory", () => {
  it("recalls prompts newest first, and comes back to an empty box", () => {
    const history = new PromptHistory();
    history.add("one");
    history.add("two");
    expect(history.move("up", "")).toBe("two");
    expect(history.move("up", "two")).toBe("one");
    expect(history.move("up", "one")).toBeNull();
    expect(history.move("down", "one")).toBe("two");
    expect(history.move("down", "two")).toBe("");
  });

  it("adds a turn's message once, however often the kernel reports the turn", () => {
    const history = new PromptHistory();
    history.addTurn("t1", "first");
    history.addTurn("t2", "second");
    history.addTurn("t1", "first"); // a resync after a reload reports both again
    history.addTurn("t2", "second");
    expect(history.size).toBe(2);
    expect(history.move("up", "")).toBe("second");
    expect(history.move("up", "second")).toBe("first");
  });

  it("keeps a prompt typed here once when its turn comes back from the kernel", () => {
    const history = new PromptHistory();
    history.add("typed");
    history.addTurn("t1", "typed");
    expect(history.size).toBe(1);
  });

  it("goes on browsing while turns are added", () => {
    const history = new PromptHistory();
    history.addTurn("t1", "first");
    history.addTurn("t2", "second");
    expect(history.move("up", "")).toBe("second");
    history.addTurn("t3", "from a cell");
    expect(history.move("up", "second")).toBe("first");
  });
  it("moves through a recalled prompt's lines before recalling another", () => {
    const history = new PromptHistory();
    history.add("old");
    history.add("a\nb\nc");
    history.add("new");
    expect(history.move("up", "")).toBe("new");
    const lines = history.move("up", "new");
    expect(lines).toBe("a\nb\nc");
    expect(history.move("up", "a\nb\nc", 5)).toBeNull(); // caret on the last line: move up
    expect(history.move("up", "a\nb\nc", 3)).toBeNull(); // on the middle line
    expect(history.move("up", "a\nb\nc", 1)).toBe("old"); // on the first line: recall
    expect(history.move("down", "old", 3)).toBe("a\nb\nc");
    expect(history.move("down", "a\nb\nc", 0)).toBeNull(); // first line: move down
    expect(history.move("down", "a\nb\nc", 4)).toBe("new"); // last line: forward
  });
});
