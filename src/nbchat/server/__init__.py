"""The reference server (`nbchat serve`): the chats and agents wire formats over a demo model."""

from .app import create_app
from .runner import ServerHandle, start_server

__all__ = ["ServerHandle", "create_app", "start_server"]
