"""`ChatMagics`: the magics themselves; they keep their state on the instance."""

from __future__ import annotations

from argparse import Namespace
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

from ..chat import Chat
from ..errors import ConfigurationError, NbchatError
from ..events import Reply
from ..markdown import first_code_block, turns_markdown, turns_text
from ..session import Session, session
from .connect import DemoServer, connect, connect_parser
from .display import LiveView, OnScreen, show_final
from .options import chat_arguments, interpolate, split_options

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


__all__ = ["ChatMagics"]


@magics_class
class ChatMagics(Magics):
    """`%%chat`, `%chat`, `%chat_connect`, `%chat_new`, `%chat_history`."""

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
        if cell is None:
            options, text = split_options(self.chat, line)
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
    def chat_connect(self, line: str) -> None:
        """Choose the conversation the magics use. With no arguments, show the current one.

        `%chat_connect URL --dialect NAME --flag value ...`; `%chat_connect --help` lists every
        dialect's flags. The token is never typed in: `--token-env NAME` reads it from the
        variable NAME. Prints nothing, so notebooks stay the same from run to run (nbval).
        """
        parser = connect_parser()
        args = parser.parse_argstring(line)
        if args.help:
            print(parser.format_help())
            return
        if not line.strip():
            print(repr(self._chat()))
            return
        chat, token_env = connect(args, self.demo)
        self.session.use(chat, token_env=token_env)  # silent: the demo's port stays out

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
            return self.session.current()
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
        events = chat.stream(text, model=args.model, whole=args.no_stream)
        failure: BaseException | None = None
        try:
            with events:
                for _ in events:
                    if view is not None:
                        view.update(events.reply)
            events.reply.raise_for_status()
        except (KeyboardInterrupt, NbchatError) as exc:
            failure = exc
        reply = events.reply
        if args.out:
            self.shell.user_ns[args.out] = reply
        if view is not None:
            view.close()
        if not args.quiet:
            show_final(reply, args.format)
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
