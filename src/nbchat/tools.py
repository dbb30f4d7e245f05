"""Kernel-side tools: Python functions the model may call, described by a JSON schema.

`@nbchat.tool` (or a plain function given to `Chat(tools=[...])` / `chat.add_tool`) becomes a
`Tool`: its name, its description (the docstring's summary) and the JSON schema of its
parameters (from the signature, the type hints and the docstring's parameter descriptions,
built by pydantic). Arguments the model sends are validated by the same pydantic model before
the function is called. What a tool returns is serialized for the model by `tool_output`.

pydantic and docstring-parser are the `tools` extra (`pip install "nbchat[tools]"`), imported
only when a tool is made, so `import nbchat` stays cheap.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .events import ToolCall

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RESULT_CHARS",
    "Approve",
    "Tool",
    "ToolArgumentsError",
    "as_tool",
    "tool",
    "tool_output",
]

#: Seconds a tool may run before its call fails with a timeout (a `Tool` option).
DEFAULT_TIMEOUT = 60.0
#: The longest result text sent to the model; longer ones are cut, with a note saying so.
MAX_RESULT_CHARS = 20_000
#: Rows and columns of a DataFrame shown to the model (pandas elides the middle).
TABLE_ROWS = 40
TABLE_COLUMNS = 20

#: Who decides whether a call runs: "auto" (it runs), "ask" (the panel's Approve / Deny, or a
#: prompt in the magics), "never" (denied), or a function `(ToolCall) -> bool`.
Approve = Literal["auto", "ask", "never"] | Callable[["ToolCall"], bool]
APPROVE_WORDS = ("auto", "ask", "never")


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool's schema; the message is for the model."""


class Tool:
    """A Python function the model may call.

    function:    the function (sync or `async def`); called with keyword arguments.
    name:        what the model calls it (default: the function's `__name__`).
    description: what the model reads (default: the docstring's text without its parameter
                 section).
    timeout:     seconds (float) before a call fails with a timeout; None: no limit. A sync
                 function cannot be killed: it finishes in the background, its result dropped.
    approve:     this tool's approval policy (see `Approve`); None follows the Chat's.
    parameters:  the JSON schema of the arguments (an object schema, from pydantic).

    Raises ConfigurationError for a function whose arguments cannot be described (`*args`,
    `**kwargs`, positional-only parameters), a timeout that is not above 0, or when pydantic
    is not installed.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        approve: Approve | None = None,
    ) -> None:
        if not callable(function):
            raise ConfigurationError(f"a tool must be a function, not {type(function).__name__}")
        check_approve(approve, allow_none=True)
        self.function = function
        self.name: str = name or str(getattr(function, "__name__", ""))
        if not self.name.isidentifier():
            raise ConfigurationError(f"a tool needs a name made of letters, digits and _: {name!r}")
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ConfigurationError(
                f"a tool's timeout is a number of seconds above 0, or None: {timeout!r}"
            )
        self.timeout = timeout
        self.approve = approve
        self.is_async = inspect.iscoroutinefunction(function)
        summary, self._model = _argument_model(function, self.name)
        self.description = description if description is not None else summary
        schema = self._model.model_json_schema()
        schema.pop("title", None)
        self.parameters: dict[str, Any] = schema

    def spec(self) -> dict[str, Any]:
        """The tool as dialects send it: name, description, parameters (JSON schema)."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def arguments(self, args: Any) -> dict[str, Any]:
        """The keyword arguments for a call, validated (and converted) by the schema's model.

        `args` is what the model sent (a dict, or the text of JSON it could not parse). Raises
        ToolArgumentsError with a short message for the model.
        """
        from pydantic import ValidationError

        if isinstance(args, str):
            raise ToolArgumentsError(f"the arguments are not valid JSON: {args[:200]!r}")
        if not isinstance(args, dict):
            raise ToolArgumentsError("the arguments must be a JSON object")
        try:
            validated = self._model.model_validate(args)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
                for error in exc.errors()
            ]
            raise ToolArgumentsError("invalid arguments: " + "; ".join(problems)) from None
        return {field: getattr(validated, field) for field in type(validated).model_fields}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """A decorated function stays callable as before."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Tool {self.name}({', '.join(self.parameters.get('properties', {}))})>"


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    approve: Approve | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    approve: Approve | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """`@nbchat.tool` or `@nbchat.tool(name=..., description=..., timeout=..., approve=...)`:
    the function as a `Tool` (still callable as before). Plain functions work as tools too;
    the decorator only adds the options."""

    def make(fn: Callable[..., Any]) -> Tool:
        return Tool(fn, name=name, description=description, timeout=timeout, approve=approve)

    return make(function) if function is not None else make


def as_tool(item: Tool | Callable[..., Any]) -> Tool:
    """A Tool as it is, or a plain function made into one with the default options."""
    return item if isinstance(item, Tool) else Tool(item)


def check_approve(approve: Any, *, allow_none: bool = False) -> None:
    if approve is None and allow_none:
        return
    if approve in APPROVE_WORDS or (callable(approve) and not isinstance(approve, str)):
        return
    raise ConfigurationError(
        f"approve= takes 'auto', 'ask', 'never' or a function (call) -> bool, not {approve!r}"
    )


def _argument_model(function: Callable[..., Any], name: str) -> tuple[str, Any]:
    """The docstring's description and a pydantic model of the function's parameters."""
    try:
        import docstring_parser
        import pydantic
    except ImportError:
        raise ConfigurationError(
            'tools need pydantic and docstring-parser: pip install "nbchat[tools]"'
        ) from None
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigurationError(f"cannot read the signature of tool {name}: {exc}") from None
    doc = docstring_parser.parse(inspect.getdoc(function) or "")
    described = {param.arg_name: param.description for param in doc.params}
    fields: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise ConfigurationError(
                f"tool {name}: parameter {parameter.name!r} cannot be given by name; "
                "tools take named parameters only (no *args, **kwargs or positional-only)"
            )
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        field = pydantic.Field(default, description=described.get(parameter.name))
        fields[parameter.name] = (annotation, field)
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    try:
        model = pydantic.create_model(name, __config__=config, **fields)
        model.model_json_schema()
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError) as exc:
        raise ConfigurationError(
            f"tool {name}: its parameters have no JSON schema: {exc}"
        ) from None
    summary = "\n\n".join(part for part in (doc.short_description, doc.long_description) if part)
    return summary, model


def tool_output(value: Any, limit: int = MAX_RESULT_CHARS) -> str:
    """What a tool returned, as the text the model receives.

    A string as it is; a pandas DataFrame or Series as a bounded table (TABLE_ROWS rows and
    TABLE_COLUMNS columns at most, with its shape); anything else as JSON (dataclasses,
    pydantic models, dates, sets and numpy values included; other objects as their repr).
    Text longer than `limit` characters is cut, with a note giving the whole length.
    """
    if isinstance(value, str):
        text = value
    elif type(value).__module__.partition(".")[0] == "pandas" and hasattr(value, "columns"):
        text = value.to_string(max_rows=TABLE_ROWS, max_cols=TABLE_COLUMNS, show_dimensions=True)
    elif type(value).__module__.partition(".")[0] == "pandas" and hasattr(value, "dtype"):
        text = value.to_string(max_rows=TABLE_ROWS, length=True, dtype=True)  # a Series
    else:
        import pydantic_core

        def fallback(item: Any) -> Any:
            return item.tolist() if hasattr(item, "tolist") else repr(item)

        text = pydantic_core.to_json(value, fallback=fallback, inf_nan_mode="constants").decode()
    if len(text) > limit:
        note = f"\n[cut: the result has {len(text)} characters; the first {limit} are shown]"
        text = text[:limit] + note
    return text
