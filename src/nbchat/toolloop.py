"""The tool loop: one turn that runs the model's tool calls in the kernel until it answers.

A turn with kernel-side tools is still one `Turn` with one `Reply`. Its events are every
round's, in order: the model's text and `ToolCall`s, then for each call a `ToolStatus`
("pending" while it waits for approval, "running") and its `ToolResult` ("done", "error",
"denied"), then the next round's events, up to the final `Done`. A round that ends by asking
for tools does not end the reply: its `Done` is held back and its token usage added to the
final one. The next request is built by the dialect from the conversation, which now includes
this turn's earlier rounds (the openai dialect sends the calls and their results as messages).

`ToolLoop` is a `stream.Source`, so `EventStream` (one lifecycle, stop, listeners) runs it as
it runs a plain reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .client import Deadline
from .errors import NbchatError
from .events import Done, Error, Event, ToolCall, ToolResult, ToolState, ToolStatus, Usage
from .stream import Source, failure_event
from .tools import Approve, Tool, ToolArgumentsError, tool_output

log = logging.getLogger("nbchat")

__all__ = ["DEFAULT_MAX_ROUNDS", "Asker", "ToolLoop", "ask_with_input"]

#: Rounds of tool calls a turn may take before it ends with an error (`max_tool_rounds`).
DEFAULT_MAX_ROUNDS = 8

#: Asks the user about one call that needs approval: True (run it), False (deny it), or a
#: string: denied, with that reason for the model (e.g. no one can be asked).
Asker = Callable[[ToolCall], "bool | str"]

DENIED = "denied: the user did not allow this call"


class ToolLoop:
    """Rounds of model replies and tool runs, as one Source (see the module docstring).

    new_round:  opens the next request (a fresh Source) from the conversation as it stands.
    tools:      the tools by name, as they were when the turn began.
    approve:    the Chat's approval policy; a tool's own `approve` wins.
    max_rounds: tool rounds allowed before the reply ends with Error("max_tool_rounds").
    ask:        who answers "ask" for this turn (the magics: a prompt); None: a decision
                comes through `decide` (the panel's Approve / Deny, or user code).
    """

    #: Seconds between checks for a stop or Ctrl-C while waiting.
    POLL = 0.05

    def __init__(
        self,
        new_round: Callable[[], Source],
        tools: Mapping[str, Tool],
        approve: Approve,
        max_rounds: int,
        ask: Asker | None = None,
    ) -> None:
        self._new_round = new_round
        self._tools = dict(tools)
        self._approve = approve
        self._max_rounds = max_rounds
        self._ask = ask
        self._round: Source | None = None
        self._deadline: Deadline | None = None
        self._closed = threading.Event()
        self._decided = threading.Condition()
        self._decisions: dict[str, bool] = {}
        self._waiting: set[str] = set()
        self._runs: list[_Run] = []

    # -- Source -------------------------------------------------------------------------

    def open(self, deadline: Deadline) -> None:
        self._deadline = deadline
        self._round = self._new_round()
        self._round.open(deadline)

    def events(self) -> Iterator[Event]:
        rounds = 0
        usage: Usage | None = None
        while self._round is not None:
            calls: list[ToolCall] = []
            for event in self._round.events():
                if isinstance(event, Done):
                    usage = _added(usage, event.usage)
                    if calls:
                        break  # the model wants its tools: the reply goes on
                    event.usage = usage
                    yield event
                    return
                if isinstance(event, ToolCall):
                    if event.id is None:  # its result must name it: the API pairs them by id
                        event.id = f"call_nbchat_{uuid.uuid4().hex[:16]}"
                    calls.append(event)
                yield event
                if isinstance(event, Error) or self._closed.is_set():
                    return
            else:
                return  # the round's source ended with its own Error
            if rounds == self._max_rounds:
                yield Error(
                    "max_tool_rounds",
                    f"the model still asked for tools after {rounds} rounds of tool calls "
                    f"(max_tool_rounds={self._max_rounds}); raise max_tool_rounds or ask again",
                )
                return
            rounds += 1
            yield from self._run_round(calls)
            if self._closed.is_set():
                return
            yield from self._next_round()

    def _next_round(self) -> Iterator[Event]:
        assert self._round is not None and self._deadline is not None
        self._round.close()
        self._deadline.reset()
        self._round = self._new_round()
        if self._closed.is_set():  # stopped while the last tool finished: send nothing more
            return
        try:
            self._round.open(self._deadline)
        except NbchatError as exc:
            self._round = None
            if not self._closed.is_set():
                yield failure_event(exc)

    def failure(self, exc: Exception) -> Error:
        if isinstance(exc, NbchatError):  # opening a later round failed
            return failure_event(exc)
        if self._round is None:
            return Error("stream", f"{type(exc).__name__}: {exc}")
        return self._round.failure(exc)

    def close(self) -> None:
        """Stop at once, from any thread: waits end, running async tools are cancelled (a
        sync function cannot be: it finishes in the background and its result is dropped)."""
        self._closed.set()
        with self._decided:
            self._decided.notify_all()
        for run in list(self._runs):
            run.cancel()
        if self._round is not None:
            self._round.close()

    # -- approval -----------------------------------------------------------------------

    def decide(self, call_id: str, approved: bool) -> bool:
        """Approve or deny a call waiting for approval; False when no such call waits."""
        with self._decided:
            if call_id not in self._waiting:
                return False
            self._decisions[call_id] = approved
            self._decided.notify_all()
            return True

    def waiting(self) -> frozenset[str]:
        """The ids of the calls now waiting for a decision."""
        with self._decided:
            return frozenset(self._waiting)

    def _policy(self, tool: Tool, call: ToolCall) -> bool | str | None:
        """True (run), a denial for the model, or None: ask."""
        policy = tool.approve if tool.approve is not None else self._approve
        if policy == "auto":
            return True
        if policy == "never":
            return f"denied: tool {tool.name} may not run here (approve='never')"
        if policy == "ask":
            return None
        assert callable(policy)
        try:
            return True if policy(call) else DENIED
        except Exception as exc:
            log.warning("approve= function failed on %s: %s", call.name, exc)
            return f"denied: the approval function failed ({type(exc).__name__}: {exc})"

    def _verdicts(self, asked: list[_Asked]) -> Iterator[tuple[_Asked, bool | str]]:
        """Each asked call with its decision, as decisions come: from `ask` in call order,
        else from `decide` in whatever order the user answers. Ends early once closed."""
        if self._ask is not None:
            for item in asked:
                yield item, self._ask(item[0])
            return
        remaining = {item[0].id or "": item for item in asked}
        while remaining:
            with self._decided:
                while not (decided := remaining.keys() & self._decisions.keys()):
                    if self._closed.is_set():
                        return
                    self._decided.wait(self.POLL)
                key = min(decided, key=list(remaining).index)
                self._waiting.discard(key)
                approved = self._decisions.pop(key)
            yield remaining.pop(key), True if approved else DENIED

    # -- running ------------------------------------------------------------------------

    def _run_round(self, calls: list[ToolCall]) -> Iterator[Event]:
        finished: queue.Queue[_Run] = queue.Queue()
        asked: list[_Asked] = []
        running: list[_Run] = []
        for call in calls:
            tool = self._tools.get(call.name)
            if tool is None:
                known = ", ".join(sorted(self._tools)) or "none"
                yield _result(call, f"error: no tool named {call.name!r}; tools: {known}", "error")
                continue
            try:
                kwargs = tool.arguments(call.args)
            except ToolArgumentsError as exc:
                yield _result(call, f"error: {exc}", "error")
                continue
            verdict = self._policy(tool, call)
            if verdict is None:
                if self._ask is None:
                    with self._decided:
                        self._waiting.add(call.id or "")
                asked.append((call, tool, kwargs))
                yield ToolStatus(call.id, call.name, "pending")
            elif verdict is True:
                running.append(self._start(call, tool, kwargs, finished))
                yield ToolStatus(call.id, call.name, "running")
            else:
                yield _result(call, str(verdict), "denied")
        for (call, tool, kwargs), verdict in self._verdicts(asked):
            if self._closed.is_set():
                return
            if verdict is True:
                running.append(self._start(call, tool, kwargs, finished))
                yield ToolStatus(call.id, call.name, "running")
            else:
                yield _result(call, DENIED if verdict is False else str(verdict), "denied")
        if self._closed.is_set():
            return
        yield from self._collect(running, finished)

    def _start(
        self, call: ToolCall, tool: Tool, kwargs: dict[str, Any], finished: queue.Queue[_Run]
    ) -> _Run:
        run = _Run(call, tool, kwargs, finished)
        self._runs.append(run)
        run.start()
        return run

    def _collect(self, running: list[_Run], finished: queue.Queue[_Run]) -> Iterator[Event]:
        """Each run's result as it finishes (or times out), until all are in."""
        pending = set(running)
        while pending:
            if self._closed.is_set():
                return
            now = time.monotonic()
            for run in [run for run in pending if run.deadline <= now]:
                pending.discard(run)
                run.cancel()
                note = f"error: timed out after {run.tool.timeout:g} s (the tool's timeout)"
                yield _result(run.call, note, "error", now - run.started)
            wait = min((run.deadline for run in pending), default=now) - now
            try:
                run = finished.get(timeout=max(0.0, min(self.POLL, wait)))
            except queue.Empty:
                continue
            if run in pending:
                pending.discard(run)
                yield _result(run.call, run.output, run.status, run.elapsed)
        self._runs = [run for run in self._runs if run not in running]


#: A call waiting for approval, with its tool and validated arguments.
_Asked = tuple[ToolCall, Tool, dict[str, Any]]


class _Run:
    """One tool call running on its own thread (async tools on their own event loop there)."""

    def __init__(
        self, call: ToolCall, tool: Tool, kwargs: dict[str, Any], finished: queue.Queue[_Run]
    ) -> None:
        self.call, self.tool, self._kwargs, self._finished = call, tool, kwargs, finished
        self.started = time.monotonic()
        self.deadline = self.started + tool.timeout if tool.timeout is not None else math.inf
        self.output = ""
        self.status: ToolState = "done"
        self.elapsed = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        name = f"nbchat-tool-{self.tool.name}"
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self) -> None:
        try:
            if self.tool.is_async:
                value = asyncio.run(self._awaited())
            else:
                value = self.tool.function(**self._kwargs)
            self.output = tool_output(value)
        except BaseException as exc:  # the model hears of it; the kernel goes on
            self.output = f"error: {type(exc).__name__}: {exc}"
            self.status = "error"
        self.elapsed = time.monotonic() - self.started
        self._finished.put(self)

    async def _awaited(self) -> Any:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        return await self.tool.function(**self._kwargs)

    def cancel(self) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)


def _result(
    call: ToolCall, text: str, status: ToolState, elapsed: float | None = None
) -> ToolResult:
    return ToolResult(call.name, text, call.id, status, elapsed)


def _added(total: Usage | None, more: Usage | None) -> Usage | None:
    """Token counts of all rounds: summed where both rounds report them."""
    if total is None or more is None:
        return more or total

    def add(a: int | None, b: int | None) -> int | None:
        return None if a is None or b is None else a + b

    return Usage(
        add(total.input_tokens, more.input_tokens),
        add(total.output_tokens, more.output_tokens),
        add(total.total_tokens, more.total_tokens),
    )


HEADLESS = (
    "denied: approval is needed but no one can be asked (no input in this run, e.g. "
    "nbclient or papermill); use approve='auto' or a function for unattended runs"
)


def ask_with_input(call: ToolCall) -> bool | str:
    """Ask on stdin whether `call` may run (a Jupyter kernel's input box, or a terminal);
    in a run with no input (nbclient, papermill, a script without a terminal) the call is
    denied with a note saying why."""
    if not _can_prompt():
        return HEADLESS
    arguments = json.dumps(call.args, ensure_ascii=False)
    if len(arguments) > 500:
        arguments = arguments[:500] + "…"
    try:
        answer = input(f"nbchat: run tool {call.name}({arguments})? [y/N] ")
    except (EOFError, NotImplementedError, OSError):  # IPython's StdinNotImplementedError
        return HEADLESS
    return answer.strip().lower() in ("y", "yes")


def _can_prompt() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:  # ipykernel: only when the client allows input for this cell
        return bool(getattr(kernel, "_allow_stdin", False))
    return sys.stdin is not None and sys.stdin.isatty()
