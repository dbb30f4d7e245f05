import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../src/markdown";

function render(text: string): HTMLElement {
  const div = document.createElement("div");
  div.append(renderMarkdown(text, { allowRemoteImages: false }));
  return div;
}

describe("math", () => {
  it("typesets inline and display TeX with KaTeX", () => {
    const div = render("Euler: $e^{i\\pi} + 1 = 0$.\n\n$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$\n\nAlso \\(a+b\\).");
    const math = div.querySelectorAll(".nbchat-math");
    expect(math).toHaveLength(3);
    expect(math[0].querySelector(".katex")).not.toBeNull();
    expect(math[0].getAttribute("aria-label")).toBe("e^{i\\pi} + 1 = 0");
    expect(math[1].classList.contains("nbchat-math-display")).toBe(true);
    expect(math[1].querySelector(".katex-display, .katex")).not.toBeNull();
    expect(math[2].getAttribute("aria-label")).toBe("a+b");
  });

  it("leaves prices, code and unclosed dollars as text", () => {
    const div = render("It costs $5 and $10.\n\n`$x$` and\n\n```\n$y$\n```\n\nhalf $open");
    expect(div.querySelectorAll(".nbchat-math")).toHaveLength(0);
    expect(div.textContent).toContain("It costs $5 and $10.");
    expect(div.querySelector("code")?.textContent).toBe("$x$");
  });

  it("keeps TeX from linking, loading or styling beyond lengths and colours", () => {
    const div = render(
      "$\\href{javascript:alert(1)}{x}$ $\\url{https://example.com}$ $\\includegraphics{https://example.com/a.png}$ " +
        "$\\htmlStyle{background:url(https://example.com/t)}{y}$ $\\color{red}{z}$ $<img src=x onerror=alert(1)>$",
    );
    expect(div.querySelectorAll("a, img, script, [onerror]")).toHaveLength(0);
    for (const node of Array.from(div.querySelectorAll<HTMLElement>("[style]"))) {
      expect(node.getAttribute("style")).not.toMatch(/url|\(|javascript/i);
    }
    expect(div.querySelector('[style*="color"]')).not.toBeNull(); // \color still works
  });
});
