import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../src/markdown";
import { markBlockedImages, sanitize } from "../src/sanitize";
import { XSS_PAYLOADS } from "./xss-corpus";

const URL_ATTRS = ["href", "src", "action", "formaction", "xlink:href", "data", "background", "srcset", "poster"];
const DANGEROUS_TAGS = "script, iframe, object, embed, style, link, meta, base, form, input, button, svg, math, template, video, audio, source, frame, frameset, noscript";

/** Everything that could run script or fetch something in `root`, as readable strings. */
function findDanger(root: ParentNode): string[] {
  const found: string[] = [];
  for (const node of Array.from(root.querySelectorAll("*"))) {
    if (node.matches('button[data-testid="copy-code"]')) continue; // the widget's own Copy button
    // KaTeX draws some symbols (roots, wide accents) as inline SVG paths: allowed there only.
    const katexSvg = node.closest(".katex") !== null && node.closest("svg") !== null;
    if (node.matches(DANGEROUS_TAGS) && !katexSvg) found.push(`<${node.nodeName.toLowerCase()}>`);
    for (const attr of Array.from(node.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) found.push(`${name} handler`);
      // KaTeX positions glyphs with inline lengths and colours; anything that can load or
      // compute (url(), expression(), image-set(), escapes) is danger.
      if (name === "style" && /[()\\@]|url|expression|javascript/i.test(attr.value)) {
        found.push(`style=${attr.value}`);
      }
      if (URL_ATTRS.includes(name)) {
        const value = attr.value.replace(/[\u0000-\u0020]/g, "").toLowerCase();
        if (/^(javascript|vbscript|data:text)/.test(value)) found.push(`${name}=${attr.value}`);
        if (name === "src" && !value.startsWith("data:image/")) found.push(`remote ${name}=${attr.value}`);
        if (name === "srcset") found.push(`srcset=${attr.value}`);
      }
    }
  }
  return found;
}

function container(fragment: DocumentFragment): HTMLElement {
  const div = document.createElement("div");
  div.append(fragment);
  return div;
}

describe("sanitizer against the XSS corpus", () => {
  it("has a real corpus", () => {
    expect(XSS_PAYLOADS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(XSS_PAYLOADS)("raw HTML %s is inert after sanitize()", (payload) => {
    const root = container(sanitize(payload, { allowRemoteImages: false }));
    markBlockedImages(root);
    expect(findDanger(root)).toEqual([]);
  });

  it.each(XSS_PAYLOADS)("model text %s renders inert as Markdown", (payload) => {
    const root = container(renderMarkdown(payload, { allowRemoteImages: false }));
    expect(findDanger(root)).toEqual([]);
  });

  it.each(XSS_PAYLOADS)("%s stays inert even with remote images allowed", (payload) => {
    const root = container(renderMarkdown(payload, { allowRemoteImages: true }));
    const danger = findDanger(root).filter((d) => !/^remote src=https?:/.test(d));
    expect(danger).toEqual([]);
  });

  it("never runs a payload when inserted into the live document", async () => {
    const calls: unknown[] = [];
    (window as unknown as { alert: (x: unknown) => void }).alert = (x) => calls.push(x);
    const host = document.createElement("div");
    document.body.append(host);
    for (const payload of XSS_PAYLOADS) {
      host.append(renderMarkdown(payload, { allowRemoteImages: false }));
      host.append(sanitize(payload, { allowRemoteImages: false }));
    }
    for (const node of Array.from(host.querySelectorAll("*"))) node.dispatchEvent(new Event("error"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toEqual([]);
    host.remove();
  });
});

describe("sanitizer policy", () => {
  it("keeps ordinary formatting", () => {
    const root = container(sanitize("<p><strong>bold</strong> <em>it</em> <code>x</code></p>", { allowRemoteImages: false }));
    expect(root.innerHTML).toBe("<p><strong>bold</strong> <em>it</em> <code>x</code></p>");
  });

  it("opens links in a new tab without opener or referrer", () => {
    const a = container(sanitize('<a href="https://example.com/x">x</a>', { allowRemoteImages: false })).querySelector("a")!;
    expect(a.getAttribute("href")).toBe("https://example.com/x");
    expect(a.getAttribute("target")).toBe("_blank");
    expect(a.getAttribute("rel")).toBe("noopener noreferrer nofollow");
  });

  it("drops link targets that are not http(s), mailto or a fragment", () => {
    for (const href of ["javascript:alert(1)", "ftp://x.example/", "file:///etc/passwd", "/files/x", "tel:123"]) {
      const a = container(sanitize(`<a href="${href}">x</a>`, { allowRemoteImages: false })).querySelector("a")!;
      expect(a.hasAttribute("href")).toBe(false);
    }
  });

  it("blocks remote images unless allowed, and says so", () => {
    const blocked = container(renderMarkdown("![chart](https://example.com/c.png)", { allowRemoteImages: false }));
    expect(blocked.querySelector("img")).toBeNull();
    const note = blocked.querySelector('[data-testid="blocked-image"]')!;
    expect(note.textContent).toBe("[image: chart]");
    expect(note.getAttribute("title")).toContain("https://example.com/c.png");

    const allowed = container(renderMarkdown("![chart](https://example.com/c.png)", { allowRemoteImages: true }));
    const img = allowed.querySelector("img")!;
    expect(img.getAttribute("src")).toBe("https://example.com/c.png");
    expect(img.getAttribute("referrerpolicy")).toBe("no-referrer");
  });

  it("keeps inline raster images", () => {
    const src = "data:image/png;base64,iVBORw0KGgo=";
    const root = container(renderMarkdown(`![dot](${src})`, { allowRemoteImages: false }));
    expect(root.querySelector("img")?.getAttribute("src")).toBe(src);
  });

  it("does not let model output forge test hooks or aria labels", () => {
    const root = container(sanitize('<div data-testid="error" aria-label="Send">x</div>', { allowRemoteImages: false }));
    expect(root.querySelector("[data-testid]")).toBeNull();
    expect(root.querySelector("[aria-label]")).toBeNull();
  });
});
