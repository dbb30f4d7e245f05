// What the user was doing in a panel, kept per widget model so a new view of the same model
// carries on where the old one was.
//
// JupyterLab, Notebook 7 and nbclassic render a new view whenever the cell's output is updated,
// which the kernel does at the end of every turn (the output carries a readable transcript; see
// `_update_display` in src/nbchat/widget.py). The old view goes away with its DOM. Each view
// writes here as the user types, moves the caret, scrolls or edits, and a new view restores it,
// so the rebuild is not noticed: the draft, where the caret was, whether the box had focus,
// the reading place, an edit in progress, and the prompt history with its position. The
// rendered messages are kept too: a new view takes the old view's nodes (once the old view has
// left the page) instead of rendering the whole conversation again.
//
// The memory is keyed by the model's `panel_id` trait: anywidget hands every view its own proxy of
// the model, so the model object itself cannot be the key.
import { PromptHistory } from "./history";

/** Where the transcript was scrolled: following the newest message, or held at `top` (px). */
export interface ReadingPlace {
  following: boolean;
  top: number;
}

export class ViewMemory {
  draft = "";
  selection: [number, number] = [0, 0];
  /** Names of the variables attached to the draft (mention chips). */
  context: string[] = [];
  /** The input had the keyboard focus when its view went away. */
  focused = false;
  place: ReadingPlace = { following: true, top: 0 };
  /** Why the last message was not sent, while the notice shows. */
  notice: string | null = null;
  /** The turn whose user message is being edited, if any. */
  editing: string | null = null;
  readonly prompts = new PromptHistory();
  /** The committed messages as the last view rendered them, by message id. */
  readonly rendered = new Map<string, RenderedMessage>();

  /** The node rendered for message `id` with these options, if no view in the page shows it. */
  takeRendered(id: string, remoteImages: boolean): HTMLElement | undefined {
    const kept = this.rendered.get(id);
    if (!kept || kept.remoteImages !== remoteImages || kept.node.isConnected) return undefined;
    return kept.node;
  }
}

export interface RenderedMessage {
  node: HTMLElement;
  remoteImages: boolean; // rendered with remote images allowed
}

/** The memories of the panels on this page, by `panel_id`. */
export class Memories {
  private readonly byPanel = new Map<string, ViewMemory>();

  /** The memory of panel `id`, made on first use; a fresh one when there is no id (state saved
   * by an older version). */
  of(id: string | undefined): ViewMemory {
    if (!id) return new ViewMemory();
    let memory = this.byPanel.get(id);
    if (!memory) {
      memory = new ViewMemory();
      this.byPanel.set(id, memory);
    }
    return memory;
  }

  /** The panel's widget was closed: no view of it will come again. */
  forget(id: string | undefined): void {
    if (id) this.byPanel.delete(id);
  }
}

/** Run `callback` once `element` is laid out in the page (has a size): a view is built before
 * the host puts it in the document, and focus and scroll positions need it there. Returns a
 * function that cancels the wait. Without ResizeObserver (unit tests), runs it now. */
export function whenShown(element: HTMLElement, callback: () => void): () => void {
  if (typeof ResizeObserver !== "function") {
    callback();
    return () => {};
  }
  const observer = new ResizeObserver(() => {
    if (!element.isConnected || !element.clientHeight) return;
    observer.disconnect();
    callback();
  });
  observer.observe(element);
  return () => observer.disconnect();
}
