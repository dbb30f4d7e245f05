"""Tools in the magics: `--tools a,b` read from the notebook, and `%chat_tools`'s listing."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from ..chat import Chat
from ..events import ToolCall, ToolResult, ToolStatus

__all__ = ["TOOL_STEPS", "named_tools", "tools_listing"]

#: Events the live output shows at once, whatever its update rate: a tool's step may be the
#: last event for a while (a tool waiting for approval, or running).
TOOL_STEPS = (ToolCall, ToolStatus, ToolResult)


def named_tools(names: str | None, namespace: dict[str, Any]) -> list[Any]:
    """The functions `--tools a,b` names, from the notebook's variables; UsageError for a
    name that is not a function there."""
    found = []
    for name in (names or "").split(","):
        name = name.strip()
        if not name:
            continue
        function = namespace.get(name)
        if not callable(function):
            raise UsageError(f"--tools: no function named {name!r} in the notebook")
        found.append(function)
    return found


def tools_listing(chat: Chat) -> str:
    """One paragraph per tool: its call signature, then approval, timeout and description."""
    tools = chat.tools
    if not tools:
        return "No tools: pass Chat(tools=[...]), call chat.add_tool(f), or use %%chat --tools f."
    blocks = []
    for tool in tools.values():
        properties = tool.parameters.get("properties", {})
        required = set(tool.parameters.get("required", []))
        params = [name if name in required else f"{name}=…" for name in properties]
        approve = tool.approve if tool.approve is not None else f"{_policy(chat.approve)} (chat)"
        timeout = "none" if tool.timeout is None else f"{tool.timeout:g} s"
        lines = [
            f"{tool.name}({', '.join(params)})  approve: {_policy(approve)}  timeout: {timeout}"
        ]
        if tool.description:
            lines += [f"    {line}" for line in tool.description.splitlines()]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _policy(approve: Any) -> str:
    return approve if isinstance(approve, str) else getattr(approve, "__name__", "a function")
