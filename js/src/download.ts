// "Download" in the panel header: the kernel renders the transcript (ChatWidget.export, the
// same sanitized text as panel.export()), the view saves it as a file.
//
// The kernel's answer goes to every view of the widget: the panel shown in two outputs, and
// views JupyterLab leaves behind when it re-renders an updated output (its widget renderer
// empties the output node without removing the old view). Each request carries an id the
// kernel echoes, and only the view that asked saves, once: several downloads at once from one
// click made Chrome ask about (and then block) "multiple downloads", so the button did nothing.
import { button } from "./render";

export type ExportFormat = "markdown" | "html" | "json";

export interface ExportReply {
  type: "export";
  request?: string;
  filename: string;
  mime: string;
  text: string;
}

/** Export requests a view sent and has not had an answer to. */
export class ExportRequests {
  private readonly pending = new Set<string>();

  /** A new request id, unique across views and pages. */
  open(): string {
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    this.pending.add(id);
    return id;
  }

  /** Whether `reply` answers a request of this view (it is then no longer pending). */
  take(reply: ExportReply): boolean {
    return reply.request !== undefined && this.pending.delete(reply.request);
  }
}

/** The header control: a format picker and a button that asks the kernel for the file. */
export function downloadControl(request: (format: ExportFormat) => void): HTMLElement {
  const box = document.createElement("span");
  box.className = "nbchat-download";
  const picker = document.createElement("select");
  picker.setAttribute("aria-label", "Download format");
  for (const [value, label] of [["markdown", "Markdown"], ["html", "HTML"], ["json", "JSON"]]) {
    picker.append(new Option(label, value));
  }
  const go = button("Download transcript", "nbchat-download-button", "Download");
  go.addEventListener("click", () => request(picker.value as ExportFormat));
  box.append(picker, go);
  return box;
}

/** Save the kernel's answer as a file the browser downloads. */
export function saveFile(reply: ExportReply): void {
  const url = URL.createObjectURL(new Blob([reply.text], { type: `${reply.mime};charset=utf-8` }));
  const link = document.createElement("a");
  link.href = url;
  link.download = reply.filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
