import { afterEach, describe, expect, it } from "vitest";
import { SUPPRESS, keepKeys } from "../src/keys";

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  document.body.replaceChildren();
});

/** What a host that handles shortcuts in the capture phase (Notebook 7) sees for one key. */
function press(target: HTMLElement, init: KeyboardEventInit): { suppressed: boolean; bubbledOut: boolean } {
  const root = target.closest(".root") as HTMLElement;
  let suppressed = false;
  let bubbledOut = false;
  const capture = () => (suppressed = root.hasAttribute(SUPPRESS));
  const bubble = () => (bubbledOut = true);
  document.addEventListener("keydown", capture, true);
  document.addEventListener("keydown", bubble);
  target.dispatchEvent(new KeyboardEvent("keydown", { bubbles: true, ...init }));
  document.removeEventListener("keydown", capture, true);
  document.removeEventListener("keydown", bubble);
  return { suppressed, bubbledOut };
}

describe("keepKeys", () => {
  it("keeps typing keys from host shortcuts in both phases; lets Escape and Ctrl+S through", async () => {
    const root = Object.assign(document.createElement("div"), { className: "root" });
    const input = document.createElement("textarea");
    root.append(input);
    document.body.append(root);
    stops.push(keepKeys(root));

    expect(press(input, { key: "Enter", shiftKey: true })).toEqual({ suppressed: true, bubbledOut: false });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(root.hasAttribute(SUPPRESS)).toBe(false); // only for that key
    expect(press(input, { key: "s", ctrlKey: true })).toEqual({ suppressed: false, bubbledOut: true });
    expect(press(input, { key: "Escape" })).toEqual({ suppressed: false, bubbledOut: true });

    const outside = Object.assign(document.createElement("div"), { className: "root" });
    const other = document.createElement("textarea");
    outside.append(other);
    document.body.append(outside);
    expect(press(other, { key: "Enter", shiftKey: true })).toEqual({ suppressed: false, bubbledOut: true });
  });
});
