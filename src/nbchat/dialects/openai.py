"""The `openai` wire format: Chat Completions, as OpenAI, vLLM, Ollama, llama.cpp, LM Studio and
LiteLLM serve it (https://platform.openai.com/docs/api-reference/chat).

The backend keeps no state, so every request carries the whole conversation. A streamed reply
comes as `chat.completion.chunk` objects whose `choices[0].delta` holds content, reasoning or
tool-call fragments; then, when asked with `stream_options.include_usage`, a chunk with
`choices: []` and `usage`; then `data: [DONE]`.

What real servers do besides the reference, and this module accepts:
- reasoning as `delta.reasoning_content` (vLLM, llama.cpp, DeepSeek) or `delta.reasoning`
  (Ollama, newer vLLM);
- tool-call fragments without `index`, or with one index for several calls, told apart by
  `id`; the name and id repeated in every fragment (llama-cpp-python);
- no usage chunk when streaming (llama-cpp-python), or usage on the finishing chunk;
- an `{"error": {...}}` object in the middle of a stream (vLLM, OpenAI);
- a stream that ends after `finish_reason` without `data: [DONE]`;
- citations as `annotations` of type `url_citation` on the delta or message (OpenAI's search
  models, OpenRouter), or as top-level `citations` (URLs) and `search_results` ({title, url})
  beside the choices (Perplexity): they become the reply's `sources`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..events import (
    Done,
    Error,
    Event,
    ReasoningDelta,
    Reply,
    Source,
    Start,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    Usage,
)
from ..settings import BASE_URL, TOKEN, setting
from .base import Decoder, Dialect, HttpRequest, MalformedPayload, parse_json_object

if TYPE_CHECKING:
    from ..turn import Turn

DONE = "[DONE]"
#: Body fields the dialect writes itself; `params` may not set them.
RESERVED = frozenset({"model", "messages", "stream"})


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError('expected a JSON object, e.g. {"temperature": 0}')
    return value


@dataclass(frozen=True)
class OpenAISettings:
    model: str | None = setting("model id, e.g. gpt-4", env=["NBCHAT_MODEL"], required=True)
    system: str | None = setting("system message, sent first in every request")
    params: Mapping[str, Any] | None = setting(
        'extra request-body fields, e.g. {"temperature": 0} (JSON for the flag)',
        parse=_json_object,
    )


class OpenAIDialect(Dialect[OpenAISettings]):
    name = "openai"
    summary = (
        "`POST {base_url}/chat/completions` (base URL with `/v1`), OpenAI-compatible;"
        " `Authorization: Bearer`"
    )
    settings = OpenAISettings
    client_tools = True
    # As users of the OpenAI SDKs expect: these variables first, then nbchat's.
    connection = (
        dataclasses.replace(
            BASE_URL,
            help="server URL with the version path, e.g. http://localhost:11434/v1",
            env=("OPENAI_BASE_URL", *BASE_URL.env),
        ),
        dataclasses.replace(TOKEN, env=("OPENAI_API_KEY", *TOKEN.env)),
    )

    def request(
        self,
        settings: OpenAISettings,
        history: Sequence[Turn],
        *,
        stream: bool,
        tools: Sequence[Mapping[str, Any]] = (),
    ) -> HttpRequest:
        params = settings.params or {}
        reserved = sorted(RESERVED & set(params))
        if reserved:
            raise ConfigurationError(
                f"params= cannot set {reserved[0]!r}: the openai dialect writes it itself"
            )
        body: dict[str, Any] = {
            "model": settings.model,
            "messages": conversation_messages(settings.system, history),
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = [{"type": "function", "function": dict(spec)} for spec in tools]
        body.update(params)
        return HttpRequest.post("/chat/completions", body, stream=stream)

    def parse_reply(self, body: Any) -> Reply:
        return parse_completion(body)

    def decoder(self) -> OpenAIDecoder:
        return OpenAIDecoder()


@dataclass
class _PartialCall:
    """A tool call whose fragments are still arriving."""

    index: int | None
    id: str | None
    name: str = ""
    arguments: str = ""


def parse_arguments(arguments: Any) -> Any:
    """A tool call's arguments: the parsed JSON, `{}` for none, or the text itself when it is
    not JSON (small models write broken JSON; the caller still sees what they wrote). A server
    that sends an object instead of JSON text (as Ollama's own API does) has it kept."""
    if not isinstance(arguments, str):
        return {} if arguments is None else arguments
    if not arguments.strip():
        return {}
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def usage_of(raw: Any) -> Usage | None:
    """OpenAI's `usage` (prompt/completion/total tokens) as a `Usage`."""
    if not isinstance(raw, dict):
        return None
    counts = [raw.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")]
    return Usage(*(count if type(count) is int else None for count in counts))


def server_error(payload: dict[str, Any]) -> Error | None:
    """The `Error` event for an `{"error": ...}` object in a stream or an answer."""
    error = payload.get("error")
    if error is None:
        return None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type") or "server"
        return Error(str(code), str(error.get("message") or code))
    return Error("server", str(error))


class OpenAIDecoder(Decoder):
    """Decodes one streamed reply: fresh for each stream, since it merges tool-call fragments
    and holds `finish_reason` and usage until `[DONE]`. `end` completes a reply whose server
    sent `finish_reason` but closed the stream without `[DONE]`."""

    def __init__(self) -> None:
        self.finished = False
        self._started = False
        self._message_id: str | None = None
        self._calls: list[_PartialCall] = []
        self._usage: Usage | None = None
        self._finish_reason: str | None = None
        self._sources: dict[str, Source] = {}  # by URL, in the order first cited

    def decode(self, data: str, event: str = "message") -> list[Event]:
        if self.finished:
            return []  # bytes after [DONE] or an error are ignored
        if data[0] != "{" and data.strip() == DONE:
            return self._done()
        payload = parse_json_object(data)
        # Most chunks are one piece of content and nothing else: answer those first.
        choices = payload.get("choices")
        if self._started and type(choices) is list and len(choices) == 1:
            choice = choices[0]
            delta = choice.get("delta") if type(choice) is dict else None
            if type(delta) is dict and len(delta) == 1 and choice.get("finish_reason") is None:
                content = delta.get("content")
                plain = "error" not in payload and payload.get("usage") is None
                if type(content) is str and content and plain and choice.get("index", 0) == 0:
                    return [TextDelta(content)]
        return self._chunk(payload, choices)

    def _chunk(self, payload: dict[str, Any], choices: Any) -> list[Event]:
        if "error" in payload:
            failure = server_error(payload)
            if failure is not None:
                self.finished = True
                return [failure]
        events: list[Event] = []
        if not self._started and isinstance(payload.get("id"), str):
            self._started = True
            self._message_id = payload["id"]
            events.append(Start(self._message_id))
        if payload.get("usage") is not None:
            self._usage = usage_of(payload["usage"]) or self._usage
        cite(payload, self._sources)
        if not choices:
            return events
        if type(choices) is not list:
            raise MalformedPayload("'choices' is not a list")
        for choice in choices:
            if type(choice) is dict and choice.get("index", 0) == 0:  # nbchat asks for n=1
                self._choice(choice, events)
        return events

    def end(self) -> list[Event]:
        """The stream closed: complete if the server had finished, else nothing (incomplete)."""
        if self.finished or self._finish_reason is None:
            return []
        return self._done()

    def _choice(self, choice: dict[str, Any], events: list[Event]) -> None:
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise MalformedPayload("'delta' is not an object")
        for key in ("reasoning_content", "reasoning"):
            reasoning = delta.get(key)
            if isinstance(reasoning, str) and reasoning:
                events.append(ReasoningDelta(reasoning))
                break
        content = delta.get("content")
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        elif content is not None and not isinstance(content, str):
            raise MalformedPayload("'delta.content' is not a string")
        for fragment in delta.get("tool_calls") or []:
            if isinstance(fragment, dict):
                events.append(self._merge(fragment))
        cite(delta, self._sources)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self._finish_reason = reason
            events.extend(self._complete_calls())

    def _merge(self, fragment: dict[str, Any]) -> ToolCallDelta:
        """Fold one fragment into its call: found by `id` first, else by `index`."""
        call_id = fragment.get("id") if isinstance(fragment.get("id"), str) else None
        index = fragment.get("index") if type(fragment.get("index")) is int else None
        call = self._find(call_id, index)
        if call is None:
            call = _PartialCall(index, call_id)
            self._calls.append(call)
        function = fragment.get("function") or {}
        name, arguments = function.get("name"), function.get("arguments")
        if isinstance(name, str) and name and not call.name:
            call.name = name
        if isinstance(arguments, dict):  # an object, not JSON text: it comes whole
            arguments = json.dumps(arguments)
        if isinstance(arguments, str):
            call.arguments += arguments
        return ToolCallDelta(call.id, call.name, call.arguments)

    def _find(self, call_id: str | None, index: int | None) -> _PartialCall | None:
        if call_id is not None:
            for call in self._calls:
                if call.id == call_id:
                    return call
        for call in reversed(self._calls):
            if index is not None and call.index != index:
                continue
            if call_id is not None and call.id is not None:
                return None  # a new id at a used index (or with no index): a new call
            if call_id is not None:
                call.id = call_id
            return call
        return None

    def _complete_calls(self) -> list[Event]:
        calls, self._calls = self._calls, []
        return [ToolCall(c.name, parse_arguments(c.arguments), c.id) for c in calls]

    def _done(self) -> list[Event]:
        self.finished = True
        return [
            *self._complete_calls(),
            Done(self._message_id, self._usage, self._finish_reason, (*self._sources.values(),)),
        ]


def cite(part: Mapping[str, Any], into: dict[str, Source]) -> None:
    """Add the citations a chunk, delta or message carries to `into` (by URL, first title
    kept): `annotations` [{type: "url_citation", url_citation: {url, title}}] (OpenAI),
    `citations` [url] and `search_results` [{title, url}] (Perplexity)."""
    found: list[tuple[Any, Any]] = []
    for note in _items(part, "annotations"):
        if isinstance(note, dict) and isinstance(note.get("url_citation"), dict):
            found.append((note["url_citation"].get("url"), note["url_citation"].get("title")))
    found += [(url, None) for url in _items(part, "citations")]
    for result in _items(part, "search_results"):
        if isinstance(result, dict):
            found.append((result.get("url"), result.get("title")))
    for url, title in found:
        if isinstance(url, str) and url:
            known = into.get(url)
            if known is None or (known.title is None and isinstance(title, str)):
                into[url] = Source(url, title if isinstance(title, str) and title else None)


def _items(part: Mapping[str, Any], key: str) -> list[Any]:
    value = part.get(key)
    return value if isinstance(value, list) else []


def parse_completion(body: Any) -> Reply:
    """A `Reply` from a non-streaming answer (a `chat.completion` object)."""
    if not isinstance(body, dict):
        raise MalformedPayload("the answer is not a JSON object")
    reply = Reply()
    failure = server_error(body)
    if failure is not None:
        reply.add(failure)
        return reply
    try:
        choice = body["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        raise MalformedPayload("the answer has no choices[0].message") from None
    if not isinstance(choice, dict) or not isinstance(message, dict):
        raise MalformedPayload("the answer's choices[0].message is not an object")
    message_id = body.get("id") if isinstance(body.get("id"), str) else None
    events: list[Event] = [Start(message_id)]
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        events.append(ReasoningDelta(reasoning))
    if isinstance(message.get("content"), str) and message["content"]:
        events.append(TextDelta(message["content"]))
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            raise MalformedPayload("a tool call in the answer is not an object")
        function = call["function"] if isinstance(call.get("function"), dict) else {}
        arguments = function.get("arguments")
        events.append(
            ToolCall(
                str(function.get("name") or ""),
                parse_arguments(arguments),
                call.get("id"),
            )
        )
    reason = choice.get("finish_reason")
    sources: dict[str, Source] = {}
    cite(body, sources)
    cite(message, sources)
    events.append(
        Done(message_id, usage_of(body.get("usage")), reason or None, (*sources.values(),))
    )
    for event in events:
        reply.add(event)
    return reply


def conversation_messages(system: str | None, history: Sequence[Turn]) -> list[dict[str, Any]]:
    """The `messages` array for a conversation ending with the turn being sent: the system
    message, then each earlier turn's user message and what the assistant answered, in the
    order it happened (text, tool calls that got results, their results, more text), then the
    new user message, then what this turn's earlier rounds produced while kernel-side tools
    run (the calls and their results). A stopped or failed reply's partial text counts, as the
    user saw it. Reasoning is not sent back, as OpenAI and DeepSeek ask; tool calls with no
    result are left out (the API rejects a call without its result)."""
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    for turn in history[:-1]:
        messages.append({"role": "user", "content": turn.user})
        messages.extend(_assistant_messages(turn.reply))
    messages.append({"role": "user", "content": history[-1].user})
    messages.extend(_assistant_messages(history[-1].reply))
    return messages


def _assistant_messages(reply: Reply) -> list[dict[str, Any]]:
    answered = {call.id for call in reply.tool_calls if call.done and call.id is not None}
    messages: list[dict[str, Any]] = []
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []

    def flush() -> None:
        if text or calls:
            # "" rather than null beside tool calls: OpenAI takes either, llama-cpp-python's
            # server rejects null.
            message: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
            if calls:
                message["tool_calls"] = list(calls)
            messages.append(message)
        order = {call["id"]: index for index, call in enumerate(calls)}
        # Results in call order, however they finished (stable for any without a call here).
        messages.extend(sorted(results, key=lambda m: order.get(m["tool_call_id"], len(order))))
        text.clear()
        calls.clear()
        results.clear()

    for event in reply.events:
        if isinstance(event, TextDelta):
            if calls:
                flush()
            text.append(event.text)
        elif isinstance(event, ToolCall) and event.id in answered:
            if results:
                flush()
            arguments = event.args if isinstance(event.args, str) else json.dumps(event.args)
            function = {"name": event.name, "arguments": arguments}
            calls.append({"id": event.id, "type": "function", "function": function})
        elif isinstance(event, ToolResult) and event.id in answered:
            content = event.result if isinstance(event.result, str) else json.dumps(event.result)
            results.append({"role": "tool", "tool_call_id": event.id, "content": content})
    flush()
    return messages
