"""A faithful fake Zoho for tests: ``MockZoho`` runs ``zoho-mock`` inside this process.

It answers like Zoho Accounts and the CRM, Desk and Books APIs, quirks included (HTTP 200 error
bodies, the 10-refreshes-per-10-minutes throttle, token eviction, data centres, the device flow),
and lets a test mint grant codes, approve device codes, move a virtual clock instead of sleeping,
inject faults and read counters. Every endpoint and setting is described in ``mock/README.md`` of
the zoho-oauth repository.

Use it directly::

    from zoho_oauth.testing import MockZoho

    with MockZoho() as mock:
        code = mock.mint_code(["ZohoCRM.modules.ALL"])
        ...  # exchange code["code"] at mock.base_url + "/oauth/v2/token"
        assert mock.counters()["token_requests_total"] == 1

Clients wired to the mock (its accounts server, and its virtual clock, so expiry and backoff need
no real waiting) come from ``mock.client()``, ``mock.async_client()`` and ``mock.app()``::

    with MockZoho() as mock:
        client = mock.client()                  # a fresh refresh token of the default self client
        assert client.get("/crm/v8/Leads").status == 200
        mock.advance_clock(3600)                # the cached token is now expired for both sides

or as a pytest fixture, by importing it into your ``conftest.py``::

    from zoho_oauth.testing import mock_zoho  # noqa: F401  (a fixture: one fresh mock per test)

    def test_something(mock_zoho):
        mock_zoho.advance_clock(3600)
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence

from ._native import AsyncClient, Client, MockServer, OAuthApp

__all__ = ["MockZoho", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_USER", "DEFAULT_SCOPES", "mock_zoho"]

#: The self client registered at start-up and after ``reset()``.
DEFAULT_CLIENT_ID = "1000.MOCKSELFCLIENT"
#: Its client secret (the same in every data centre).
DEFAULT_CLIENT_SECRET = "mock-self-secret"
#: The user registered at start-up, living in the first data centre.
DEFAULT_USER = "user@example.com"
#: Scopes of the refresh tokens ``MockZoho.client()`` mints by default.
DEFAULT_SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.users.READ")


def _test_only(clock: Optional[MockServer]) -> Dict[str, Any]:
    """The test-only keyword that wires a client to the mock's clock; it is not part of the
    public signatures (nor the stubs), so it travels as an untyped keyword."""
    return {"_mock_clock": clock}


def _drop_none(d: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class MockZoho:
    """A running fake Zoho on 127.0.0.1: one listener per data centre in ``dcs``.

    ``settings`` changes Zoho's defaults, for example ``{"legacy_expiry": True}`` or
    ``{"crm_concurrency": 1, "latency_ms": 200}``; unknown keys raise ``ValueError``.
    """

    def __init__(
        self,
        dcs: Sequence[str] = ("us",),
        port: int = 0,
        settings: Optional[Mapping[str, Any]] = None,
    ) -> None:
        self._server = MockServer(list(dcs), port, json.dumps(dict(settings or {})))

    def _call(self, op: str, body: Any = None) -> Any:
        return json.loads(self._server.call(op, "" if body is None else json.dumps(body)))

    @property
    def base_url(self) -> str:
        """Base URL of the first data centre: its accounts server and its API domain."""
        return self._server.base_url()

    def url(self, dc: str) -> Optional[str]:
        """Base URL of ``dc``'s listener, or None when the mock does not serve it."""
        entry = self._call("info")["dcs"].get(dc)
        return None if entry is None else str(entry["accounts_server"])

    def dc_urls(self) -> Dict[str, str]:
        """Every served data centre's code mapped to its base URL (accounts server and API domain)."""
        return {code: str(entry["accounts_server"]) for code, entry in self._call("info")["dcs"].items()}

    def home_dc(self) -> str:
        """The first data centre (the one ``base_url`` serves, and the default user's home)."""
        base = self.base_url
        return next(code for code, url in self.dc_urls().items() if url == base)

    def app(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: Optional[str] = DEFAULT_CLIENT_SECRET,
        *,
        client_type: str = "self",
        dc: Optional[str] = None,
        virtual_clock: bool = True,
        **kwargs: Any,
    ) -> OAuthApp:
        """An ``OAuthApp`` whose data centres map to this mock's listeners. With
        ``virtual_clock`` (the default) its waits (device polling) advance the mock's clock."""
        return OAuthApp(
            client_id,
            client_secret,
            dc or self.home_dc(),
            client_type=client_type,
            dc_accounts_urls=self.dc_urls(),
            # Test-only and not part of the public signature (or the stubs).
            **_test_only(self._server if virtual_clock else None),
            **kwargs,
        )

    def client(
        self,
        refresh_token: Optional[str] = None,
        *,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        virtual_clock: bool = True,
        **kwargs: Any,
    ) -> Client:
        """A ``Client`` of the default self client on this mock: on ``refresh_token``, or on a
        freshly minted one with ``scopes``. With ``virtual_clock`` (the default) the client reads
        the mock's clock and its backoff sleeps advance it. ``kwargs`` go to ``Client``."""
        return Client(**self._client_kwargs(refresh_token, scopes, virtual_clock, kwargs))

    def async_client(
        self,
        refresh_token: Optional[str] = None,
        *,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        virtual_clock: bool = True,
        **kwargs: Any,
    ) -> AsyncClient:
        """``client()`` for asyncio: an ``AsyncClient`` on this mock."""
        return AsyncClient(**self._client_kwargs(refresh_token, scopes, virtual_clock, kwargs))

    def _client_kwargs(
        self, refresh_token: Optional[str], scopes: Sequence[str], virtual_clock: bool, kwargs: Dict[str, Any]
    ) -> Dict[str, Any]:
        if refresh_token is None:
            refresh_token = str(self.mint_refresh_token(scopes)["refresh_token"])
        out: Dict[str, Any] = {
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "refresh_token": refresh_token,
            "dc": self.home_dc(),
            "accounts_url": self.base_url,
            # Every product (CRM, Books, Desk ...) is served by the mock's listener.
            "api_domain": self.base_url,
            "_mock_clock": self._server if virtual_clock else None,
        }
        out.update(kwargs)
        return out

    def register_client(
        self,
        client_id: str,
        client_secret: Optional[str] = None,
        *,
        client_type: str = "server",
        redirect_uris: Sequence[str] = (),
        secrets: Optional[Mapping[str, str]] = None,
        dcs: Optional[Sequence[str]] = None,
    ) -> None:
        """Registers a client: ``client_type`` is server, self, mobile, device or js; ``secrets``
        maps a DC code to that DC's secret; ``dcs`` limits the DCs the client is enabled in."""
        spec = {
            "client_id": client_id,
            "client_secret": client_secret,
            "client_type": client_type,
            "redirect_uris": list(redirect_uris),
            "secrets": dict(secrets or {}),
            "dcs": list(dcs) if dcs is not None else None,
        }
        self._call("register_client", _drop_none(spec))

    def register_user(self, email: str, dc: str) -> None:
        """Registers a user living in ``dc`` (one of the served data centres)."""
        self._call("register_user", {"email": email, "dc": dc})

    def mint_code(
        self,
        scopes: Sequence[str],
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        user: Optional[str] = None,
        ttl_secs: Optional[int] = None,
        access_type: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Mints a self-client grant code: ``{"code", "expires_in", "accounts_server", "location"}``."""
        req = {"client_id": client_id, "scopes": list(scopes), "user": user, "ttl_secs": ttl_secs, "access_type": access_type}
        result: Dict[str, Any] = self._call("mint_code", _drop_none(req))
        return result

    def mint_refresh_token(
        self, scopes: Sequence[str], *, client_id: str = DEFAULT_CLIENT_ID, user: Optional[str] = None
    ) -> Dict[str, Any]:
        """Mints a refresh token without a token request: ``{"refresh_token", "accounts_server", "api_domain"}``."""
        req = {"client_id": client_id, "scopes": list(scopes), "user": user}
        result: Dict[str, Any] = self._call("mint_refresh_token", _drop_none(req))
        return result

    def approve_device(self, user_code: str, *, user: Optional[str] = None, deny: bool = False) -> None:
        """Approves (or with ``deny=True`` refuses) a pending device authorization."""
        self._call("approve_device", _drop_none({"user_code": user_code, "user": user, "deny": deny}))

    def advance_clock(self, seconds: float) -> int:
        """Moves the virtual clock forward; returns the new time in Unix milliseconds."""
        return int(self._call("advance_clock", {"seconds": float(seconds)})["now_ms"])

    def now_ms(self) -> int:
        """The virtual clock in Unix milliseconds."""
        return int(self._call("now_ms")["now_ms"])

    def configure(self, **settings: Any) -> Dict[str, Any]:
        """Changes settings (for example ``configure(legacy_expiry=True)``); returns them all."""
        result: Dict[str, Any] = self._call("configure", settings)
        return result

    def inject_fault(
        self,
        path: str,
        *,
        count: int = 1,
        method: Optional[str] = None,
        status: Optional[int] = None,
        retry_after: Optional[str] = None,
        delay_ms: Optional[int] = None,
        reset: bool = False,
        body: Optional[str] = None,
        until_ms: Optional[int] = None,
    ) -> None:
        """Makes the next ``count`` requests under ``path`` fail: a ``status`` (with ``retry_after``),
        a ``delay_ms``, a connection ``reset``, or a ``body`` of "malformed", "truncated", "html" or
        literal text. With ``until_ms`` (the mock's clock, see :meth:`now_ms`) the fault stops
        applying at that time, whatever is left of ``count``: an outage of a given length."""
        fault = {
            "path": path,
            "count": count,
            "method": method,
            "status": status,
            "retry_after": retry_after,
            "delay_ms": delay_ms,
            "reset": reset,
            "body": body,
            "until_ms": until_ms,
        }
        self._call("inject_fault", _drop_none(fault))

    def seed_crm(self, module: str, count: int) -> None:
        """Replaces a CRM module's records with ``count`` generated ones."""
        self._call("seed_crm", {"module": module, "count": count})

    def counters(self) -> Dict[str, Any]:
        """Token requests by grant type and outcome, API calls by route and status, and totals."""
        result: Dict[str, Any] = self._call("counters")
        return result

    def token_requests(self, grant_type: str, outcome: str = "success") -> int:
        """How many token requests of ``grant_type`` ended with ``outcome``."""
        by_outcome: Dict[str, int] = self.counters()["token_requests"].get(grant_type, {})
        return by_outcome.get(outcome, 0)

    def reset(self) -> None:
        """Back to the start-up state: default client and user, no tokens, no faults, zero counters."""
        self._call("reset")

    def stop(self) -> None:
        """Stops the listeners. Calling it twice is harmless."""
        self._server.stop()

    def __enter__(self) -> "MockZoho":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        try:
            return f"MockZoho(base_url={self.base_url!r})"
        except RuntimeError:
            return "MockZoho(stopped)"


def _fixture() -> Iterator[MockZoho]:
    mock = MockZoho()
    try:
        yield mock
    finally:
        mock.stop()


mock_zoho: Any
"""A pytest fixture: a fresh ``MockZoho`` (DC ``us``) per test, stopped afterwards; ``None``
where pytest is not installed. Made when first imported (see ``__getattr__``)."""


def __getattr__(name: str) -> Any:
    """Make ``mock_zoho`` on first use. Importing pytest takes about 14 MiB and a tenth of a
    second, which a script that only runs ``MockZoho`` (or a benchmark that only reads
    ``DEFAULT_CLIENT_ID``) should not pay: only a test run that imports the fixture does."""
    if name != "mock_zoho":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:  # pytest is optional: the fixture exists only where pytest is installed.
        import pytest
    except ImportError:  # pragma: no cover - exercised only without pytest
        fixture = None
    else:
        fixture = pytest.fixture(_fixture, name="mock_zoho")
    globals()["mock_zoho"] = fixture
    return fixture

