"""zoho_oauth: Zoho OAuth 2.0 for Python on one audited Rust core.

Token exchange, token caching, single-flight refresh and authenticated requests are implemented
once, in Rust (the ``zoho-oauth`` crate), and shared with the Rust and Node packages::

    from zoho_oauth import Client

    with Client(client_id="1000.XXXX", client_secret="...", refresh_token="1000.xxx", dc="eu") as client:
        for lead in client.paginate("/crm/v8/Leads"):
            print(lead["id"])

``AsyncClient`` is the asyncio twin, ``OAuthApp`` runs the authorization flows (authorization URL
and callback, self-client codes, the device flow), and every error is a ``ZohoError`` with a stable
``code``. Sync calls release the GIL while they wait; async calls never block the event loop.
Log records go to the standard ``logging`` logger ``"zoho_oauth"``, never with a secret in them.

``zoho_oauth.testing.MockZoho`` runs a faithful fake Zoho in-process for your own tests.
"""

from __future__ import annotations

from ._errors import (
    ApiError,
    AuthError,
    ConfigError,
    RateLimitError,
    StoreError,
    TimeoutError as TimeoutError,  # explicit re-export, kept out of __all__ (see below)
    TransportError,
    ZohoError,
)
from ._headers import Headers
from ._store import KeyValueStore
from ._native import (
    __version__ as __version__,
    AsyncClient,
    AuthorizationUrl,
    Client,
    DeviceAuthorization,
    OAuthApp,
    Paginator,
    Response,
    TokenSet,
)


# `TimeoutError` is importable (``zoho_oauth.TimeoutError``) but left out of ``__all__`` so that a
# star import does not shadow the built-in it derives from.
__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthError",
    "AuthorizationUrl",
    "Client",
    "ConfigError",
    "DeviceAuthorization",
    "Headers",
    "KeyValueStore",
    "OAuthApp",
    "Paginator",
    "RateLimitError",
    "Response",
    "StoreError",
    "TokenSet",
    "TransportError",
    "ZohoError",
    "__version__",
]
