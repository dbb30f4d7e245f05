import { beforeEach, describe, expect, it } from "vitest";
import { Follower } from "../src/follow";

/** A scroller with layout numbers jsdom does not compute: content height and viewport height. */
function scroller(content: number, viewport = 100): HTMLElement & { content: number } {
  const node = document.createElement("div") as unknown as HTMLElement & { content: number };
  node.content = content;
  let top = 0;
  Object.defineProperty(node, "scrollHeight", { get: () => node.content });
  Object.defineProperty(node, "clientHeight", { get: () => viewport });
  Object.defineProperty(node, "scrollTop", {
    get: () => top,
    set: (value: number) => (top = Math.max(0, Math.min(value, node.content - viewport))),
  });
  return node;
}

function userScroll(node: HTMLElement, top: number): void {
  node.scrollTop = top;
  node.dispatchEvent(new Event("scroll"));
}

let box: ReturnType<typeof scroller>;
let jump: HTMLButtonElement;
let follower: Follower;

beforeEach(() => {
  box = scroller(1000);
  jump = document.createElement("button");
  follower = new Follower(box, jump, []);
});

describe("Follower", () => {
  it("opens at the newest content and follows growth while at the bottom", () => {
    follower.update();
    expect(box.scrollTop).toBe(900);
    box.content = 1500;
    follower.update();
    expect(box.scrollTop).toBe(1400);
    expect(jump.hidden).toBe(true);
  });

  it("stops following when the reader scrolls up, and shows the jump control", () => {
    follower.update();
    userScroll(box, 500);
    expect(follower.following).toBe(false);
    expect(jump.hidden).toBe(false);
    box.content = 2000;
    follower.update();
    expect(box.scrollTop).toBe(500); // the reader's place is kept
  });

  it("resumes when the reader scrolls back to the bottom", () => {
    follower.update();
    userScroll(box, 100);
    box.content = 1200;
    follower.update();
    userScroll(box, 1090); // within the slack of the end
    expect(follower.following).toBe(true);
    expect(jump.hidden).toBe(true);
    box.content = 1600;
    follower.update();
    expect(box.scrollTop).toBe(1500);
  });

  it("jumps to the latest on click, and on resume() (a sent message)", () => {
    follower.update();
    userScroll(box, 0);
    jump.click();
    expect(box.scrollTop).toBe(900);
    expect(follower.following).toBe(true);
    userScroll(box, 10);
    box.content = 3000;
    follower.resume();
    expect(box.scrollTop).toBe(2900);
    expect(jump.hidden).toBe(true);
  });

  it("keeps following when content scrolls it down (no upward move)", () => {
    follower.update();
    box.content = 5000; // grew a lot before the next update: not at the bottom, but not moved up
    box.dispatchEvent(new Event("scroll"));
    expect(follower.following).toBe(true);
  });
});
