// Shapes shared with src/nbchat/widget.py (the message protocol and the `messages` trait).

export interface ToolCall {
  name: string;
  args: unknown;
  id: string | null;
  result: unknown;
  done: boolean;
  /** Length of the reply's text when the call arrived: where its card goes (parts.ts). */
  offset?: number;
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

/** Kernel → front end custom messages. */
export type KernelMessage =
  | { type: "turn_start"; seq: number; turn: string; user: string; text: string; tool_calls: ToolCall[] }
  | { type: "delta"; seq: number; turn: string; text: string; tools?: ToolUpdate[] }
  | { type: "turn_end"; seq: number; turn: string; status: Status }
  | { type: "sync"; seq: number; live: LiveTurn[] };

/** Front end → kernel custom messages. */
export type ViewMessage =
  | { type: "sync" }
  | { type: "send"; text: string }
  | { type: "stop" }
  | { type: "regenerate"; turn: string; text?: string }
  | { type: "new" }
  | { type: "export"; format: "markdown" | "html" | "json" };

export interface WidgetState {
  messages: Message[];
  status: "idle" | "streaming";
  allow_remote_images: boolean;
  title: string;
  backend: string;
}
