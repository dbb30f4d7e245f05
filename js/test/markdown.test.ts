import { describe, expect, it } from "vitest";
import { IncrementalMarkdown, PIECE_LIMIT, renderBlocks } from "../src/incremental";
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

  const blocks = (node: Node) => {
    const div = document.createElement("div");
    div.append(node);
    return Array.from(div.children).map((c) => c.textContent ?? "");
  };

  it("cuts one over-long paragraph into pieces, the same live and finished", () => {
    const words = Array.from({ length: 3000 }, (_, i) => `word${i}`).join(" ");
    const inc = new IncrementalMarkdown(opts);
    for (let i = 0; i < words.length; i += 97) {
      inc.update(words.slice(0, i));
      // The open tail, re-rendered every frame, stays bounded.
      expect(inc.element.lastElementChild!.textContent!.length).toBeLessThanOrEqual(PIECE_LIMIT);
    }
    inc.update(words);
    expect(inc.cut).toBe(true);
    expect(inc.frozenBlocks).toBeGreaterThan(words.length / PIECE_LIMIT - 1);
    const live = Array.from(inc.element.children).map((c) => c.textContent ?? "");
    expect(live.join("").replace(/\n/g, "")).toBe(words);
    expect(live.slice(0, -1).every((piece) => /\d \n?$/.test(piece))).toBe(true); // cut at spaces
    expect(blocks(renderBlocks(words, opts)).filter(Boolean)).toEqual(live.filter(Boolean));
  });

  it("cuts a long code block at line breaks, each piece a code block", () => {
    const lines = Array.from({ length: 400 }, (_, i) => `x${i} = ${i}  # a line of code`);
    const text = `Intro\n\n\`\`\`python\n${lines.join("\n")}\n\`\`\`\n\nAfter`;
    const inc = new IncrementalMarkdown(opts);
    for (let i = 0; i < text.length; i += 151) inc.update(text.slice(0, i));
    inc.update(text);
    const codes = Array.from(inc.element.querySelectorAll("code.language-python"));
    expect(codes.length).toBeGreaterThan(3);
    expect(codes.map((c) => c.textContent).join("")).toBe(`${lines.join("\n")}\n`);
    expect(inc.element.lastElementChild?.textContent?.trim()).toBe("After");
    const finished = document.createElement("div");
    finished.append(renderBlocks(text, opts));
    expect(finished.querySelectorAll("code.language-python")).toHaveLength(codes.length);
  });

  it("never splits a character made of two UTF-16 units", () => {
    const text = "😀".repeat(PIECE_LIMIT);
    const inc = new IncrementalMarkdown(opts);
    inc.update(text);
    expect(inc.cut).toBe(true);
    for (const child of Array.from(inc.element.children)) {
      expect(child.textContent).toMatch(/^(?:😀)*\s*$/u);
    }
  });

  it("renders a finished message whole when no block is over-long", () => {
    const text = "[link][ref] in one block\n\n[ref]: https://example.com";
    expect(blocks(renderBlocks(text, opts))).toEqual(blocks(renderMarkdown(text, opts)));
    expect(blocks(renderBlocks(text, opts))[0]).toContain("link");
  });
});
