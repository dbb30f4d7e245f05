// The widget's `_esm`: a small loader, so a saved notebook does not carry the whole front end.
//
// anywidget syncs `_esm` as widget state, and Jupyter saves widget state into the notebook's
// metadata, once per panel; the full front end (Markdown, sanitizer, highlighting, KaTeX) is
// hundreds of KB. This loader asks the kernel for it over the widget's comm
// ({"type": "front_end"} → {"type": "front_end", version} with buffers [js, css]), keeps it in
// the page for every other panel, and in IndexedDB so a notebook reopened without a kernel
// still renders fully in a browser that has shown the panel before. Nothing comes from the
// network. Until the front end is there, or if no kernel ever answers, the panel shows the
// saved transcript as plain text.
import type { AnyModel, RenderProps } from "@anywidget/types";

/** The bundle's hash; the kernel writes it in (src/nbchat/widget.py). */
const VERSION = "__NBCHAT_FRONT_END_VERSION__";

interface FrontEnd {
  render(props: RenderProps<Record<string, unknown>>): (() => void) | void;
}
interface Files {
  js: string;
  css: string;
}
type Model = AnyModel<Record<string, unknown>>;

const pageCache: Map<string, Promise<FrontEnd>> = ((globalThis as Record<string, unknown>).__nbchatFrontEnds ??=
  new Map()) as Map<string, Promise<FrontEnd>>;

// -- where the front end comes from ------------------------------------------------------------

function fromKernel(model: Model): Promise<Files> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { type?: string; version?: string }, buffers: DataView[]) => {
      if (msg?.type !== "front_end" || msg.version !== VERSION || buffers.length < 2) return;
      model.off("msg:custom", onMessage);
      const text = new TextDecoder();
      resolve({ js: text.decode(buffers[0]), css: text.decode(buffers[1]) });
    };
    model.on("msg:custom", onMessage);
    try {
      model.send({ type: "front_end" });
    } catch (error) {
      model.off("msg:custom", onMessage);
      reject(error); // no comm: a saved widget without its kernel
    }
  });
}

function idb<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("nbchat", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("front-end");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const request = use(db.transaction("front-end", mode).objectStore("front-end"));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.transaction?.addEventListener("complete", () => db.close());
    };
  });
}

async function fromBrowser(): Promise<Files | undefined> {
  try {
    return await idb<Files | undefined>("readonly", (store) => store.get(VERSION));
  } catch {
    return undefined; // no IndexedDB (private window, sandbox): the kernel is asked instead
  }
}

async function keep(files: Files): Promise<void> {
  try {
    await idb("readwrite", (store) => {
      store.clear(); // older versions
      return store.put(files, VERSION);
    });
  } catch {
    // Not kept: the next page load asks the kernel again.
  }
}

async function start(files: Files): Promise<FrontEnd> {
  let style = document.getElementById("nbchat-front-end-css");
  if (!style) {
    style = Object.assign(document.createElement("style"), { id: "nbchat-front-end-css" });
    document.head.append(style);
  }
  style.textContent = files.css;
  const url = URL.createObjectURL(new Blob([files.js], { type: "text/javascript" }));
  try {
    return (await import(/* @vite-ignore */ url)).default as FrontEnd;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The page keeps a started front end only: a panel whose kernel never answers (a saved widget
 * reopened without one) must not hold up the others. */
async function load(model: Model): Promise<FrontEnd> {
  const known = pageCache.get(VERSION);
  if (known) return known;
  const files = (await fromBrowser()) ?? (await fromKernel(model));
  const raced = pageCache.get(VERSION); // another panel got there meanwhile
  if (raced) return raced;
  const frontEnd = start(files);
  pageCache.set(VERSION, frontEnd);
  void keep(files);
  return frontEnd;
}

// -- until then: the saved transcript, as plain text -------------------------------------------

interface SavedMessage {
  role?: string;
  text?: string;
}

function transcript(model: Model): HTMLElement {
  const root = document.createElement("div");
  root.className = "nbchat-saved";
  root.dataset.testid = "nbchat-saved";
  root.setAttribute("role", "log");
  root.style.cssText = "border:1px solid #bdbdbd;border-radius:4px;padding:8px;max-height:600px;overflow:auto";
  const note = document.createElement("div");
  note.textContent = "Chat transcript (loading the chat panel; run the cell if it does not appear)";
  note.style.cssText = "font-size:0.85em;opacity:0.7;margin-bottom:6px";
  root.append(note);
  for (const message of (model.get("messages") ?? []) as SavedMessage[]) {
    const entry = document.createElement("div");
    entry.style.cssText = "margin:4px 0;white-space:pre-wrap;overflow-wrap:anywhere";
    const who = document.createElement("strong");
    who.textContent = message.role === "user" ? "You: " : "Assistant: ";
    entry.append(who, document.createTextNode(String(message.text ?? "")));
    root.append(entry);
  }
  return root;
}

function render({ model, el }: RenderProps<Record<string, unknown>>): () => void {
  const saved = transcript(model);
  el.append(saved);
  let cleanup: (() => void) | void;
  let disposed = false;
  load(model).then(
    (frontEnd) => {
      if (disposed) return;
      saved.remove();
      cleanup = frontEnd.render({ model, el } as RenderProps<Record<string, unknown>>);
    },
    () => undefined, // no kernel and nothing kept: the plain transcript stays
  );
  return () => {
    disposed = true;
    saved.remove();
    if (typeof cleanup === "function") cleanup();
  };
}

export default { render };
