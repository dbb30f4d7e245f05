// The one gate between untrusted model output and the DOM.
//
// DOMPurify with a Markdown-sized allow-list: no scripts, no event handlers, no styles, no forms,
// no embedded documents or media, links only to http(s)/mailto/#fragments. Remote images are
// neutered *inside DOMPurify's inert document* (src moved to data-blocked-src), because an <img>
// created in the live page starts loading as soon as it has a src, even before it is attached.
import DOMPurify from "dompurify";

const ALLOWED_TAGS = [
  "a", "b", "blockquote", "br", "code", "del", "details", "div", "em", "h1", "h2", "h3", "h4",
  "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
  "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
];
const ALLOWED_ATTR = ["href", "title", "alt", "src", "class", "colspan", "rowspan", "align", "start"];
const SAFE_URL = /^(?:https?:|mailto:|#)/i;
const INLINE_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp);/i;

export interface SanitizeOptions {
  allowRemoteImages: boolean;
}

const purify = DOMPurify(window);
let current: SanitizeOptions = { allowRemoteImages: false };

purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") {
    const href = node.getAttribute("href");
    if (href !== null && !SAFE_URL.test(href.trim())) node.removeAttribute("href");
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  } else if (node.nodeName === "IMG") {
    const src = node.getAttribute("src") ?? "";
    node.removeAttribute("src");
    if (INLINE_IMAGE.test(src)) {
      node.setAttribute("src", src);
    } else if (current.allowRemoteImages && /^https?:/i.test(src)) {
      node.setAttribute("src", src);
      node.setAttribute("referrerpolicy", "no-referrer");
      node.setAttribute("loading", "lazy");
    } else {
      node.setAttribute("data-blocked-src", src);
    }
  }
});

/** Sanitize `html` into a fragment of the current document; remote images come back src-less. */
export function sanitize(html: string, options: SanitizeOptions): DocumentFragment {
  current = options;
  try {
    return purify.sanitize(html, {
      ALLOWED_TAGS,
      ALLOWED_ATTR,
      ALLOW_DATA_ATTR: false,
      ALLOW_ARIA_ATTR: false,
      RETURN_DOM_FRAGMENT: true,
    });
  } finally {
    current = { allowRemoteImages: false };
  }
}

/** Replace neutered images by a visible placeholder saying an image was not loaded. */
export function markBlockedImages(root: ParentNode): number {
  const blocked = Array.from(root.querySelectorAll("img[data-blocked-src]"));
  for (const img of blocked) {
    const note = document.createElement("span");
    note.className = "nbchat-blocked-image";
    note.dataset.testid = "blocked-image";
    const src = img.getAttribute("data-blocked-src") ?? "";
    note.title = src ? `Remote image not loaded: ${src}` : "Image not loaded";
    note.textContent = `[image: ${img.getAttribute("alt") || "not loaded"}]`;
    img.replaceWith(note);
  }
  return blocked.length;
}
