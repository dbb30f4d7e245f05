// Shapes shared with src/nbchat/widget.py (the message protocol and the `messages` trait).

export interface ToolCall {
  name: string;
  args: unknown;
  id: string | null;
  result: unknown;
  done: boolean;
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

export type Status = "streaming" | "complete" | "error" | "incomplete" | "stopped";

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
}

/** A turn still streaming: what the kernel has sent of it so far. */
export interface LiveTurn {
  turn: string;
  user: string;
  text: string;
  tool_calls: ToolCall[];
}

/** A tool call record that changed, with its position in the turn's list. */
export interface ToolUpdate extends ToolCall {
  index: number;
}

/** The end of a turn: its last text and tool changes, and its outcome. `user` is there when
 * the turn never started live (everything comes in this message). */
export interface TurnEnd {
  type: "turn_end";
  seq: number;
  turn: string;
  text: string;
  tools?: ToolUpdate[];
  status: Status;
  usage: Usage | null;
  error: ErrorInfo | null;
  user?: string;
}

/** Kernel → front end custom messages (a delta arrives as the list `WireDelta`). */
export type KernelMessage =
  | { type: "turn_start"; seq: number; turn: string; user: string; text: string; tool_calls: ToolCall[] }
  | { type: "delta"; seq: number; turn: string; text: string; tools?: ToolUpdate[] }
  | TurnEnd
  /** The live turns, and the transcript from index `base` on (`base` is what the view said
   * it has, or 0 when its copy differs from the kernel's). */
  | { type: "sync"; seq: number; live: LiveTurn[]; base: number; messages: Message[] };

/** A delta as sent: the one frequent message, kept small. */
export type WireDelta = ["delta", number, string, string, ToolUpdate[]?];

/** Front end → kernel custom messages. */
export type ViewMessage =
  | { type: "sync"; have: number; last: string | null }
  | { type: "send"; text: string }
  | { type: "stop" }
  | { type: "retry"; turn: string }
  | { type: "new" };

export interface WidgetState {
  messages: Message[];
  status: "idle" | "streaming";
  allow_remote_images: boolean;
  title: string;
}
