import { describe, expect, it } from "vitest";
import { IncrementalMarkdown } from "../src/incremental";
import { renderMarkdown } from "../src/markdown";

const opts = { allowRemoteImages: false };

function html(text: string): string {
  const div = document.createElement("div");
  div.append(renderMarkdown(text, opts));
  return div.innerHTML;
}

describe("renderMarkdown", () => {
  it("renders paragraphs, lists, emphasis and tables", () => {
    const out = html("Hello **world**\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
    expect(out).toContain("<strong>world</strong>");
    expect(out).toContain("<li>one</li>");
    expect(out).toContain("<td>1</td>");
  });

  it("highlights known languages and adds a Copy button per code block", () => {
    const div = document.createElement("div");
    div.append(renderMarkdown("```python\ndef f():\n    return 1\n```\n\n```\nplain\n```", opts));
    const blocks = div.querySelectorAll(".nbchat-code");
    expect(blocks).toHaveLength(2);
    expect(blocks[0].querySelector("code.language-python .hljs-keyword")?.textContent).toBe("def");
    expect(blocks[1].querySelector("code")?.textContent).toBe("plain\n");
    for (const block of Array.from(blocks)) {
      const button = block.querySelector("button")!;
      expect(button.getAttribute("aria-label")).toBe("Copy code");
      expect(button.dataset.testid).toBe("copy-code");
    }
  });

  it("shows raw HTML from the model as text", () => {
    const div = document.createElement("div");
    div.append(renderMarkdown("before <b>bold</b> after", opts));
    expect(div.querySelector("b")).toBeNull();
    expect(div.textContent).toContain("<b>bold</b>");
  });

  it("escapes code in unknown languages", () => {
    const div = document.createElement("div");
    div.append(renderMarkdown("```nosuchlang\n<script>alert(1)</script>\n```", opts));
    expect(div.querySelector("script")).toBeNull();
    expect(div.querySelector("code")?.textContent).toBe("<script>alert(1)</script>\n");
  });
});

describe("IncrementalMarkdown", () => {
  const reply = [
    "# Title\n\n",
    "First paragraph with *emphasis*.\n\n",
    "```python\nx = 1\n\ny = 2\n```\n\n",
    "1. one\n2. two\n\n",
    "Last paragraph, still growing",
  ].join("");

  it("ends up showing the same content as a full render, chunk by chunk", () => {
    const inc = new IncrementalMarkdown(opts);
    for (let i = 1; i <= reply.length; i += 7) inc.update(reply.slice(0, i));
    inc.update(reply);
    expect(inc.element.textContent).toBe(html(reply).replace(/<[^>]+>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
  });

  it("freezes finished paragraphs and never splits a code fence", () => {
    const inc = new IncrementalMarkdown(opts);
    for (let i = 1; i <= reply.length; i += 3) inc.update(reply.slice(0, i));
    inc.update(reply);
    expect(inc.frozenBlocks).toBeGreaterThanOrEqual(3);
    const code = inc.element.querySelector("code.language-python");
    expect(code?.textContent).toBe("x = 1\n\ny = 2\n");
  });

  it("re-renders only the tail while text grows", () => {
    const inc = new IncrementalMarkdown(opts);
    inc.update("Para one.\n\nPara two");
    const frozen = inc.element.firstElementChild;
    inc.update("Para one.\n\nPara two grows");
    expect(inc.element.firstElementChild).toBe(frozen);
    expect(inc.element.lastElementChild?.textContent?.trim()).toBe("Para two grows");
  });

  it("starts over when the text is replaced", () => {
    const inc = new IncrementalMarkdown(opts);
    inc.update("Para one.\n\nPara two");
    inc.update("Something else");
    expect(inc.frozenBlocks).toBe(0);
    expect(inc.element.textContent?.trim()).toBe("Something else");
  });
});
