// Shapes shared with src/nbchat/widget.py (the message protocol and the `messages` trait).

export interface ToolCall {
  name: string;
  args: unknown;
  id: string | null;
  result: unknown;
  done: boolean;
  /** Length of the reply's text when the call arrived: where its card goes (parts.ts). */
  offset?: number;
  /** Kernel-side tools: pending (waiting for approval), running, done, error, denied,
   * cancelled; absent or null for a call nothing acted on yet. */
  status?: "pending" | "running" | "done" | "error" | "denied" | "cancelled" | null;
  /** Seconds the tool ran, once it has. */
  elapsed?: number | null;
}

export interface Usage {
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
}

export interface ErrorInfo {
  code: string;
  message: string;
}

/** "interrupted": the kernel went away while the reply streamed (shown by the view only). */
export type Status = "streaming" | "complete" | "error" | "incomplete" | "stopped" | "interrupted";

/** A citation the server attached to a reply. */
export interface Source {
  url: string | null;
  title: string | null;
}

/** One committed transcript entry (an item of the synced `messages` trait). */
export interface Message {
  id: string;
  turn: string;
  role: "user" | "assistant";
  text: string;
  status: Status;
  tool_calls: ToolCall[];
  usage: Usage | null;
  error: ErrorInfo | null;
  /** The model's reasoning, shown collapsed ("" or absent when it sent none). */
  reasoning?: string;
  /** Why the reply ended, as the server said: "length" means it was cut off. */
  finish_reason?: string | null;
  sources?: Source[];
  /** User messages sent from the panel with `@` variables: their renderings. */
  context?: Attachment[];
  /** Assistant messages: where the reply came from (dialect, model, server, ids, times...). */
  provenance?: Record<string, unknown>;
}

/** A kernel variable attached to a message, as the kernel rendered it. */
export interface Attachment {
  name: string;
  text: string;
}

/** A kernel variable offered for `@` completion. */
export interface Variable {
  name: string;
  description: string;
}

/** A turn still streaming: what the kernel has sent of it so far. */
export interface LiveTurn {
  turn: string;
  user: string;
  text: string;
  /** The model's reasoning so far ("" when none). */
  reasoning?: string;
  tool_calls: ToolCall[];
}

/** A tool call record that changed, with its position in the turn's list. */
export interface ToolUpdate extends ToolCall {
  index: number;
}

/** The end of a turn: its last text and reasoning, then its two transcript entries as the
 * kernel keeps them: `user_entry` whole, `entry` (the reply's) without its text and reasoning,
 * which the view has from the stream (or from this message when the turn never started live). */
export interface TurnEnd {
  type: "turn_end";
  seq: number;
  turn: string;
  text: string;
  reasoning?: string;
  user_entry: Message;
  entry: Omit<Message, "text" | "reasoning">;
}

/** Kernel → front end custom messages (a delta arrives as the list `WireDelta`). */
export type KernelMessage =
  | { type: "turn_start"; seq: number; turn: string; user: string; text: string; reasoning?: string; tool_calls: ToolCall[] }
  | { type: "delta"; seq: number; turn: string; text: string; reasoning?: string; tools?: ToolUpdate[] }
  | TurnEnd
  /** The live turns, and the transcript from index `base` on (`base` is what the view said
   * it has, or 0 when its copy differs from the kernel's). */
  | { type: "sync"; seq: number; live: LiveTurn[]; base: number; messages: Message[] };

/** A delta as sent: the one frequent message, kept small (tools null when only reasoning came). */
export type WireDelta = ["delta", number, string, string, (ToolUpdate[] | null)?, string?];

/** Kernel → front end replies about kernel context; unnumbered, outside the turn stream. */
export type ContextMessage =
  | { type: "variables"; items: Variable[] }
  | { type: "refused"; text: string; context: string[]; message: string };

/** Front end → kernel custom messages. */
export type ViewMessage =
  | { type: "sync"; have: number; last: string | null }
  | { type: "send"; text: string; context?: string[] }
  | { type: "variables" }
  | { type: "stop" }
  | { type: "regenerate"; turn: string; text?: string }
  | { type: "new" }
  | { type: "export"; format: "markdown" | "html" | "json"; request: string }
  | { type: "decide"; id: string; approved: boolean };

export interface WidgetState {
  messages: Message[];
  status: "idle" | "streaming";
  allow_remote_images: boolean;
  title: string;
  backend: string;
  /** The widget's model id: the per-panel memory of the views (memory.ts), and whether the
   * model still has a live comm (connection.ts). */
  panel_id: string;
}
