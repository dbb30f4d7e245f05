// "Download" in the panel header: the kernel renders the transcript (ChatWidget.export, the
// same sanitized text as panel.export()), the view saves it as a file.
import { button } from "./render";

export type ExportFormat = "markdown" | "html" | "json";

export interface ExportReply {
  type: "export";
  filename: string;
  mime: string;
  text: string;
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
