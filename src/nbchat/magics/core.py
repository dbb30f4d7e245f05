"""`ChatMagics`: the magics themselves; they keep their state on the instance."""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable
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
from IPython.core.magic_arguments import argument
from IPython.display import display

from ..budget import Part
from ..chat import Chat
from ..errors import ConfigurationError, ContextTooLargeError, NbchatError
from ..events import Reply
from ..kernel import explain_prompt
from ..markdown import first_code_block, turns_html, turns_text
from ..session import Session, session
from ..toolloop import ask_with_input
from .connect import DemoServer, connect, connect_parser
from .display import LiveView, OnScreen, show_final
from .options import chat_arguments, interpolate, magic_options, parse_line, split_options
from .tools import TOOL_STEPS, named_tools, tools_listing

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


__all__ = ["ChatMagics"]


@magics_class
class ChatMagics(Magics):
    """`%%chat`, `%chat`, `%chat_connect`, `%chat_tools`, `%chat_new`, `%chat_history`,
    `%chat_context`."""

    shell: InteractiveShell  # always given (see __init__), never None

    def __init__(self, shell: InteractiveShell, current: Session = session) -> None:
        super().__init__(shell)
        self.session = current
        self.on_screen = OnScreen(shell)
        self.demo = DemoServer()

    @needs_local_scope
    @no_var_expand
    @line_cell_magic
    @chat_arguments
    def chat(self, line: str, cell: str | None = None, local_ns: dict | None = None) -> Any:
        """Send a message and show the reply as it streams.

        `%%chat [options]` sends the cell body; `%chat [options] TEXT` sends the rest of the
        line and returns the Reply (`r = %chat What is 2+2?`). `{name}` is replaced by the
        variable `name`; write `{{` and `}}` for literal braces.
        """
        try:
            return self._chat_cell(line, cell, local_ns or {})
        except BaseException as exc:
            self.session.errors.ignore(exc)  # not an error of the user's code: {Err} skips it
            raise

    def _chat_cell(self, line: str, cell: str | None, local_ns: dict) -> Reply | None:
        if cell is None:
            options, text = split_options(self.chat, line)
        else:
            options, text = line, cell
        args = parse_line(self.chat, options)
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"-o needs a variable name, not {args.out!r}")
        text, parts = self._message(text, args, local_ns)
        if not text:
            raise UsageError("nothing to send: write a message after %chat or in the cell")
        try:
            self.session.budget.check(text, parts)
        except ContextTooLargeError as exc:
            raise self._one_line(exc) from None
        tools = named_tools(args.tools, {**self.shell.user_ns, **(local_ns or {})})
        reply = self._exchange(text, args, tools, line_mode=cell is None)
        return reply if cell is None else None

    @line_magic
    @magic_options
    @argument("--max-context", type=int, metavar="N", help="characters each {value} may take")
    @argument("--max-tokens", type=int, metavar="N", help="tokens a message may take (0: no limit)")
    def chat_context(self, line: str) -> None:
        """Set how kernel values go into messages; with no options, show the settings."""
        args = parse_line(self.chat_context, line)
        context, budget = self.session.context, self.session.budget
        if args.max_context is not None:
            context.max_chars = _positive("--max-context", args.max_context)
        if args.max_tokens is not None:
            if args.max_tokens < 0:
                raise UsageError("--max-tokens needs a number of tokens, or 0 for no limit")
            budget.max_tokens = args.max_tokens or None
        if not line.strip():
            limit = f"{budget.max_tokens:,}" if budget.max_tokens else "none"
            method = budget.estimate("").method
            print(
                f"max context per value: {context.max_chars:,} characters; "
                f"max tokens per message: {limit} (counted by {method})"
            )

    @line_magic
    def chat_connect(self, line: str) -> None:
        """Choose the conversation the magics use. With no arguments, show the current one.

        `%chat_connect URL --dialect NAME --flag value ...`; `%chat_connect --help` lists every
        dialect's flags. The token is never typed in: `--token-env NAME` reads it from the
        variable NAME. Prints nothing, so notebooks stay the same from run to run (nbval).
        """
        parser = connect_parser()
        args = parse_line(parser, line)
        if args.help:
            print(parser.format_help())
            return
        if not line.strip():
            print(repr(self._chat()))
            return
        chat, token_env = connect(args, self.demo)
        self.session.use(chat, token_env=token_env)  # silent: the demo's port stays out

    @line_magic
    def chat_tools(self, line: str) -> None:
        """List the tools the current conversation offers the model (`Chat(tools=...)`,
        `chat.add_tool`), with their parameters, approval and timeout."""
        if line.strip():
            raise UsageError("%chat_tools takes no arguments; %%chat --tools a,b adds some")
        chat = self._chat()
        print(tools_listing(chat))

    @line_magic
    def chat_new(self, line: str) -> None:
        """Start a new conversation: history forgotten, next message opens a new chat/session."""
        self._chat().new()

    @line_magic
    @magic_options
    @argument("-n", "--last", type=int, default=None, help="only the last N turns")
    @argument("--json", action="store_true", help="return the turns with their provenance")
    def chat_history(self, line: str) -> list[dict[str, Any]] | None:
        """Show the conversation so far, rendered (sanitized HTML) with a plain-text twin; with
        --json, return it as a list of dicts (id, user, reply, and where each reply came from:
        see `Turn.provenance`)."""
        args = parse_line(self.chat_history, line)
        turns = self._chat().history
        if args.last is not None:
            turns = turns[-args.last :] if args.last > 0 else []
        if args.json:
            return [turn.to_dict() for turn in turns]
        display(
            {"text/html": turns_html(turns), "text/plain": turns_text(turns)},
            raw=True,
        )
        return None

    # -- internals ----------------------------------------------------------------------------

    def _message(self, text: str, args: Namespace, local_ns: dict) -> tuple[str, list[Part]]:
        """The message a cell sends, and its parts (for the budget)."""
        context = self.session.context
        chosen = context.max_chars if args.max_context is None else args.max_context
        limit = _positive("--max-context", chosen)

        def render(value: Any) -> str:
            return context.render(value, limit)

        if args.no_interpolate:
            parts = [Part("the text you wrote", text)]
        else:
            namespace = _Namespace({**self.shell.user_ns, **local_ns}, self._last_error_text)
            text, parts = interpolate(text, namespace, render)
        if args.explain_error:
            error = self.session.errors.last_error()
            if error is None:
                raise UsageError("--explain-error: no cell has raised an error in this kernel yet")
            return explain_prompt(error, text, self.shell, render)
        return text.strip(), parts

    def _last_error_text(self) -> str:
        error = self.session.errors.last_error()
        if error is None:
            raise UsageError("{Err}: no cell has raised an error in this kernel yet")
        return error.describe(self.shell)

    def _chat(self) -> Chat:
        try:
            return self.session.current()
        except ConfigurationError as exc:
            raise UsageError(f"{exc}; or run %chat_connect URL (or %chat_connect --demo)") from None

    def _exchange(self, text: str, args: Namespace, tools: list[Any], *, line_mode: bool) -> Reply:
        """Send, show, capture; then raise if the reply did not complete."""
        chat = self._chat()
        if args.new:
            chat.new()
        # Only a kernel's front end can update an output in place; a terminal would reprint it.
        live = not (args.quiet or args.no_stream) and getattr(self.shell, "kernel", None)
        view = LiveView(args.format, reasoning=args.reasoning) if live else None
        try:
            events = chat.stream(
                text,
                model=args.model,
                whole=args.no_stream,
                ask=ask_with_input,
                tools=tools,
                approve=args.approve,
            )
        except ConfigurationError as exc:
            raise UsageError(str(exc)) from None
        failure: BaseException | None = None
        try:
            with events:
                for event in events:
                    if view is not None:
                        view.update(events.reply, urgent=isinstance(event, TOOL_STEPS))
            events.reply.raise_for_status()
        except (KeyboardInterrupt, NbchatError) as exc:
            failure = exc
        reply = events.reply
        if args.out:
            self.shell.user_ns[args.out] = reply
        if view is not None:
            view.close()
        if not args.quiet:  # a failure's message shows once: in the exception raised below
            show_final(
                reply,
                args.format,
                events.turn.provenance(),
                reasoning=args.reasoning,
                status=failure is None,
            )
        if line_mode:  # the cell shows the reply already (or was asked not to): not again
            self.on_screen.mark(reply)
        if args.format == "code" and reply.status == "complete":
            self._code_cell(reply)
        if isinstance(failure, KeyboardInterrupt):
            stopped = KeyboardInterrupt("the reply was stopped; the partial reply is kept")
            raise self._one_line(stopped) from None
        if failure is not None:  # raised so Run All stops, in one short line
            raise self._one_line(failure)
        return reply

    def _code_cell(self, reply: Reply) -> None:
        code = first_code_block(reply.text)
        if code is None:
            print("nbchat: the reply has no code block")
        else:
            self.shell.set_next_input(code.rstrip("\n"), replace=False)

    def _one_line(self, exc: BaseException) -> BaseException:
        # IPython shows `_render_traceback_()` instead of the traceback when an exception has it.
        line = f"{type(exc).__name__}: {self.session.redact(str(exc))}"
        exc._render_traceback_ = lambda: [line]  # type: ignore[attr-defined]
        return exc


class _Namespace(dict):
    """The user's namespace, plus `Err` (the last error) unless the user has an `Err`."""

    def __init__(self, names: dict[str, Any], last_error: Callable[[], str]) -> None:
        super().__init__(names)
        self._last_error = last_error

    def __missing__(self, key: str) -> Any:
        if key == "Err":
            return self._last_error()
        raise KeyError(key)


def _positive(option: str, value: int) -> int:
    if value < 1:
        raise UsageError(f"{option} needs a positive number of characters, not {value}")
    return value
