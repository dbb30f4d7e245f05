"""OpenAI Chat Completions on the reference server: `POST /v1/chat/completions`, `GET /v1/models`.

Stateless, as OpenAI-compatible servers are: each request carries the whole conversation, from
which the demo model's history is rebuilt. The shapes follow OpenAI's API reference (chat
completion object, chunk object with `delta`s, the usage chunk with `choices: []` when
`stream_options.include_usage`, `data: [DONE]`). Reasoning streams as `reasoning_content`, as
vLLM and llama.cpp send it. The calculator is a tool call (arguments streamed in pieces, ending
with `finish_reason: "tool_calls"`); when the client sends the tool's result back, the model
answers with it. A `/tool NAME {args}` prompt calls a tool the request offers in `tools` (one
call per line, all in one round; `/rounds N` repeats them), then answers with the results.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import ApiError, Payload, _guard, _json_object, sse_response
from .demo_model import (
    Call,
    Fail,
    Plan,
    Step,
    Text,
    Thought,
    ToolRequest,
    Turn,
    answer_with_result,
    count_tokens,
    deltas,
    respond,
    tool_answer,
    tool_request,
)

#: The models `GET /v1/models` lists; any other name is a 404 `model_not_found`.
MODELS = ("demo",)
#: Characters of a tool call's `arguments` per streamed chunk.
ARGUMENT_PIECE = 8
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


@dataclass(frozen=True)
class Completion:
    """A checked request: what to answer and how."""

    model: str
    plan: Plan
    finish_reason: str
    prompt_tokens: int
    completion_id: str
    stream: bool
    include_usage: bool

    def usage(self) -> dict[str, int]:
        produced = count_tokens(self.plan.text) + count_tokens(self.plan.reasoning)
        if self.plan.output_tokens is not None:
            produced = self.plan.output_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": produced,
            "total_tokens": self.prompt_tokens + produced,
        }


async def list_models(request: Request) -> Response:
    _guard(request)
    data = [{"id": name, "object": "model", "created": 0, "owned_by": "nbchat"} for name in MODELS]
    return JSONResponse({"object": "list", "data": data})


async def chat_completions(request: Request) -> Response:
    _guard(request)
    completion = _completion(await _json_object(request))
    if completion.stream:
        return sse_response(request, completion.plan, ChunkFormat(completion), _stateless)
    if completion.plan.failure:
        raise ApiError(500, completion.plan.failure)
    return JSONResponse(_whole(completion))


def _stateless(text: str) -> None:
    """Nothing to remember: the client sends the conversation again next time."""


# --- reading the request ----------------------------------------------------------------------


def _completion(body: dict[str, Any]) -> Completion:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty array", param="messages")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be a boolean", param="stream")
    if body.get("n", 1) != 1:
        raise ApiError(400, "the demo model only makes one choice (n=1)", param="n")
    limit = _max_tokens(body)
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, "'stream_options' must be an object", param="stream_options")
    if model not in MODELS:
        known = ", ".join(MODELS)
        message = f"The model `{model}` does not exist; this server has: {known}"
        raise ApiError(404, message, code="model_not_found", param="model")
    plan, prompt_tokens = _plan(messages, _offered(body.get("tools")))
    plan, finish_reason = _limited(plan, limit)
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
    return Completion(
        model=model,
        plan=plan,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        completion_id=f"chatcmpl-{digest[:24]}",
        stream=stream,
        include_usage=options.get("include_usage") is True,
    )


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise ApiError(400, f"'{name}' must be a positive integer", param=name)
        return value
    return None


def _content(message: dict[str, Any], index: int) -> str:
    """A message's text: a string, null, or an array of text parts."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = [part.get("text") if isinstance(part, dict) else None for part in content]
        if all(isinstance(text, str) for text in texts):
            return "".join(str(text) for text in texts)
    param = f"messages[{index}].content"
    raise ApiError(400, f"'{param}' must be a string or an array of text parts", param=param)


def _offered(tools: Any) -> list[str]:
    """The names of the client-side tools a request offers (`tools: [{"type": "function",
    "function": {"name", "description", "parameters"}}]`)."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise ApiError(400, "'tools' must be an array", param="tools")
    names = []
    for index, item in enumerate(tools):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            param = f"tools[{index}].function.name"
            raise ApiError(400, f"'{param}' must be a string", param=param)
        names.append(function["name"])
    return names


def _plan(messages: list[Any], offered: list[str]) -> tuple[Plan, int]:
    """The demo model's answer to the conversation, and the tokens it read."""
    turns: list[Turn] = []
    calls: dict[str, Call] = {}
    user: str | None = None
    answer: list[str] = []
    words = 0
    rounds = 0  # assistant messages with tool calls since the last user message
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            param = f"messages[{index}].role"
            raise ApiError(400, f"'{param}' must be one of {', '.join(sorted(ROLES))}", param=param)
        content = _content(message, index)
        words += count_tokens(content)
        if role == "user":
            if user is not None:
                turns.append(Turn(user, "".join(answer)))
            user, answer, rounds = content, [], 0
        elif role == "assistant":
            answer.append(content)
            made = _tool_calls(message, index)
            calls.update(made)
            rounds += bool(made)
    if messages[-1]["role"] == "tool":
        results = _results(messages, calls)
        request = tool_request(user or "")
        if isinstance(request, ToolRequest):
            if rounds < request.rounds:
                return _tool_plan(request, offered), words
            return tool_answer(results), words
        if len(results) == 1:
            return answer_with_result(results[0]), words
        return tool_answer(results), words
    if messages[-1]["role"] != "user" or user is None:
        raise ApiError(400, "the last message must come from the user or a tool", param="messages")
    request = tool_request(user)
    if isinstance(request, str):
        return Plan(deltas(request)), words
    if request is not None:
        return _tool_plan(request, offered), words
    return respond(user, turns), words


def _results(messages: list[Any], calls: dict[str, Call]) -> list[Call]:
    """The calls answered by the tool messages that end the conversation, with their results."""
    results: list[Call] = []
    index = len(messages) - 1
    while index >= 0 and messages[index].get("role") == "tool":
        call = calls.get(str(messages[index].get("tool_call_id")))
        if call is None:
            raise ApiError(
                400,
                "a tool message answers no tool call of an earlier message",
                param=f"messages[{index}].tool_call_id",
            )
        results.insert(0, replace(call, result=_content(messages[index], index)))
        index -= 1
    return results


def _tool_plan(request: ToolRequest, offered: list[str]) -> Plan:
    """The calls a `/tool` prompt asks for, when the request offers those tools."""
    for call in request.calls:
        if call.name not in offered:
            tools = ", ".join(f"`{name}`" for name in offered) or "none"
            return Plan(
                deltas(
                    f"I cannot call `{call.name}`: the request offers no such tool "
                    f"(tools: {tools})."
                )
            )
    return Plan(list(request.calls))


def _tool_calls(message: dict[str, Any], index: int) -> dict[str, Call]:
    calls = {}
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            param = f"messages[{index}].tool_calls"
            raise ApiError(400, f"'{param}' needs an id and a function for each call", param=param)
        try:
            args = json.loads(function.get("arguments") or "{}")
        except ValueError:
            args = None
        name = str(function.get("name"))
        calls[call["id"]] = Call(name, args if isinstance(args, dict) else {}, "")
    return calls


def _limited(plan: Plan, max_tokens: int | None) -> tuple[Plan, str]:
    """The plan as OpenAI's wire can carry it, and why it ends.

    A reply ends after its first tool calls (the client runs the tools and asks again), and
    after `max_tokens` generated pieces (each text or reasoning step is one token here).
    """
    kept: list[Step] = []
    produced = 0
    for index, step in enumerate(plan.steps):
        if isinstance(step, Text | Thought):
            if max_tokens is not None and produced == max_tokens:
                return replace(plan, steps=kept, output_tokens=produced), "length"
            produced += 1
        kept.append(step)
        following = plan.steps[index + 1] if index + 1 < len(plan.steps) else None
        if isinstance(step, Call) and not isinstance(following, Call):
            return replace(plan, steps=kept), "tool_calls"
    return plan, "stop"


# --- writing the answer -----------------------------------------------------------------------


def _call_id(completion: Completion, index: int) -> str:
    return f"call_{completion.completion_id.removeprefix('chatcmpl-')[:16]}{index}"


def _whole(completion: Completion) -> dict[str, Any]:
    """The chat completion object of a non-streaming answer."""
    plan = completion.plan
    calls = [step for step in plan.steps if isinstance(step, Call)]
    message: dict[str, Any] = {"role": "assistant", "content": plan.text or None}
    if plan.reasoning:
        message["reasoning_content"] = plan.reasoning
    if plan.sources:
        message["annotations"] = _annotations(plan)
    if calls:
        message["tool_calls"] = [
            {
                "id": _call_id(completion, index),
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.args)},
            }
            for index, call in enumerate(calls)
        ]
    return {
        "id": completion.completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": completion.finish_reason,
            }
        ],
        "usage": completion.usage(),
    }


def _annotations(plan: Plan) -> list[dict[str, Any]]:
    """The plan's citations as OpenAI's search models annotate a message."""
    return [
        {"type": "url_citation", "url_citation": {"url": url, "title": title}}
        for title, url in plan.sources
    ]


class ChunkFormat:
    """A plan as chat completion chunks (`object: "chat.completion.chunk"`)."""

    separators = (",", ":")
    tool_pause_steps = 1.0  # argument pieces come at the pace of text

    def __init__(self, completion: Completion) -> None:
        self.completion = completion
        self.created = int(time.time())
        self.calls = 0

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.completion.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.completion.model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if self.completion.include_usage:
            chunk["usage"] = None  # only the last chunk carries usage
        return chunk

    def opening(self) -> list[Payload]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def step(self, step: Step) -> list[Payload]:
        if isinstance(step, Text):
            return [self._chunk({"content": step.text})]
        if isinstance(step, Thought):
            return [self._chunk({"reasoning_content": step.text})]
        if isinstance(step, Call):
            return self._tool_call(step)
        assert isinstance(step, Fail)
        error = {"message": step.message, "type": "server_error", "param": None, "code": None}
        return [{"error": error}]

    def _tool_call(self, call: Call) -> list[Payload]:
        """The call's id and name first, then its JSON arguments in pieces."""
        index, self.calls = self.calls, self.calls + 1
        head = {
            "index": index,
            "id": _call_id(self.completion, index),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        arguments = json.dumps(call.args)
        pieces = [
            arguments[start : start + ARGUMENT_PIECE]
            for start in range(0, len(arguments), ARGUMENT_PIECE)
        ]
        chunks: list[Payload] = [self._chunk({"tool_calls": [head]})]
        chunks += [
            self._chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in pieces
        ]
        return chunks

    def closing(self) -> list[Payload]:
        delta = (
            {"annotations": _annotations(self.completion.plan)}
            if self.completion.plan.sources
            else {}
        )
        closing: list[Payload] = [self._chunk(delta, self.completion.finish_reason)]
        if self.completion.include_usage:
            usage = {**self._chunk({}), "choices": [], "usage": self.completion.usage()}
            closing.append(usage)
        closing.append("[DONE]")
        return closing


ROUTES = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
]

__all__ = ["MODELS", "ROUTES"]
