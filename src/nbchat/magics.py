"""IPython magics: `%%chat` streams a reply into the cell and keeps it as a Python value.

`%load_ext nbchat` registers `%%chat`/`%chat`, `%chat_connect`, `%chat_new` and `%chat_history`.
They all use one current `Chat` (`current_chat()`); a `ChatWidget()` built without arguments
attaches to the same one, so turns sent from cells show in the widget too.
"""

from __future__ import annotations

import functools
import os
import re
import string
import threading
import time
from argparse import ArgumentParser, Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    line_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from .chat import Chat
from .errors import ConfigurationError, NbchatError, StreamError
from .events import Reply
from .markdown import first_code_block, reply_markdown, reply_text, turns_markdown, turns_text

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .chat import Turn
    from .server import ServerHandle

__all__ = ["ChatMagics", "current_chat", "load_ipython_extension", "use_chat"]

#: Streaming display limits (see LiveView): seconds between updates, and the byte allowance.
UPDATE_INTERVAL = 0.1
UPDATE_SLACK = 16_384
UPDATE_BYTES_PER_SECOND = 32_768

#: What `%chat_connect --demo` talks to on the built-in server, per dialect.
DEMO_TARGETS: dict[str, dict[str, str]] = {
    "chats": {"model": "demo", "user_id": "notebook"},
    "agents": {"agent_id": "ag_demo"},
}

_current: Chat | None = None
_token_env: str | None = None  # the *name* of the variable holding the token, for redaction
_demo: ServerHandle | None = None
_lock = threading.Lock()


def current_chat() -> Chat:
    """The conversation the magics use; made from the NBCHAT_* environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Chat()
        return _current


def use_chat(chat: Chat, *, token_env: str | None = None) -> Chat:
    """Make `chat` the current conversation (what `%chat_connect` does)."""
    global _current, _token_env
    with _lock:
        _current, _token_env = chat, token_env
    return chat


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the magics, and show a `Reply` in a cell as safe Markdown."""
    ipython.register_magics(ChatMagics)
    if _chat_lines not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(_chat_lines)
    formatters = ipython.display_formatter.formatters
    formatters["text/markdown"].for_type(Reply, reply_markdown)
    formatters["text/plain"].for_type(Reply, lambda reply, p, cycle: p.text(reply_text(reply)))
    ipython.display_formatter.ipython_display_formatter.for_type(
        Reply, functools.partial(_display_reply, ipython)
    )


# -- the magics -------------------------------------------------------------------------------


def _chat_arguments(func: Any) -> Any:
    """The options `%%chat` and `%chat` share."""
    options = [
        argument("-o", "--out", metavar="VAR", help="store the Reply in this variable"),
        argument("--model", help="model for this message only"),
        argument("--no-stream", action="store_true", help="use the non-streaming endpoint"),
        argument("--quiet", action="store_true", help="show nothing (errors still raise)"),
        argument(
            "--format",
            choices=["markdown", "text", "code"],
            default="markdown",
            help="markdown output, plain text, or markdown plus the first code block in a new cell",
        ),
        argument("--new", action="store_true", help="start a new conversation first"),
        argument("--no-interpolate", action="store_true", help="send {braces} as they are written"),
    ]
    for option in reversed(options):
        func = option(func)
    return magic_arguments()(func)


@magics_class
class ChatMagics(Magics):
    """`%%chat`, `%chat`, `%chat_connect`, `%chat_new`, `%chat_history`."""

    @needs_local_scope
    @no_var_expand
    @line_cell_magic
    @_chat_arguments
    def chat(self, line: str, cell: str | None = None, local_ns: dict | None = None) -> Any:
        """Send a message and show the reply as it streams.

        `%%chat [options]` sends the cell body; `%chat [options] TEXT` sends the rest of the
        line and returns the Reply (`r = %chat What is 2+2?`). `{name}` is replaced by the
        variable `name`; write `{{` and `}}` for literal braces.
        """
        if cell is None:
            options, text = _split_options(self.chat.parser, line)
        else:
            options, text = line, cell
        args = parse_argstring(self.chat, options)
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"-o needs a variable name, not {args.out!r}")
        if not args.no_interpolate:
            text = interpolate(text, {**self.shell.user_ns, **(local_ns or {})})
        text = text.strip()
        if not text:
            raise UsageError("nothing to send: write a message after %chat or in the cell")
        reply = self._exchange(text, args, line_mode=cell is None)
        return reply if cell is None else None

    @line_magic
    @magic_arguments()
    @argument("url", nargs="?", help="base URL of the server (default: NBCHAT_BASE_URL)")
    @argument("--dialect", choices=["chats", "agents"])
    @argument("--chat-id")
    @argument("--model")
    @argument("--user-id")
    @argument("--workflow-id")
    @argument("--agent", help="agent id (agents dialect)")
    @argument("--session-id")
    @argument("--cookies", metavar="FILE", help="Netscape cookies.txt (as for curl -b)")
    @argument("--token-env", metavar="NAME", help="environment variable holding the token")
    @argument("--timeout", type=float, default=60.0)
    @argument("--demo", action="store_true", help="start the reference server here and use it")
    def chat_connect(self, line: str) -> None:
        """Choose the conversation the magics use. With no arguments, show the current one.

        The token is never typed in: `--token-env NAME` reads it from the variable NAME.
        Prints nothing, so notebooks stay the same from run to run (nbval).
        """
        args = parse_argstring(self.chat_connect, line)
        if not line.strip():
            print(repr(self._chat()))
            return
        if args.demo and args.url:
            raise UsageError("--demo starts its own server: leave out the URL")
        token = None
        if args.token_env:
            token = os.environ.get(args.token_env)
            if not token:
                raise UsageError(f"the environment variable {args.token_env} is not set")
        url, dialect, defaults = args.url, args.dialect, {}
        if args.demo:
            url, dialect = _start_demo(), dialect or "chats"
            defaults = DEMO_TARGETS[dialect]
        try:
            chat = Chat(
                url,
                dialect=dialect,
                chat_id=args.chat_id,
                model=args.model or defaults.get("model"),
                user_id=args.user_id or defaults.get("user_id"),
                workflow_id=args.workflow_id,
                agent_id=args.agent or defaults.get("agent_id"),
                session_id=args.session_id,
                token=token,
                cookies=args.cookies,
                timeout=args.timeout,
            )
        except NbchatError as exc:
            raise UsageError(str(exc)) from None
        use_chat(chat, token_env=args.token_env)  # silent: the demo's port must not reach outputs

    @line_magic
    def chat_new(self, line: str) -> None:
        """Start a new conversation: history forgotten, next message opens a new chat/session."""
        self._chat().new()

    @line_magic
    @magic_arguments()
    @argument("-n", "--last", type=int, default=None, help="only the last N turns")
    def chat_history(self, line: str) -> None:
        """Show the conversation so far as Markdown."""
        args = parse_argstring(self.chat_history, line)
        turns = self._chat().history
        if args.last is not None:
            turns = turns[-args.last :] if args.last > 0 else []
        display(
            {"text/markdown": turns_markdown(turns), "text/plain": turns_text(turns)},
            raw=True,
        )

    # -- internals ----------------------------------------------------------------------------

    def _chat(self) -> Chat:
        try:
            return current_chat()
        except ConfigurationError as exc:
            raise UsageError(f"{exc}; or run %chat_connect URL (or %chat_connect --demo)") from None

    def _exchange(self, text: str, args: Namespace, *, line_mode: bool) -> Reply:
        """Send, show, capture; then raise if the reply did not complete."""
        chat = self._chat()
        if args.new:
            chat.new()
        # Only a kernel's front end can update an output in place; a terminal would reprint it.
        live = not (args.quiet or args.no_stream) and getattr(self.shell, "kernel", None)
        view = LiveView(args.format) if live else None
        turn: Turn | None = None
        failure: BaseException | None = None
        try:
            turn = _send(chat, text, args, view)
        except (KeyboardInterrupt, NbchatError) as exc:
            failure = exc
        if turn is None:
            turn = getattr(failure, "turn", None)
        reply = turn.reply if turn is not None else Reply(status="error")
        if isinstance(failure, KeyboardInterrupt):
            reply.stop()  # also when no stream was open to mark it (--no-stream)
        if args.out:
            self.shell.user_ns[args.out] = reply
        if view is not None:
            view.close()
        if not args.quiet:
            show_final(reply, args.format)
        if line_mode:  # the cell shows the reply already (or was asked not to): not again
            _mark_on_screen(self.shell, reply)
        if args.format == "code" and reply.status == "complete":
            self._code_cell(reply)
        _raise_for(reply, failure)
        return reply

    def _code_cell(self, reply: Reply) -> None:
        code = first_code_block(reply.text)
        if code is None:
            print("nbchat: the reply has no code block")
        else:
            self.shell.set_next_input(code.rstrip("\n"), replace=False)


#: `%chat ...` or `name = %chat ...` on one line, with its indentation.
_CHAT_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<target>[A-Za-z_]\w*[ \t]*=[ \t]*)?%chat(?=\s|$)(?P<rest>.*)$"
)


def _chat_lines(lines: list[str]) -> list[str]:
    """Turn `%chat ...` lines into magic calls before IPython reads them.

    IPython takes a line ending in `word?` as a help request (`%chat What is Python?` would
    show help on `Python`); a question is exactly what `%chat` gets, so its lines are
    converted first, with the text kept verbatim.
    """
    if lines and lines[0].startswith("%%"):
        return lines  # a cell magic's body is its own business
    out = []
    for line in lines:
        match = _CHAT_LINE.match(line.rstrip("\r\n"))
        if match is None:
            out.append(line)
            continue
        call = f"get_ipython().run_line_magic('chat', {match['rest'].strip()!r})"
        out.append(f"{match['indent']}{match['target'] or ''}{call}\n")
    return out


def interpolate(template: str, namespace: dict[str, Any]) -> str:
    """`{name}` → the variable's value (format specs and `!r` work); `{{`/`}}` → braces.

    An unknown name is a UsageError, raised before anything is sent.
    """
    formatter = string.Formatter()
    hint = "write {{ and }} for literal braces, or use --no-interpolate"
    out: list[str] = []
    try:
        parsed = list(formatter.parse(template))
    except ValueError as exc:
        raise UsageError(f"cannot interpolate the message: {exc}; {hint}") from None
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if not field.strip():
            raise UsageError(f"empty {{}} in the message; {hint}")
        try:
            value, _ = formatter.get_field(field, (), namespace)
            value = formatter.convert_field(value, conversion)
            out.append(formatter.format_field(value, spec or ""))
        except (KeyError, AttributeError, IndexError):
            raise UsageError(f"{{{field}}}: no such variable; {hint}") from None
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{{{field}}}: {exc}") from None
    return "".join(out)


def _split_options(parser: ArgumentParser, line: str) -> tuple[str, str]:
    """Options at the start of a `%chat` line, and the message after them (kept verbatim)."""
    takes_value = {
        option: action.nargs != 0 for action in parser._actions for option in action.option_strings
    }
    pos, options = 0, []
    while True:
        rest = line[pos:]
        word = rest.split(maxsplit=1)[0] if rest.strip() else ""
        if not word.startswith("-"):
            break
        pos = line.index(word, pos) + len(word)
        if word == "--":
            break
        options.append(word)
        name = word.split("=", 1)[0]
        if takes_value.get(name) and "=" not in word:
            rest = line[pos:]
            value = rest.split(maxsplit=1)[0] if rest.strip() else ""
            if value:
                pos = line.index(value, pos) + len(value)
                options.append(value)
    return " ".join(options), line[pos:].strip()


# -- sending ----------------------------------------------------------------------------------


def _send(chat: Chat, text: str, args: Namespace, view: LiveView | None) -> Turn:
    """Send one message; the turn is returned, or attached as `.turn` to what is raised."""
    if args.no_stream:
        return _send_whole(chat, text, args.model)
    stream = chat.stream(text, model=args.model)
    try:
        with stream:
            for _ in stream:
                if view is not None:
                    view.update(stream.reply)
    except BaseException as exc:
        exc.turn = stream.turn  # type: ignore[attr-defined]
        raise
    return stream.turn


def _send_whole(chat: Chat, text: str, model: str | None) -> Turn:
    """The non-streaming endpoint. `send` returns only the reply, so the turn (for `-o` on
    failure) is picked up from the Chat's notifications on this thread."""
    me = threading.get_ident()
    turns: list[Turn] = []

    def capture(kind: str, turn: Turn, event: object) -> None:
        if kind == "turn_start" and threading.get_ident() == me and not turns:
            turns.append(turn)

    unsubscribe = chat.subscribe(capture)
    try:
        chat.send(text, stream=False, model=model)
    except BaseException as exc:
        if turns:
            exc.turn = turns[0]  # type: ignore[attr-defined]
        raise
    finally:
        unsubscribe()
    return turns[0]


def _raise_for(reply: Reply, failure: BaseException | None) -> None:
    """Raise so Run All stops, with one short line instead of a page of frames."""
    if isinstance(failure, KeyboardInterrupt):
        stopped = KeyboardInterrupt("the reply was stopped; the partial reply is kept")
        raise _one_line(stopped) from None
    if failure is not None:
        raise _one_line(failure)
    if reply.status != "complete":
        detail = reply.error.message if reply.error else reply.status
        raise _one_line(
            StreamError(f"the reply did not complete ({reply.status}): {detail}", reply)
        )


def _one_line(exc: BaseException) -> BaseException:
    # IPython shows `_render_traceback_()` instead of the traceback when an exception has it.
    line = f"{type(exc).__name__}: {_redact(str(exc))}"
    exc._render_traceback_ = lambda: [line]  # type: ignore[attr-defined]
    return exc


def _redact(text: str) -> str:
    token = os.environ.get(_token_env) if _token_env else os.environ.get("NBCHAT_TOKEN")
    return text.replace(token, "***") if token else text


# -- showing ----------------------------------------------------------------------------------


class LiveView:
    """The reply in the cell as it streams, then once in its final, deterministic form.

    The live output starts and ends empty (an empty bundle, which front ends draw as nothing)
    and the final form is a second, new output (`show_final`). Tools that ignore display
    updates (nbval) and front ends that apply them (JupyterLab, nbclient) see the same outputs.

    Each update re-sends the whole reply so far, so updates are limited twice: at most one per
    UPDATE_INTERVAL, and in total UPDATE_SLACK + half the reply + UPDATE_BYTES_PER_SECOND per
    second of streaming. Short or slow replies update smoothly; a long fast one refreshes a few
    times and then shows its final form, instead of flooding IOPub with copies of itself.
    """

    def __init__(self, fmt: str) -> None:
        self._mime = "text/plain" if fmt == "text" else "text/markdown"
        self._handle: Any = display({}, raw=True, display_id=True)
        self._body = ""  # what the live output shows now
        self._sent = 0
        self._started: float | None = None
        self._last = 0.0

    def update(self, reply: Reply) -> None:
        now = time.monotonic()
        if self._started is None:  # a reply done within one interval shows only its final form
            self._started = self._last = now
        if now - self._last < UPDATE_INTERVAL:
            return
        size = len(reply.text)
        allowance = UPDATE_SLACK + size // 2 + UPDATE_BYTES_PER_SECOND * (now - self._started)
        if self._sent + size > allowance:
            return
        body = reply_text(reply) if self._mime == "text/plain" else reply_markdown(reply)
        if body == self._body:
            return
        self._handle.update({self._mime: body}, raw=True)
        self._body = body
        self._sent += len(body)
        self._last = now

    def close(self) -> None:
        """Empty the live output; the final form follows as its own output (`show_final`).

        Unconditional: an interrupt may have landed between an update and its bookkeeping.
        """
        self._handle.update({}, raw=True)


def show_final(reply: Reply, fmt: str) -> None:
    """The reply's final output: Markdown and plain text, or plain text only."""
    data = {"text/plain": reply_text(reply)}
    if fmt != "text":
        data["text/markdown"] = reply_markdown(reply)
    display(data, raw=True)


_on_screen: tuple[int, list[Reply]] = (-1, [])


def _mark_on_screen(shell: InteractiveShell, reply: Reply) -> None:
    """Remember that this cell already shows `reply`, so returning it does not show it twice."""
    global _on_screen
    count, replies = _on_screen
    if count != shell.execution_count:
        _on_screen = count, replies = shell.execution_count, []
    replies.append(reply)


def _display_reply(shell: InteractiveShell, reply: Reply) -> None:
    """Show a Reply as safe Markdown, unless this cell shows it already (`r = %chat ...`)."""
    count, replies = _on_screen
    if count == shell.execution_count and any(r is reply for r in replies):
        return
    formatters = shell.display_formatter.formatters
    display({mime: formatters[mime](reply) for mime in ("text/markdown", "text/plain")}, raw=True)


def _start_demo() -> str:
    """The demo server's URL: the one `nbchat demo` runs (NBCHAT_DEMO_URL), else a reference
    server started in this kernel once and reused."""
    global _demo
    from .server import start_server

    if os.environ.get("NBCHAT_DEMO_URL"):
        return os.environ["NBCHAT_DEMO_URL"]
    with _lock:
        if _demo is None or not _demo.running:
            _demo = start_server(port=0)
        return _demo.url
