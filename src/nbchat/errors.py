"""The exceptions nbchat raises. Callers catch these, never httpx's or json's."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .batching import BatchResults
    from .events import Reply


class NbchatError(Exception):
    """Base of every nbchat error."""


class ConfigurationError(NbchatError, ValueError):
    """A Chat was set up without something it needs (base URL, chat id, agent id...)."""

    def _render_traceback_(self) -> list[str]:
        """IPython shows this line instead of a traceback: the message says what to fix, and
        nbchat's own frames would only hide it."""
        return [f"{type(self).__name__}: {self}"]


class APIStatusError(NbchatError):
    """The server answered with an HTTP error before the stream started."""

    def __init__(self, status_code: int, message: str) -> None:
        self.status_code = status_code
        self.message = message
        super().__init__(f"HTTP {status_code}: {message}")


class BadRequestError(APIStatusError):
    """400: the server rejected the request body or parameters."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid session cookie or token."""


class PaymentRequiredError(APIStatusError):
    """402: the account's balance is spent."""


class PermissionDeniedError(APIStatusError):
    """403: e.g. posting to another user's chat."""


class NotFoundError(APIStatusError):
    """404: unknown chat or agent."""


class RateLimitError(APIStatusError):
    """429: too many requests. `retry_after` is in seconds when the server said."""

    def __init__(self, status_code: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(status_code, message)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed."""


class ConnectionError(NbchatError):
    """The server could not be reached (refused, DNS, TLS, reset before any event)."""


class TimeoutError(NbchatError):
    """No answer within the timeout before the stream started."""


class StreamError(NbchatError):
    """The stream started but did not finish well. `reply` holds what arrived."""

    def __init__(self, message: str, reply: Reply) -> None:
        super().__init__(message)
        self.reply = reply


class ContextTooLargeError(NbchatError, ValueError):
    """A message is over the token budget; nothing was sent. The message names the largest part."""

    def __init__(self, message: str, tokens: int, max_tokens: int) -> None:
        super().__init__(message)
        self.tokens = tokens
        self.max_tokens = max_tokens


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def status_error(
    status_code: int, message: str, retry_after: float | None = None
) -> APIStatusError:
    """The typed exception for an HTTP error status."""
    if status_code == 429:
        return RateLimitError(status_code, message, retry_after)
    if status_code >= 500:
        return ServerError(status_code, message)
    return STATUS_ERRORS.get(status_code, APIStatusError)(status_code, message)


class TemplateError(NbchatError, ValueError):
    """A `{field}` template could not be filled in (unknown field, unbalanced brace...)."""


class CheckpointError(NbchatError):
    """A batch checkpoint file is damaged or was made from other inputs."""


class BatchError(NbchatError):
    """A batch stopped on a failed row (`on_error="stop"`). `results` holds every row so far."""

    def __init__(self, message: str, results: BatchResults) -> None:
        super().__init__(message)
        self.results = results
