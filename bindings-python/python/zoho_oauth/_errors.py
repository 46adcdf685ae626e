"""The exception hierarchy of ``zoho_oauth`` (DESIGN "Which class").

Every error the package raises is a :class:`ZohoError` carrying the stable ``code`` string shared
with the Rust and Node packages, the HTTP ``status``, Zoho's own ``zoho_code`` and
``zoho_message``, ``retry_after`` (seconds) where waiting helps, and a ``hint`` a person can act on.
Subclasses also derive from the matching built-in, so generic handlers keep working::

    ZohoError(Exception)
    ├── AuthError          invalid_code, invalid_client, invalid_client_secret, invalid_redirect_uri,
    │                      access_denied, state_mismatch, untrusted_accounts_server, device_flow_expired
    ├── RateLimitError     token_throttled, refresh_budget_exhausted, rate_limited
    ├── ApiError           unauthorized, scope_mismatch, api_error
    ├── TransportError     transport, invalid_response, response_too_large
    │   └── TimeoutError   timeout (also the built-in TimeoutError)
    ├── ConfigError        config (also ValueError)
    └── StoreError         store

No secret ever appears in the message, the attributes or the pickled form: the Rust core writes
the messages, redacts token fields in answer bodies and scrubs the client's own secrets from
anything a server echoes.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Optional, Tuple

__all__ = [
    "ZohoError",
    "AuthError",
    "RateLimitError",
    "ApiError",
    "TransportError",
    "TimeoutError",
    "ConfigError",
    "StoreError",
]


class ZohoError(Exception):
    """Base class of every error raised by ``zoho_oauth``.

    Attributes: ``code`` (stable string such as ``"invalid_code"``), ``message`` (the sentence
    without the details), ``status`` (HTTP status or None), ``zoho_code`` and ``zoho_message``
    (Zoho's own, when the answer had them), ``retry_after`` (seconds, float, or None), ``hint``
    (what to do) and ``body`` (the answer body, truncated, None when it carried tokens).
    """

    #: Code used when none is given (subclasses override it).
    default_code = "api_error"

    code: str
    message: str
    status: Optional[int]
    zoho_code: Optional[str]
    zoho_message: Optional[str]
    retry_after: Optional[float]
    hint: Optional[str]
    body: Optional[str]

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        zoho_code: Optional[str] = None,
        zoho_message: Optional[str] = None,
        retry_after: Optional[float] = None,
        hint: Optional[str] = None,
        body: Optional[str] = None,
        detail: Optional[str] = None,
    ) -> None:
        # `detail` is the full human text (message, code, status, Zoho's code, hint); str(e)
        # shows it. `message` alone stays available for programs.
        super().__init__(detail if detail is not None else message)
        self.code = code if code is not None else self.default_code
        self.message = message
        self.status = status
        self.zoho_code = zoho_code
        self.zoho_message = zoho_message
        self.retry_after = retry_after
        self.hint = hint
        self.body = body

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...], Dict[str, Any]]:
        # BaseException pickles only `args`; the attributes travel in the state dict, which
        # BaseException.__setstate__ restores.
        return (self.__class__, self.args, dict(self.__dict__))

    def __repr__(self) -> str:
        parts = [f"code={self.code!r}"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.zoho_code is not None:
            parts.append(f"zoho_code={self.zoho_code!r}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after:g}")
        parts.append(f"message={self.message!r}")
        return f"{self.__class__.__name__}({', '.join(parts)})"


class AuthError(ZohoError):
    """Authorization or token exchange failed: a code, client, secret, redirect URI, state or
    accounts server was refused, the user denied access, or the device code expired."""

    default_code = "invalid_code"


class RateLimitError(ZohoError):
    """A throttle or budget is in effect: Zoho's token throttle (``token_throttled``), the local
    refresh budget (``refresh_budget_exhausted``) or an API rate limit (``rate_limited``).
    ``retry_after`` says how many seconds to wait."""

    default_code = "rate_limited"


class ApiError(ZohoError):
    """A product API refused the call (``unauthorized``, ``scope_mismatch``, ``api_error``);
    raised by ``Response.raise_for_status()``."""

    default_code = "api_error"


class TransportError(ZohoError):
    """The network failed, or what answered was not understandable or too large (``transport``,
    ``invalid_response``, ``response_too_large``)."""

    default_code = "transport"


class TimeoutError(TransportError, builtins.TimeoutError):  # noqa: A001 - mirrors the built-in on purpose
    """A request or the overall deadline timed out (``timeout``). Also a built-in
    ``TimeoutError``."""

    default_code = "timeout"


class ConfigError(ZohoError, ValueError):
    """Bad configuration or input, caught before any network I/O (``config``). Also a
    ``ValueError``."""

    default_code = "config"


class StoreError(ZohoError):
    """The token store failed (``store``)."""

    default_code = "store"
