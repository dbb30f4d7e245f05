// TeX math in model output ($…$, $$…$$, \(…\), \[…\]) rendered with KaTeX, safely.
//
// marked only marks the math: the TeX goes into the HTML as escaped text inside
// <span class="nbchat-math"> (or <div class="nbchat-math nbchat-math-display">), passes the
// Markdown sanitizer like any text, and is typeset afterwards by `typesetMath`. KaTeX runs with
// `trust: false` (no \href, \url, \includegraphics, \html*), bounded size and macro expansion,
// and its output goes through DOMPurify once more with a KaTeX-only allow-list whose inline
// styles may hold lengths and colours only (no url(), no functions). Fonts are not bundled:
// the build drops KaTeX's @font-face rules, so nothing is fetched and system serif fonts are used.
import DOMPurify from "dompurify";
import katex from "katex";
import "katex/dist/katex.min.css";
import type { MarkedExtension, Tokens } from "marked";

const KATEX_OPTIONS = {
  throwOnError: false,
  trust: false,
  strict: "ignore" as const,
  output: "html" as const,
  maxSize: 20, // em
  maxExpand: 200,
};

const purify = DOMPurify(window);
const STYLE_DECLARATION = /^\s*[a-z-]+\s*:\s*[-+#.%\w ]*\s*$/i;
purify.addHook("uponSanitizeAttribute", (_node, data) => {
  if (data.attrName === "style" && !data.attrValue.split(";").every((d) => !d.trim() || STYLE_DECLARATION.test(d))) {
    data.keepAttr = false;
  }
});
const KATEX_TAGS = ["span", "svg", "path", "line", "rect", "g"];
const KATEX_ATTR = ["class", "style", "aria-hidden", "viewBox", "width", "height", "preserveAspectRatio", "d", "x", "y", "x1", "x2", "y1", "y2", "stroke-width", "fill"];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface MathToken extends Tokens.Generic {
  tex: string;
  display: boolean;
}

function mathToken(type: string, raw: string, tex: string, display: boolean): MathToken {
  return { type, raw, tex: tex.trim(), display };
}

/** `$x$` only when the dollars hug the TeX (no space inside, no digit after the closing one),
 * so prices like "$5 and $10" stay text, as in Pandoc. */
const INLINE = /^(?:\$(?!\s)((?:\\.|[^\\$\n])+?)(?<!\s)\$(?!\d)|\\\((.+?)\\\))/;
const BLOCK = /^ {0,3}(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n|$)/;

export const mathExtension: MarkedExtension = {
  extensions: [
    {
      name: "mathBlock",
      level: "block",
      start: (src: string) => src.match(/\$\$|\\\[/)?.index,
      tokenizer(src: string) {
        const m = BLOCK.exec(src);
        return m ? mathToken("mathBlock", m[0], m[1] ?? m[2], true) : undefined;
      },
      renderer: (token) => `<div class="nbchat-math nbchat-math-display">${escapeHtml((token as MathToken).tex)}</div>\n`,
    },
    {
      name: "mathInline",
      level: "inline",
      start: (src: string) => src.match(/\$|\\\(/)?.index,
      tokenizer(src: string) {
        const display = /^\$\$([^$]+?)\$\$/.exec(src);
        if (display) return mathToken("mathInline", display[0], display[1], true);
        const m = INLINE.exec(src);
        return m ? mathToken("mathInline", m[0], m[1] ?? m[2], false) : undefined;
      },
      renderer(token) {
        const { tex, display } = token as MathToken;
        const cls = display ? "nbchat-math nbchat-math-display" : "nbchat-math";
        return `<span class="${cls}">${escapeHtml(tex)}</span>`;
      },
    },
  ],
};

/** Typeset the math marked in a sanitized fragment; bad TeX shows as KaTeX's red source. */
export function typesetMath(root: ParentNode): void {
  for (const node of Array.from(root.querySelectorAll<HTMLElement>(".nbchat-math"))) {
    const tex = node.textContent ?? "";
    const html = katex.renderToString(tex, { ...KATEX_OPTIONS, displayMode: node.classList.contains("nbchat-math-display") });
    const clean = purify.sanitize(html, {
      ALLOWED_TAGS: KATEX_TAGS,
      ALLOWED_ATTR: KATEX_ATTR,
      ALLOW_DATA_ATTR: false,
      RETURN_DOM_FRAGMENT: true,
    });
    node.replaceChildren(clean);
    node.setAttribute("aria-label", tex);
    node.setAttribute("role", "math");
  }
}
