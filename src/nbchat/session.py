"""The current conversation of the Jupyter edge, shared by the magics and `ChatWidget()`.

Jupyter-free on purpose: the widget and the magics both use it without importing each other.
"""

from __future__ import annotations

import os
import threading

from .chat import Chat
from .dialects import DEFAULT_DIALECT, DIALECTS, connection_settings

__all__ = ["Session", "current_chat", "session", "use_chat"]


class Session:
    """One current `Chat`, made from the NBCHAT_* environment on first use, plus the *name* of
    the environment variable holding its token (so messages can redact the token's value)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chat: Chat | None = None
        self._token_env: str | None = None

    def current(self) -> Chat:
        """The current Chat; raises ConfigurationError when the environment names no server."""
        with self._lock:
            if self._chat is None:
                self._chat = Chat()
            return self._chat

    def use(self, chat: Chat, *, token_env: str | None = None) -> Chat:
        """Make `chat` current; `token_env` names the variable its token came from."""
        with self._lock:
            self._chat, self._token_env = chat, token_env
        return chat

    def reset(self) -> None:
        """Forget the current Chat; the next `current()` makes one from the environment."""
        with self._lock:
            self._chat, self._token_env = None, None

    def redact(self, text: str) -> str:
        """`text` with the token's value replaced by ***: the value of the variable named at
        connect time, and of every variable the current dialect reads a secret from (e.g.
        NBCHAT_TOKEN)."""
        with self._lock:
            names = [self._token_env] if self._token_env else []
            dialect = DIALECTS.get(self._chat.dialect) if self._chat else None
        kind = dialect or DIALECTS[DEFAULT_DIALECT]
        names += [env for item in connection_settings(kind) if item.secret for env in item.env]
        for name in names:
            token = os.environ.get(name)
            if token:
                text = text.replace(token, "***")
        return text


#: The kernel's one session: a notebook has one current conversation.
session = Session()


def current_chat() -> Chat:
    """The current conversation (`session.current()`)."""
    return session.current()


def use_chat(chat: Chat, *, token_env: str | None = None) -> Chat:
    """Make `chat` the current conversation (what `%chat_connect` does)."""
    return session.use(chat, token_env=token_env)
