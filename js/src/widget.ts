/*
 * nbchat ChatWidget front end (anywidget). Kernel side: src/nbchat/widget.py.
 *
 * DOM hooks for tests (stable; keep them when restyling):
 *   [data-testid="nbchat"]               the widget root (role="region", aria-label="Chat");
 *                                        data-status="streaming" while this widget sends,
 *                                        "disconnected" once the kernel went away (restart, death,
 *                                        shutdown; connection.ts): controls off, and
 *                                        [data-testid="notice"] says to re-run the cell; else "idle"
 *   [data-testid="transcript"]           the message list (role="log"); follows the newest
 *                                        message while scrolled to the bottom (follow.ts)
 *   [data-testid="jump-to-latest"]       "Jump to latest" button, shown when scrolled up
 *   [data-testid="message-user"]         a user turn;       data-turn, data-status
 *   [data-testid="message-assistant"]    an assistant turn; data-turn, data-status
 *                                        (streaming | complete | error | incomplete | stopped
 *                                        | interrupted: cut off by a disconnection, with its text)
 *   [data-testid="streaming"]            streaming indicator inside a live assistant message
 *   [data-testid="tool-card"]            a tool call; data-state (see toolcard.ts toolState):
 *                                        pending | running | done | error | denied | cancelled
 *                                        | requested; data-approval="ask" with buttons
 *                                        [data-testid="tool-approve"] / [data-testid="tool-deny"]
 *   [data-testid="usage"]                token usage line of a reply
 *   [data-testid="error"]                error box (role="alert") with the server's message
 *                                        (also for status "incomplete"); "Stopped" note when stopped
 *   [data-testid="copy-code"]            Copy button on a code block (aria-label "Copy code")
 *   [data-testid="blocked-image"]        placeholder for a remote image that was not loaded
 *   textarea[aria-label="Message"]       input; Enter sends, Shift+Enter adds a line, Esc stops
 *   button[aria-label="Send"], "Stop" (only while this widget streams), "New conversation",
 *   "Retry" (in an error box), "Regenerate" (last reply), "Edit message" (last user message),
 *   "Show more" (long tool result); Retry and Regenerate replace the turn in place
 *   [data-testid="empty-state"]          hint and backend shown while there are no messages
 *   [data-testid="edit-note"]            shown while the last message is being edited
 *   ArrowUp / ArrowDown in an empty input  recall earlier prompts (history.ts)
 *   A new view of the same model (the host re-renders the output after each turn) carries on
 *   with the draft, caret, focus, reading place, edit and prompt history (memory.ts)
 *   input[aria-label="Load remote images"]  checkbox bound to the allow_remote_images trait
 *   select[aria-label="Download format"], button "Download transcript"  save the transcript
 *
 * Kernel context (`@` completion, chips, attached context, refusals): mentions.ts, context.ts.
 *
 * Protocol: see types.ts (KernelMessage / ViewMessage) and live.ts (sequence numbers, sync).
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import { placeActions } from "./actions";
import { watchKernel } from "./connection";
import { attachedContext, notice, showNotice } from "./context";
import { downloadControl, ExportRequests, saveFile, type ExportReply } from "./download";
import { Follower } from "./follow";
import type { PromptHistory } from "./history";
import { keepKeys } from "./keys";
import { LiveTurns, parseKernelMessage } from "./live";
import { LiveParts } from "./parts";
import { Memories, whenShown, type ViewMemory } from "./memory";
import { copyCode } from "./markdown";
import { Mentions } from "./mentions";
import {
  assistantMessage,
  button,
  DISCONNECTED,
  el,
  interruptedBox,
  messageFrame,
  reasoningBox,
  streamingIndicator,
  userMessage,
} from "./render";
import type { ToolHooks } from "./toolcard";
import { appendTurn, applyTail } from "./transcript";
import type { ContextMessage, KernelMessage, Message, ViewMessage, WidgetState, WireDelta } from "./types";
import "./widget.css";

type Model = AnyModel<WidgetState>;

interface LiveView {
  user: HTMLElement;
  assistant: HTMLElement;
  parts: LiveParts;
  reasoning: HTMLElement | null;
}

/** What the user was doing in each panel on the page; outlives the views (memory.ts). */
const memories = new Memories();

const SUPERSEDED_EDIT =
  "Another turn ended before your edit was sent, and only the last turn can be replaced: " +
  "your text is still in the box, and Enter sends it as a new message.";

const raf: (cb: () => void) => void =
  typeof requestAnimationFrame === "function" ? (cb) => requestAnimationFrame(cb) : (cb) => setTimeout(cb, 16);

export class ChatView {
  readonly root: HTMLElement;
  private readonly title: HTMLElement;
  private readonly header: HTMLElement;
  private readonly form: HTMLFormElement;
  private disconnected = false; // the kernel went away: nothing more comes or goes
  private hosted = false; // the host element has been in the page (see abandoned())
  private readonly transcript: HTMLElement;
  private readonly committedList: HTMLElement;
  private readonly liveList: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly imagesToggle: HTMLInputElement;
  private readonly mentions: Mentions;
  private readonly notice = notice();
  private readonly follower: Follower;
  private readonly emptyState: HTMLElement;
  private readonly editNote: HTMLElement;
  private readonly prompts: PromptHistory;
  private readonly memory: ViewMemory; // what the user was doing, for the next view (memory.ts)
  private editing: string | null = null; // the turn whose message is being edited
  private readonly live = new LiveTurns();
  private readonly exports = new ExportRequests();
  private readonly liveViews = new Map<string, LiveView>();
  private readonly dirty = new Set<string>();
  private shownIds: string[] = [];
  private frameQueued = false;
  private lastRenderMs = 0;
  private readonly cleanups: Array<() => void> = [];
  private readonly toolHooks: ToolHooks = {
    decide: (id, approved) => this.post({ type: "decide", id, approved }),
    runningSince: new Map(),
  };

  /** `host`: the element anywidget renders the view into. */
  constructor(
    private readonly model: Model,
    private readonly host?: HTMLElement,
  ) {
    this.root = el("div", "nbchat");
    this.root.dataset.testid = "nbchat";
    this.root.setAttribute("role", "region");
    this.root.setAttribute("aria-label", "Chat");

    const header = (this.header = el("div", "nbchat-header"));
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
    const download = downloadControl((format) =>
      this.post({ type: "export", format, request: this.exports.open() }),
    );
    header.append(this.title, toggleLabel, download, newButton);

    this.transcript = el("div", "nbchat-transcript");
    this.transcript.dataset.testid = "transcript";
    this.transcript.setAttribute("role", "log");
    this.transcript.setAttribute("aria-live", "polite");
    this.transcript.tabIndex = 0;
    this.committedList = el("div", "nbchat-committed");
    this.liveList = el("div", "nbchat-live");
    this.emptyState = el("div", "nbchat-empty");
    this.emptyState.dataset.testid = "empty-state";
    this.transcript.append(this.emptyState, this.committedList, this.liveList);
    this.transcript.addEventListener("click", (event) => this.onTranscriptClick(event));
    const jump = button("Jump to latest", "nbchat-jump", "↓ Latest");
    jump.dataset.testid = "jump-to-latest";
    const scroll = el("div", "nbchat-scroll");
    scroll.append(this.transcript, jump);
    this.follower = new Follower(this.transcript, jump, [this.committedList, this.liveList]);
    this.cleanups.push(() => this.follower.dispose());

    const form = (this.form = document.createElement("form"));
    form.className = "nbchat-input";
    this.input = document.createElement("textarea");
    this.input.rows = 2;
    this.input.placeholder = "Message (Enter to send, Shift+Enter for a new line)";
    this.input.setAttribute("aria-label", "Message");
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.memory = memories.of(model.get("panel_id"));
    this.prompts = this.memory.prompts;
    for (const message of this.messages) if (message.role === "user") this.prompts.addTurn(message.turn, message.text);
    this.editNote = el("div", "nbchat-edit-note", "Editing your last message: Enter resends it, Esc cancels.");
    this.editNote.dataset.testid = "edit-note";
    this.editNote.hidden = true;
    this.sendButton = button("Send", "nbchat-send");
    this.sendButton.type = "submit";
    this.stopButton = button("Stop", "nbchat-stop");
    this.stopButton.addEventListener("click", () => this.post({ type: "stop" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    form.append(this.input, this.sendButton, this.stopButton);
    this.mentions = new Mentions(this.input, () => this.post({ type: "variables" }));

    this.root.append(
      header,
      scroll,
      this.notice,
      this.mentions.chips,
      this.mentions.menu,
      this.editNote,
      form,
    );
    // Keys pressed in the panel are the panel's: Shift+Enter would run the cell and Enter on a
    // button would enter edit mode (keys.ts).
    this.cleanups.push(keepKeys(this.root));
    this.keepMemory();

    this.listen("change:messages", () => this.showCommitted());
    this.listen("change:status", () => this.showStatus());
    this.listen("change:title", () => this.showTitle());
    this.listen("destroy", () => memories.forget(this.model.get("panel_id")));
    this.listen("change:backend", () => this.showEmpty());
    this.listen("change:allow_remote_images", () => this.rerenderAll());
    this.listen("msg:custom", (msg: KernelMessage | ContextMessage | WireDelta) =>
      this.onKernelMessage(Array.isArray(msg) ? parseKernelMessage(msg) : msg),
    );
    this.cleanups.push(watchKernel(this.model, () => this.disconnect()));

    this.showTitle();
    this.showStatus();
    this.showCommitted();
    this.requestSync();
  }

  /** Carry on where an earlier view of this model was, and keep the memory current from now
   * on: the host renders a new view whenever the cell's output is updated (memory.ts). */
  private keepMemory(): void {
    const memory = this.memory;
    this.input.value = memory.draft;
    if (memory.notice) showNotice(this.notice, memory.notice);
    if (memory.context.length) this.mentions.restore(memory.context);
    if (memory.editing !== null) {
      this.editing = memory.editing; // checked against the transcript by showCommitted
      this.editNote.hidden = false;
    }
    this.follower.following = memory.place.following; // not to the end first when reading
    const remember = () => this.remember();
    for (const event of ["input", "keyup", "click", "select"]) this.root.addEventListener(event, remember);
    this.input.addEventListener("focus", () => (memory.focused = true));
    // A view taken out of the page may blur its input on the way: only a view still shown says
    // that the focus went elsewhere.
    this.input.addEventListener("blur", () =>
      setTimeout(() => {
        if (this.root.isConnected) memory.focused = document.activeElement === this.input;
      }, 0),
    );
    this.transcript.addEventListener(
      "scroll",
      () => {
        if (this.root.isConnected) memory.place = this.follower.place;
      },
      { passive: true },
    );
    this.cleanups.push(
      whenShown(this.transcript, () => {
        this.follower.restore(memory.place);
        if (memory.focused && this.focusIsFree()) {
          this.input.focus();
          this.input.setSelectionRange(...memory.selection);
        }
      }),
    );
  }

  /** Nothing else has the focus: the page's body, or a container of this panel (the cell or
   * notebook the host focused when the old view went away), has it. */
  private focusIsFree(): boolean {
    const active = document.activeElement;
    return !active || active === document.body || (this.host !== undefined && active.contains(this.host));
  }

  /** Show why a message was not sent (null: nothing to say), in this view and the next. */
  private say(text: string | null): void {
    showNotice(this.notice, text);
    this.memory.notice = text;
  }

  private remember(): void {
    const memory = this.memory;
    memory.draft = this.input.value;
    memory.selection = [this.input.selectionStart ?? 0, this.input.selectionEnd ?? 0];
    memory.context = this.mentions.names();
    memory.editing = this.editing;
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  /** Whether this view was left behind, and then dispose it. JupyterLab and Notebook 7 render
   * an updated output (the transcript after each turn, `update_display`) with a new view and
   * empty the output node without removing the old one (the widget renderer's `renderModel` in
   * @jupyter-widgets/jupyterlab-manager): its host leaves its parent for good while the model
   * still talks to it. Left listening, every such view would render each later reply unseen. */
  private abandoned(): boolean {
    if (!this.host) return false;
    if (this.host.parentNode) this.hosted = true;
    else if (this.hosted) {
      this.dispose();
      return true;
    }
    return false;
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
    const context = this.mentions.names();
    if ((!text.trim() && !context.length) || this.model.get("status") === "streaming" || this.disconnected) return;
    if (this.editing !== null) this.post({ type: "regenerate", turn: this.editing, text });
    else this.post(context.length ? { type: "send", text, context } : { type: "send", text });
    this.prompts.add(text);
    this.endEdit();
    this.follower.resume();
    this.input.value = "";
    this.mentions.clear();
    this.say(null);
    this.input.focus();
    this.remember();
  }

  private onKey(event: KeyboardEvent): void {
    if (this.mentions.onKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    } else if (event.key === "Escape" && this.model.get("status") === "streaming") {
      event.preventDefault();
      event.stopPropagation();
      this.post({ type: "stop" });
    } else if (event.key === "Escape" && this.editing !== null) {
      event.preventDefault();
      event.stopPropagation();
      this.endEdit();
      this.input.value = "";
    } else if ((event.key === "ArrowUp" || event.key === "ArrowDown") && !event.shiftKey && !event.altKey) {
      const direction = event.key === "ArrowUp" ? "up" : "down";
      const recalled = this.prompts.move(direction, this.input.value, this.input.selectionStart ?? 0);
      if (recalled === null) return;
      event.preventDefault();
      this.input.value = recalled;
      this.input.setSelectionRange(recalled.length, recalled.length);
    }
  }

  /** Put the last message back in the box; sending it replaces that turn. */
  private startEdit(turn: string): void {
    const messages: Message[] = this.model.get("messages") ?? [];
    const message = messages.find((m) => m.turn === turn && m.role === "user");
    if (!message) return;
    this.editing = turn;
    this.editNote.hidden = false;
    this.input.value = message.text;
    this.input.focus();
    this.remember();
  }

  private endEdit(): void {
    this.editing = null;
    this.editNote.hidden = true;
    this.memory.editing = null;
  }

  /** An edit replaces the last turn only: once another turn has ended after it, the edit ends,
   * its text stays in the box to be sent as a new message, and the notice says so. */
  private checkEdit(): void {
    if (this.editing === null) return;
    const users = this.messages.filter((m) => m.role === "user");
    if (users[users.length - 1]?.turn === this.editing) return;
    this.endEdit();
    if (users.length) this.say(SUPERSEDED_EDIT);
  }

  private onTranscriptClick(event: Event): void {
    const target = (event.target as HTMLElement | null)?.closest("button");
    if (!target) return;
    const turn = target.dataset.turn;
    if (target.classList.contains("nbchat-copy")) void copyCode(target);
    else if (turn && (target.classList.contains("nbchat-retry") || target.classList.contains("nbchat-regenerate"))) {
      this.endEdit();
      this.post({ type: "regenerate", turn });
    } else if (turn && target.classList.contains("nbchat-edit")) this.startEdit(turn);
  }

  // -- state from the kernel ----------------------------------------------------------------

  private showTitle(): void {
    this.title.textContent = this.model.get("title") || "nbchat";
  }

  private showStatus(): void {
    const streaming = !this.disconnected && this.model.get("status") === "streaming";
    this.root.dataset.status = this.disconnected ? "disconnected" : streaming ? "streaming" : "idle";
    this.stopButton.hidden = !streaming;
    this.sendButton.disabled = streaming || this.disconnected;
    this.imagesToggle.checked = Boolean(this.model.get("allow_remote_images"));
    placeActions(this.committedList, streaming || this.disconnected);
  }

  /** The kernel went away: the replies that were streaming keep the text that arrived and say
   * what happened; the controls that need the kernel are off, and the notice says how to
   * reconnect (a new kernel has no widget: running the cell makes a new one). */
  private disconnect(): void {
    if (this.disconnected) return;
    if (this.dirty.size) this.renderLive(); // what arrived last, not yet drawn
    this.disconnected = true;
    for (const view of this.liveViews.values()) {
      view.assistant.dataset.status = "interrupted";
      view.assistant.removeAttribute("aria-busy");
      view.assistant.querySelector('[data-testid="streaming"]')?.remove();
      view.assistant.append(interruptedBox());
    }
    const controls = [this.header, this.form].flatMap((part) =>
      Array.from(part.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
        "button, input, select, textarea",
      )),
    );
    for (const control of controls) control.disabled = true;
    showNotice(this.notice, DISCONNECTED);
    this.showStatus();
    this.follower.update();
  }

  /** With nothing to show, say what to do and who answers. */
  private showEmpty(): void {
    const empty = !this.shownIds.length && !this.liveViews.size;
    this.emptyState.hidden = !empty;
    if (!empty) return;
    const backend = this.model.get("backend");
    this.emptyState.replaceChildren(
      el("div", "nbchat-empty-title", "No messages yet"),
      el("div", "", "Type a message below and press Enter. ↑ recalls earlier prompts."),
    );
    if (backend) this.emptyState.append(el("div", "nbchat-empty-backend", `Talking to ${backend}`));
  }

  /** Render committed messages, appending when the list only grew. */
  private showCommitted(): void {
    if (this.abandoned()) return;
    const messages = this.messages;
    const grew =
      messages.length >= this.shownIds.length && this.shownIds.every((id, i) => messages[i].id === id);
    if (!grew) {
      this.committedList.replaceChildren();
      this.shownIds = [];
      this.memory.rendered.clear();
    }
    for (const message of messages.slice(this.shownIds.length)) {
      this.committedList.append(this.renderMessage(message));
      this.shownIds.push(message.id);
      if (message.role === "assistant") this.dropLive(message.turn);
    }
    if (!messages.length) for (const turn of [...this.liveViews.keys()]) this.dropLive(turn);
    this.checkEdit();
    placeActions(this.committedList, this.model.get("status") === "streaming");
    this.showEmpty();
    this.follower.update();
  }

  /** A committed message's node: the one an earlier view of this panel rendered, else new. */
  private renderMessage(message: Message): HTMLElement {
    const remoteImages = this.renderOptions.allowRemoteImages;
    const node = this.memory.takeRendered(message.id, remoteImages) ?? this.renderNew(message);
    this.memory.rendered.set(message.id, { node, remoteImages });
    return node;
  }

  private renderNew(message: Message): HTMLElement {
    if (message.role === "assistant") {
      return assistantMessage(message, this.renderOptions, this.takeLiveBody(message));
    }
    const node = userMessage(message.turn, message.text, message.status);
    if (message.context?.length) node.append(attachedContext(message.context));
    return node;
  }

  /** The live view's rendered text for a reply that had a block cut into pieces, finished:
   * a finished message renders those same pieces, and rendering them all again at once (and
   * laying them out) would be the one long task of a long reply. */
  private takeLiveBody(message: Message): HTMLElement | undefined {
    return this.liveViews.get(message.turn)?.parts.finished(message.text, message.tool_calls);
  }

  private rerenderAll(): void {
    if (this.abandoned()) return; // its nodes may be another view's now (memory.ts)
    this.imagesToggle.checked = Boolean(this.model.get("allow_remote_images"));
    this.shownIds = [];
    this.committedList.replaceChildren();
    this.memory.rendered.clear();
    this.showCommitted();
    for (const turn of [...this.liveViews.keys()]) {
      this.liveViews.get(turn)?.assistant.remove();
      this.liveViews.get(turn)?.user.remove();
      this.liveViews.delete(turn);
      this.dirty.add(turn);
    }
    this.schedule();
  }

  private onKernelMessage(
    msg: KernelMessage | ContextMessage | ExportReply | { type: "front_end" },
  ): void {
    if (msg.type === "front_end" || this.disconnected || this.abandoned()) return; // front_end: loader.ts
    if (msg.type === "export") {
      if (this.exports.take(msg)) saveFile(msg); // else another view asked
      return;
    }
    if (msg.type === "variables") return this.mentions.setVariables(msg.items);
    if (msg.type === "refused") return this.onRefused(msg);
    const outcome = this.live.apply(msg);
    if (outcome === "resync") {
      this.requestSync();
      return;
    }
    if (outcome === "ignored") return;
    if (msg.type === "sync") {
      for (const m of msg.messages) if (m.role === "user") this.prompts.addTurn(m.turn, m.text);
      for (const turn of msg.live) this.prompts.addTurn(turn.turn, turn.user);
      if (applyTail(this.messages, msg.base, msg.messages)) this.showCommitted();
      else this.requestSync(); // a reply to a view that has more than this one
      for (const turn of [...this.liveViews.keys()]) if (!this.live.turns.has(turn)) this.dropLive(turn);
      for (const turn of this.live.turns.keys()) this.dirty.add(turn);
    } else if (msg.type === "turn_end") {
      if (this.live.finished) appendTurn(this.messages, this.live.finished);
      this.showCommitted();
      this.dropLive(msg.turn);
    } else {
      if (msg.type === "turn_start") this.prompts.addTurn(msg.turn, msg.user);
      this.dirty.add(msg.turn);
    }
    this.schedule();
  }

  /** The kernel did not send a message: say why, and give the draft back if the input is empty. */
  private onRefused(msg: Extract<ContextMessage, { type: "refused" }>): void {
    this.say(msg.message);
    if (!this.input.value && !this.mentions.names().length) {
      this.input.value = msg.text;
      this.mentions.restore(msg.context);
      this.remember();
    }
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
    const committed = new Set(this.shownIds);
    for (const turnId of this.dirty) {
      const turn = this.live.turns.get(turnId);
      if (!turn || committed.has(turnId)) continue;
      let view = this.liveViews.get(turnId);
      if (!view) {
        const assistant = messageFrame("assistant", turnId, "streaming");
        assistant.setAttribute("aria-busy", "true"); // screen readers read it once, when committed
        const parts = new LiveParts(this.renderOptions, this.toolHooks);
        assistant.append(parts.element, streamingIndicator());
        view = { user: userMessage(turnId, turn.user, "complete"), assistant, parts, reasoning: null };
        this.liveViews.set(turnId, view);
        this.liveList.append(view.user, view.assistant);
      }
      if (turn.reasoning) {
        if (!view.reasoning) {
          view.reasoning = reasoningBox("");
          view.assistant.insertBefore(view.reasoning, view.parts.element);
        }
        const shown = view.reasoning.querySelector(".nbchat-reasoning-text");
        if (shown && shown.textContent !== turn.reasoning) shown.textContent = turn.reasoning;
      }
      view.parts.update(turn.text, turn.tool_calls);
    }
    this.dirty.clear();
    this.showEmpty();
    this.follower.update();
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
    this.showEmpty();
  }
}

function render({ model, el }: RenderProps<WidgetState>): () => void {
  const view = new ChatView(model, el);
  el.append(view.root);
  return () => {
    view.dispose();
    view.root.remove();
  };
}

export default { render };
