import { beforeEach, describe, expect, it } from "vitest";
import { attachedContext, notice, showNotice } from "../src/context";
import { MAX_OPTIONS, Mentions } from "../src/mentions";

const VARIABLES = [
  { name: "sales", description: "DataFrame 6x3" },
  { name: "sales_2024", description: "DataFrame 12x3" },
  { name: "grid", description: "ndarray 3x4" },
  { name: "presales", description: "list[4]" },
];

let input: HTMLTextAreaElement;
let mentions: Mentions;
let requests: number;

function type(text: string): void {
  input.value += text;
  input.setSelectionRange(input.value.length, input.value.length);
  input.dispatchEvent(new Event("input"));
}

function key(name: string): boolean {
  return mentions.onKey(new KeyboardEvent("keydown", { key: name, cancelable: true }));
}

const options = () => Array.from(mentions.menu.querySelectorAll<HTMLElement>('[data-testid="mention-option"]'));
const chips = () => Array.from(mentions.chips.querySelectorAll<HTMLElement>('[data-testid="chip"]'));

beforeEach(() => {
  document.body.replaceChildren();
  input = document.createElement("textarea");
  requests = 0;
  mentions = new Mentions(input, () => (requests += 1));
  document.body.append(input, mentions.menu, mentions.chips);
});

describe("@ completion", () => {
  it("asks the kernel once per @ and filters as you type, prefix matches first", () => {
    type("compare @");
    expect(requests).toBe(1);
    expect(mentions.menu.hidden).toBe(false);
    expect(mentions.menu.textContent).toContain("Loading variables");
    mentions.setVariables(VARIABLES);
    expect(options().map((o) => o.dataset.name)).toEqual(["sales", "sales_2024", "grid", "presales"]);
    type("sal");
    expect(requests).toBe(1);
    expect(options().map((o) => o.dataset.name)).toEqual(["sales", "sales_2024", "presales"]);
    expect(options()[0].textContent).toBe("salesDataFrame 6x3");
    type("zz");
    expect(options()).toHaveLength(0);
    expect(mentions.menu.textContent).toBe("No matching variables");
  });

  it("only opens after a space or at the start, and closes on Escape", () => {
    type("mail me@");
    expect(mentions.menu.hidden).toBe(true);
    expect(requests).toBe(0);
    type(" @g");
    expect(mentions.menu.hidden).toBe(false);
    expect(key("Escape")).toBe(true);
    expect(mentions.menu.hidden).toBe(true);
    expect(key("Enter")).toBe(false); // a closed menu leaves Enter to the input (send)
  });

  it("chooses with the arrow keys and Enter, replacing @query by a chip", () => {
    type("look at @sa");
    mentions.setVariables(VARIABLES);
    expect(input.getAttribute("aria-controls")).toBe(mentions.menu.id);
    expect(key("ArrowDown")).toBe(true);
    expect(options()[1].getAttribute("aria-selected")).toBe("true");
    expect(input.getAttribute("aria-activedescendant")).toBe(options()[1].id);
    expect(key("Enter")).toBe(true);
    expect(input.value).toBe("look at ");
    expect(chips().map((c) => c.dataset.name)).toEqual(["sales_2024"]);
    expect(mentions.names()).toEqual(["sales_2024"]);
    expect(mentions.menu.hidden).toBe(true);
    expect(input.hasAttribute("aria-activedescendant")).toBe(false);
  });

  it("chooses by click, keeps each variable once, and removes a chip with its button", () => {
    type("@");
    mentions.setVariables(VARIABLES);
    options()[2].click();
    type("and @");
    mentions.setVariables(VARIABLES);
    options()[2].click();
    type("@");
    mentions.setVariables(VARIABLES);
    options()[0].click();
    expect(mentions.names()).toEqual(["grid", "sales"]);
    expect(input.value).toBe("and ");
    chips()[0].querySelector<HTMLButtonElement>('button[aria-label="Remove grid"]')!.click();
    expect(mentions.names()).toEqual(["sales"]);
    mentions.clear();
    expect(mentions.names()).toEqual([]);
    expect(mentions.chips.hidden).toBe(true);
  });

  it("shows at most MAX_OPTIONS variables", () => {
    type("@v");
    mentions.setVariables(Array.from({ length: 50 }, (_, i) => ({ name: `v${i}`, description: "int" })));
    expect(options()).toHaveLength(MAX_OPTIONS);
  });
});

describe("attached context and notices", () => {
  it("renders attachments collapsed, as text only", () => {
    const details = attachedContext([
      { name: "sales", text: "| a |\n|---|\n| <img src=x onerror=alert(1)> |" },
      { name: "grid", text: "numpy.ndarray: shape (3, 4)" },
    ]);
    expect(details.tagName).toBe("DETAILS");
    expect(details.hasAttribute("open")).toBe(false);
    expect(details.querySelector("summary")!.textContent).toBe("Attached: sales, grid");
    expect(details.querySelectorAll('[data-testid="attached-item"]')).toHaveLength(2);
    expect(details.querySelector("img")).toBeNull();
    expect(details.querySelector("pre")!.textContent).toContain("<img src=x");
  });

  it("shows and hides a notice", () => {
    const box = notice();
    expect(box.hidden).toBe(true);
    showNotice(box, "over the limit");
    expect([box.hidden, box.textContent, box.getAttribute("role")]).toEqual([false, "over the limit", "alert"]);
    showNotice(box, null);
    expect(box.hidden).toBe(true);
  });
});
