// Keys typed in the panel are the panel's: Enter sends, Shift+Enter adds a line, and neither may
// run the notebook cell around it. Escape and app shortcuts (Ctrl+S...) still reach the host.
//
// JupyterLab handles shortcuts as the keydown bubbles, so stopping it at the panel's root is
// enough. Notebook 7 handles them on the way down (Lumino's capture phase, `bubblingKeydown`
// off), before the panel sees the key; Lumino skips any element marked
// `data-lm-suppress-shortcuts`, so the root is marked for just the keys that are the panel's,
// from a window capture listener, which runs before Lumino's document one.

export const SUPPRESS = "data-lm-suppress-shortcuts";

export function isPanelKey(event: KeyboardEvent): boolean {
  const shortcut = (event.ctrlKey || event.metaKey || event.altKey) && event.key !== "Enter";
  return event.key !== "Escape" && !shortcut;
}

/** Keep the panel's keys from the host's shortcuts; returns the function that stops it. */
export function keepKeys(root: HTMLElement): () => void {
  const mark = (event: KeyboardEvent) => {
    if (!isPanelKey(event) || !(event.target instanceof Node) || !root.contains(event.target)) return;
    root.setAttribute(SUPPRESS, "true");
    setTimeout(() => root.removeAttribute(SUPPRESS), 0); // after this key's dispatch
  };
  const stop = (event: KeyboardEvent) => {
    if (isPanelKey(event)) event.stopPropagation();
  };
  window.addEventListener("keydown", mark, true);
  root.addEventListener("keydown", stop);
  return () => {
    window.removeEventListener("keydown", mark, true);
    root.removeEventListener("keydown", stop);
  };
}
