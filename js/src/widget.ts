/*
 * nbchat ChatWidget front end (anywidget). Kernel side: src/nbchat/widget.py.
 *
 * DOM hooks for tests (stable; keep them when restyling):
 *   [data-testid="nbchat"]               the widget root (role="region", aria-label="Chat");
 *                                        data-status="streaming" while this widget sends, else "idle"
 *   [data-testid="transcript"]           the message list (role="log")
 *   [data-testid="message-user"]         a user turn;       data-turn, data-status
 *   [data-testid="message-assistant"]    an assistant turn; data-turn, data-status
 *                                        (streaming | complete | error | incomplete | stopped)
 *   [data-testid="streaming"]            streaming indicator inside a live assistant message
 *   [data-testid="tool-card"]            a tool call; data-state="pending" | "done"
 *   [data-testid="usage"]                token usage line of a reply
 *   [data-testid="error"]                error box (role="alert") with the server's message
 *                                        (also for status "incomplete"); "Stopped" note when stopped
 *   [data-testid="copy-code"]            Copy button on a code block (aria-label "Copy code")
 *   [data-testid="blocked-image"]        placeholder for a remote image that was not loaded
 *   textarea[aria-label="Message"]       input; Enter sends, Shift+Enter adds a line, Esc stops
 *   button[aria-label="Send"], "Stop" (only while this widget streams), "New conversation",
 *   "Retry" (in an error box), "Show more" (long tool result)
 *   input[aria-label="Load remote images"]  checkbox bound to the allow_remote_images trait
 *
 * Protocol: see types.ts (KernelMessage / ViewMessage) and live.ts (sequence numbers, sync).
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import { IncrementalMarkdown } from "./incremental";
import { LiveTurns, parseKernelMessage } from "./live";
import { copyCode } from "./markdown";
import {
  assistantMessage,
  button,
  el,
  messageFrame,
  streamingIndicator,
  toolCards,
  userMessage,
} from "./render";
import { appendTurn, applyTail } from "./transcript";
import type { KernelMessage, Message, ViewMessage, WidgetState, WireDelta } from "./types";
import "./widget.css";

type Model = AnyModel<WidgetState>;

interface LiveView {
  user: HTMLElement;
  assistant: HTMLElement;
  markdown: IncrementalMarkdown;
  tools: HTMLElement | null;
  toolsKey: string;
}

const raf: (cb: () => void) => void =
  typeof requestAnimationFrame === "function" ? (cb) => requestAnimationFrame(cb) : (cb) => setTimeout(cb, 16);

export class ChatView {
  readonly root: HTMLElement;
  private readonly title: HTMLElement;
  private readonly transcript: HTMLElement;
  private readonly committedList: HTMLElement;
  private readonly liveList: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly imagesToggle: HTMLInputElement;
  private readonly live = new LiveTurns();
  private readonly liveViews = new Map<string, LiveView>();
  private readonly dirty = new Set<string>();
  private shownIds: string[] = [];
  private frameQueued = false;
  private lastRenderMs = 0;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly model: Model) {
    this.root = el("div", "nbchat");
    this.root.dataset.testid = "nbchat";
    this.root.setAttribute("role", "region");
    this.root.setAttribute("aria-label", "Chat");

    const header = el("div", "nbchat-header");
    this.title = el("div", "nbchat-title");
    const newButton = button("New conversation", "nbchat-new", "New");
    newButton.addEventListener("click", () => this.post({ type: "new" }));
    const toggleLabel = document.createElement("label");
    toggleLabel.className = "nbchat-images";
    this.imagesToggle = document.createElement("input");
    this.imagesToggle.type = "checkbox";
    this.imagesToggle.setAttribute("aria-label", "Load remote images");
    this.imagesToggle.addEventListener("change", () => {
      this.model.set("allow_remote_images", this.imagesToggle.checked);
      this.model.save_changes();
    });
    toggleLabel.append(this.imagesToggle, " Load images");
    header.append(this.title, toggleLabel, newButton);

    this.transcript = el("div", "nbchat-transcript");
    this.transcript.dataset.testid = "transcript";
    this.transcript.setAttribute("role", "log");
    this.transcript.setAttribute("aria-live", "polite");
    this.transcript.tabIndex = 0;
    this.committedList = el("div", "nbchat-committed");
    this.liveList = el("div", "nbchat-live");
    this.transcript.append(this.committedList, this.liveList);
    this.transcript.addEventListener("click", (event) => this.onTranscriptClick(event));

    const form = document.createElement("form");
    form.className = "nbchat-input";
    this.input = document.createElement("textarea");
    this.input.rows = 2;
    this.input.placeholder = "Message (Enter to send, Shift+Enter for a new line)";
    this.input.setAttribute("aria-label", "Message");
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.sendButton = button("Send", "nbchat-send");
    this.sendButton.type = "submit";
    this.stopButton = button("Stop", "nbchat-stop");
    this.stopButton.addEventListener("click", () => this.post({ type: "stop" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    form.append(this.input, this.sendButton, this.stopButton);

    this.root.append(header, this.transcript, form);
    // Keys pressed in the panel are the panel's: in JupyterLab, Shift+Enter would run the cell
    // and Enter on a button would enter edit mode. Escape and app shortcuts such as Ctrl+S
    // still reach JupyterLab.
    this.root.addEventListener("keydown", (event) => {
      const shortcut = (event.ctrlKey || event.metaKey || event.altKey) && event.key !== "Enter";
      if (event.key !== "Escape" && !shortcut) event.stopPropagation();
    });

    this.listen("change:messages", () => this.showCommitted());
    this.listen("change:status", () => this.showStatus());
    this.listen("change:title", () => this.showTitle());
    this.listen("change:allow_remote_images", () => this.rerenderAll());
    this.listen("msg:custom", (msg: KernelMessage | WireDelta) => this.onKernelMessage(parseKernelMessage(msg)));

    this.showTitle();
    this.showStatus();
    this.showCommitted();
    this.requestSync();
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private listen(event: string, handler: (...args: any[]) => void): void {
    this.model.on(event, handler);
    this.cleanups.push(() => this.model.off(event as "msg:custom", handler));
  }

  private post(msg: ViewMessage): void {
    try {
      this.model.send(msg);
    } catch (error) {
      // A notebook reopened without its kernel still shows the saved transcript.
      console.warn("nbchat: the kernel is not reachable", error);
    }
  }

  private requestSync(): void {
    if (!this.live.requestSync()) return;
    const messages = this.messages;
    this.post({ type: "sync", have: messages.length, last: messages[messages.length - 1]?.id ?? null });
  }

  /** The model's transcript, which turn_end and sync replies extend in place (transcript.ts). */
  private get messages(): Message[] {
    return this.model.get("messages") ?? [];
  }

  private get renderOptions() {
    return { allowRemoteImages: Boolean(this.model.get("allow_remote_images")) };
  }

  // -- input --------------------------------------------------------------------------------

  private submit(): void {
    const text = this.input.value;
    if (!text.trim() || this.model.get("status") === "streaming") return;
    this.post({ type: "send", text });
    this.input.value = "";
    this.input.focus();
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    } else if (event.key === "Escape" && this.model.get("status") === "streaming") {
      event.preventDefault();
      event.stopPropagation();
      this.post({ type: "stop" });
    }
  }

  private onTranscriptClick(event: Event): void {
    const target = (event.target as HTMLElement | null)?.closest("button");
    if (!target) return;
    if (target.classList.contains("nbchat-copy")) void copyCode(target);
    else if (target.classList.contains("nbchat-retry") && target.dataset.turn) {
      this.post({ type: "retry", turn: target.dataset.turn });
    }
  }

  // -- state from the kernel ----------------------------------------------------------------

  private showTitle(): void {
    this.title.textContent = this.model.get("title") || "nbchat";
  }

  private showStatus(): void {
    const streaming = this.model.get("status") === "streaming";
    this.root.dataset.status = streaming ? "streaming" : "idle";
    this.stopButton.hidden = !streaming;
    this.sendButton.disabled = streaming;
    this.imagesToggle.checked = Boolean(this.model.get("allow_remote_images"));
  }

  /** Render committed messages, appending when the list only grew. */
  private showCommitted(): void {
    const messages = this.messages;
    const grew =
      messages.length >= this.shownIds.length && this.shownIds.every((id, i) => messages[i].id === id);
    const stick = this.nearBottom();
    if (!grew) {
      this.committedList.replaceChildren();
      this.shownIds = [];
    }
    for (const message of messages.slice(this.shownIds.length)) {
      this.committedList.append(this.renderMessage(message));
      this.shownIds.push(message.id);
      if (message.role === "assistant") this.dropLive(message.turn);
    }
    if (!messages.length) for (const turn of [...this.liveViews.keys()]) this.dropLive(turn);
    if (stick) this.scrollToEnd();
  }

  private renderMessage(message: Message): HTMLElement {
    if (message.role === "user") return userMessage(message.turn, message.text, message.status);
    return assistantMessage(message, this.renderOptions, this.takeLiveBody(message));
  }

  /** The live view's rendered text for a reply that had a block cut into pieces, finished:
   * a finished message renders those same pieces, and rendering them all again at once (and
   * laying them out) would be the one long task of a long reply. */
  private takeLiveBody(message: Message): HTMLElement | undefined {
    const view = this.liveViews.get(message.turn);
    if (!view?.markdown.cut) return undefined;
    view.markdown.update(message.text);
    return view.markdown.element;
  }

  private rerenderAll(): void {
    this.imagesToggle.checked = Boolean(this.model.get("allow_remote_images"));
    this.shownIds = [];
    this.committedList.replaceChildren();
    this.showCommitted();
    for (const turn of [...this.liveViews.keys()]) {
      this.liveViews.get(turn)?.assistant.remove();
      this.liveViews.get(turn)?.user.remove();
      this.liveViews.delete(turn);
      this.dirty.add(turn);
    }
    this.schedule();
  }

  private onKernelMessage(msg: KernelMessage): void {
    const outcome = this.live.apply(msg);
    if (outcome === "resync") {
      this.requestSync();
      return;
    }
    if (outcome === "ignored") return;
    if (msg.type === "sync") {
      if (applyTail(this.messages, msg.base, msg.messages)) this.showCommitted();
      else this.requestSync(); // a reply to a view that has more than this one
      for (const turn of [...this.liveViews.keys()]) if (!this.live.turns.has(turn)) this.dropLive(turn);
      for (const turn of this.live.turns.keys()) this.dirty.add(turn);
    } else if (msg.type === "turn_end") {
      if (this.live.finished) appendTurn(this.messages, this.live.finished);
      this.showCommitted();
      this.dropLive(msg.turn);
    } else {
      this.dirty.add(msg.turn);
    }
    this.schedule();
  }

  // -- live turns, rendered at most once per animation frame --------------------------------

  private schedule(): void {
    if (this.frameQueued) return;
    this.frameQueued = true;
    // A slow render (very long tail) spaces frames out so the page stays responsive.
    const wait = this.lastRenderMs > 12 ? Math.min(this.lastRenderMs * 2, 250) : 0;
    const run = () =>
      raf(() => {
        this.frameQueued = false;
        this.renderLive();
      });
    if (wait) setTimeout(run, wait);
    else run();
  }

  private renderLive(): void {
    const started = performance.now();
    const stick = this.nearBottom();
    const committed = new Set(this.shownIds);
    for (const turnId of this.dirty) {
      const turn = this.live.turns.get(turnId);
      if (!turn || committed.has(turnId)) continue;
      let view = this.liveViews.get(turnId);
      if (!view) {
        const assistant = messageFrame("assistant", turnId, "streaming");
        assistant.setAttribute("aria-busy", "true"); // screen readers read it once, when committed
        const markdown = new IncrementalMarkdown(this.renderOptions);
        assistant.append(markdown.element, streamingIndicator());
        view = { user: userMessage(turnId, turn.user, "complete"), assistant, markdown, tools: null, toolsKey: "" };
        this.liveViews.set(turnId, view);
        this.liveList.append(view.user, view.assistant);
      }
      const toolsKey = turn.tool_calls.map((c) => `${c.name}:${c.done}`).join(",");
      if (toolsKey !== view.toolsKey) {
        const cards = toolCards(turn.tool_calls);
        if (view.tools) view.tools.replaceWith(cards);
        else view.markdown.element.before(cards);
        view.tools = cards;
        view.toolsKey = toolsKey;
      }
      view.markdown.update(turn.text);
    }
    this.dirty.clear();
    if (stick) this.scrollToEnd();
    this.lastRenderMs = performance.now() - started;
  }

  private dropLive(turnId: string): void {
    this.live.drop(turnId);
    this.dirty.delete(turnId);
    const view = this.liveViews.get(turnId);
    if (!view) return;
    view.user.remove();
    view.assistant.remove();
    this.liveViews.delete(turnId);
  }

  private nearBottom(): boolean {
    const t = this.transcript;
    return t.scrollHeight - t.scrollTop - t.clientHeight < 40;
  }

  private scrollToEnd(): void {
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }
}

function render({ model, el }: RenderProps<WidgetState>): () => void {
  const view = new ChatView(model);
  el.append(view.root);
  return () => {
    view.dispose();
    view.root.remove();
  };
}

export default { render };
