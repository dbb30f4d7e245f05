// Model text → safe DOM: Markdown (marked), highlighted code, sanitized (sanitize.ts), plus a
// Copy button on every code block. Raw HTML in model output is shown as text, never parsed.
import { Marked, type Tokens } from "marked";
import { highlight } from "./highlight";
import { mathExtension, typesetMath } from "./math";
import { markBlockedImages, sanitize } from "./sanitize";

export interface RenderOptions {
  allowRemoteImages: boolean;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    code({ text, lang }: Tokens.Code): string {
      const language = lang ?? "";
      const body = highlight(text, language) ?? escapeHtml(text);
      const name = language.trim().split(/\s+/)[0] ?? "";
      const cls = name ? ` class="hljs language-${escapeHtml(name)}"` : ` class="hljs"`;
      return `<pre><code${cls}>${body}\n</code></pre>\n`;
    },
  },
});

marked.use(mathExtension);

/** Markdown source → sanitized fragment, ready to insert. */
export function renderMarkdown(text: string, options: RenderOptions): DocumentFragment {
  const html = marked.parse(text) as string;
  const fragment = sanitize(html, { allowRemoteImages: options.allowRemoteImages });
  markBlockedImages(fragment);
  typesetMath(fragment);
  addCopyButtons(fragment);
  return fragment;
}

/** Code blocks get a bar above them with the Copy button, so the button never covers code;
 * tables get a wrapper that scrolls sideways instead of squeezing or overflowing the message. */
function addCopyButtons(root: DocumentFragment): void {
  for (const pre of Array.from(root.querySelectorAll("pre"))) {
    const wrapper = document.createElement("div");
    wrapper.className = "nbchat-code";
    const bar = document.createElement("div");
    bar.className = "nbchat-code-bar";
    const language = /\blanguage-([\w+#.-]+)/.exec(pre.querySelector("code")?.className ?? "");
    const label = document.createElement("span");
    label.textContent = language ? language[1] : "";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "nbchat-copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy code");
    button.dataset.testid = "copy-code";
    bar.append(label, button);
    pre.replaceWith(wrapper);
    wrapper.append(bar, pre);
  }
  for (const table of Array.from(root.querySelectorAll("table"))) {
    const wrapper = document.createElement("div");
    wrapper.className = "nbchat-table";
    table.replaceWith(wrapper);
    wrapper.append(table);
  }
}

/** Copy a code block's text; wired once per view by event delegation (see widget.ts). */
export async function copyCode(button: HTMLElement): Promise<void> {
  const code = button.closest(".nbchat-code")?.querySelector("pre")?.textContent ?? "";
  try {
    await navigator.clipboard.writeText(code.replace(/\n$/, ""));
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed";
  }
  setTimeout(() => (button.textContent = "Copy"), 1500);
}
