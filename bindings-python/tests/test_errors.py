"""Bad input of every kind is a ConfigError (also a ValueError) raised before any network I/O;
exceptions are typed, picklable and chained; no secret reaches repr, str, errors or logs."""

from __future__ import annotations

import hashlib
import logging
import pickle
from typing import Any, Callable, Dict, List

import pytest

import zoho_oauth
from zoho_oauth import (
    ApiError,
    AsyncClient,
    AuthError,
    Client,
    ConfigError,
    OAuthApp,
    RateLimitError,
    StoreError,
    TransportError,
    ZohoError,
)
from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho

SECRET = "super-secret-client-value"
REFRESH = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"


def client_kwargs(**over: Any) -> Dict[str, Any]:
    kw: Dict[str, Any] = {"client_id": "1000.ABC", "client_secret": SECRET, "refresh_token": REFRESH, "dc": "eu"}
    kw.update(over)
    return kw


BAD_CONSTRUCTORS: Dict[str, Dict[str, Any]] = {
    "unknown dc": {"dc": "mars"},
    "empty client id": {"client_id": ""},
    "client id with spaces": {"client_id": "1000 ABC"},
    "empty client secret": {"client_secret": ""},
    "empty refresh token": {"refresh_token": ""},
    "plain http accounts url": {"accounts_url": "http://accounts.example.com"},
    "accounts url with credentials": {"accounts_url": "https://user:pw@accounts.example.com"},
    "accounts url garbage": {"accounts_url": "not a url"},
    "api domain ftp": {"api_domain": "ftp://www.zohoapis.eu"},
    "unknown token store": {"token_store": "mongodb://localhost"},
    "zero timeout": {"timeout": 0},
    "negative timeout": {"timeout": -1.0},
    "nan timeout": {"timeout": float("nan")},
    "negative margin": {"refresh_margin": -5},
    "negative retries": {"max_retries": -1},
    "zero concurrency": {"max_concurrency": 0},
}


@pytest.mark.parametrize("case", sorted(BAD_CONSTRUCTORS))
@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_bad_constructor_input_is_a_config_error(case: str, cls: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError) as e:
        cls(**client_kwargs(**BAD_CONSTRUCTORS[case]))
    assert isinstance(e.value, ValueError) and e.value.code == "config" and e.value.hint
    text = str(e.value) + repr(e.value)
    assert SECRET not in text and REFRESH not in text


def test_bad_request_input_is_refused_before_any_io(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    c.access_token()
    calls_before = mock_zoho.counters()["api_calls_total"]
    bad: Dict[str, Callable[[], Any]] = {
        "foreign host": lambda: c.get("https://evil.example/crm/v8/Leads"),
        "http zoho host": lambda: c.get("http://www.zohoapis.com/crm/v8/Leads"),
        "credentials in url": lambda: c.get("https://user:pw@www.zohoapis.com/x"),
        "unknown product": lambda: c.get("/x", product="creator"),
        "authorization header": lambda: c.get("/crm/v8/Leads", headers={"Authorization": "Bearer x"}),
        "header with newline": lambda: c.get("/crm/v8/Leads", headers={"X-A": "a\r\nInjected: 1"}),
        "bad header name": lambda: c.get("/crm/v8/Leads", headers={"Bad Name": "x"}),
        "unserializable json": lambda: c.post("/crm/v8/Leads", json={"when": object()}),
        "nan in json": lambda: c.post("/crm/v8/Leads", json={"x": float("nan")}),
        "two bodies": lambda: c.post("/crm/v8/Leads", json={}, data={"a": "b"}),
        "bad params type": lambda: c.get("/crm/v8/Leads", params="per_page=2"),  # type: ignore[arg-type]
        "bad param value": lambda: c.get("/crm/v8/Leads", params={"a": object()}),  # type: ignore[dict-item]
        "bad method": lambda: c.request("GE T", "/crm/v8/Leads"),
        "negative timeout": lambda: c.get("/crm/v8/Leads", timeout=-1),
        "per_page too big": lambda: c.paginate("/crm/v8/Leads", per_page=500),
        "bad content": lambda: c.post("/crm/v8/Leads", content=123),  # type: ignore[arg-type]
    }
    for name, call in bad.items():
        with pytest.raises(ConfigError) as e:
            call()
        assert e.value.code == "config", name
    assert mock_zoho.counters()["api_calls_total"] == calls_before, "nothing was sent"
    with pytest.raises(ConfigError) as chained:
        c.post("/crm/v8/Leads", json={"when": object()})
    assert isinstance(chained.value.__cause__, TypeError)
    with pytest.raises(TypeError):
        c.get("/crm/v8/Leads", parms={"a": 1})  # type: ignore[call-arg]


def test_bad_app_input() -> None:
    app = OAuthApp("1000.ABC", SECRET, "eu")
    for call in (
        lambda: OAuthApp("1000.ABC", SECRET, "xx"),
        lambda: OAuthApp("", SECRET),
        lambda: OAuthApp("1000.ABC", SECRET, client_type="robot"),
        lambda: OAuthApp("1000.ABC", SECRET, dc_secrets={"mars": "x"}),
        lambda: OAuthApp("1000.ABC", SECRET, accounts_url="http://accounts.example.com"),
        lambda: app.authorization_url([], "https://app.example/cb"),
        lambda: app.authorization_url(["a,b"], "https://app.example/cb"),
        lambda: app.authorization_url(["ZohoCRM.modules.ALL"], "/relative"),
    ):
        with pytest.raises(ConfigError):
            call()
    u = app.authorization_url(["ZohoCRM.modules.ALL"], "https://app.example/cb")
    assert u.url.startswith("https://accounts.zoho.eu/oauth/v2/auth?")


def test_exception_hierarchy_and_pickling() -> None:
    assert issubclass(ConfigError, ValueError) and issubclass(zoho_oauth.TimeoutError, TimeoutError)
    assert issubclass(zoho_oauth.TimeoutError, TransportError)
    for cls in (AuthError, RateLimitError, ApiError, TransportError, zoho_oauth.TimeoutError, ConfigError, StoreError):
        assert issubclass(cls, ZohoError)
        e = cls("boom", code="x_code", status=429, zoho_code="Z", zoho_message="zm", retry_after=1.5, hint="h", body="b")
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is cls and str(back) == str(e)
        assert (back.code, back.status, back.zoho_code, back.retry_after, back.hint, back.body, back.message) == (
            "x_code", 429, "Z", 1.5, "h", "b", "boom")


def test_native_errors_pickle_with_their_attributes(mock_zoho: MockZoho) -> None:
    mock_zoho.inject_fault("/crm/", status=429, retry_after="3", count=10)
    r = mock_zoho.client().get("/crm/v8/Leads", max_retries=0)
    with pytest.raises(RateLimitError) as e:
        r.raise_for_status()
    back = pickle.loads(pickle.dumps(e.value))
    assert isinstance(back, RateLimitError) and back.retry_after == 3.0 and back.status == 429
    assert back.code == "rate_limited" and str(back) == str(e.value)


def test_no_secret_in_repr_str_errors_or_logs(mock_zoho: MockZoho, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zoho_oauth")
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    c = Client(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        refresh_token=rt,
        accounts_url=mock_zoho.base_url,
        api_domain=mock_zoho.base_url,
    )
    access = c.access_token()
    tokens = c.token_set()
    mock_zoho.advance_clock(3601)  # the mock rejects the token the client still trusts: a 401
    assert c.get("/crm/v8/Leads").status == 200
    for _ in range(8):
        c.force_refresh()
    with pytest.raises(RateLimitError) as budget:
        c.force_refresh()
    rt2 = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    wrong = Client(client_id=DEFAULT_CLIENT_ID, client_secret="wrong-" + DEFAULT_CLIENT_SECRET, refresh_token=rt2,
                   accounts_url=mock_zoho.base_url)
    with pytest.raises(AuthError) as auth:
        wrong.access_token()
    app = mock_zoho.app()
    exchanged = app.exchange_code(mock_zoho.mint_code(["ZohoCRM.modules.ALL"])["code"])
    secrets = [rt, rt2, access, DEFAULT_CLIENT_SECRET, c.access_token(), str(exchanged.refresh_token), exchanged.access_token]
    shown = [
        repr(c), str(c), repr(tokens), str(tokens), repr(exchanged), repr(app), repr(wrong),
        repr(mock_zoho.async_client(rt)), repr(budget.value), str(budget.value), repr(auth.value), str(auth.value),
        str(auth.value.body), str(auth.value.hint),
    ]
    records = [r.getMessage() + repr(getattr(r, "zoho_fields", "")) for r in caplog.records if r.name == "zoho_oauth"]
    assert any("refresh succeeded" in m for m in records), "the core's events reach logging"
    assert any("401" in m for m in records)
    for text in shown + records:
        for s in secrets:
            assert s not in text, f"secret leaked into {text!r}"
    assert all(getattr(r, "zoho_fields", None) is not None for r in caplog.records if r.name == "zoho_oauth")


def test_bad_day_refresh_events_reach_logging(mock_zoho: MockZoho, caplog: pytest.LogCaptureFixture) -> None:
    """The refresh-on-a-bad-day events, emitted from the refresh task the core spawns, reach
    ``logging``: attempt, retry, backoff started/ended, stale token served; each names the
    identity by its store key (a hash) and none carries a secret."""
    caplog.set_level(logging.DEBUG, logger="zoho_oauth")
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    c = mock_zoho.client(rt)
    first = c.access_token()
    mock_zoho.advance_clock(3400)  # inside the 300 s margin: a refresh is due, the token still works
    mock_zoho.inject_fault("/oauth/v2/token", count=3, status=503)
    assert c.access_token() == first  # three failed attempts, then the token that still works
    mock_zoho.advance_clock(2)  # past the first backoff window (1 s)
    second = c.access_token()
    assert second != first
    key = "zoho-oauth:v1:" + hashlib.sha256(f"{mock_zoho.base_url}\0{DEFAULT_CLIENT_ID}\0{rt}".encode()).hexdigest()[:40]
    records = [r for r in caplog.records if r.name == "zoho_oauth"]

    def named(message: str) -> List[logging.LogRecord]:
        return [r for r in records if r.getMessage().startswith(message)]

    def fields(r: logging.LogRecord) -> Dict[str, str]:
        return dict(getattr(r, "zoho_fields", None) or {})

    expected = {
        "refresh attempt": (5, logging.INFO),  # the first token, 3 failed attempts, the recovery
        "refresh retry: transient failure at the token endpoint": (2, logging.INFO),
        "refresh failed; backoff started": (1, logging.WARNING),
        "refresh backoff ended: the refresh succeeded": (1, logging.INFO),
        "stale token served:": (1, logging.WARNING),
    }
    for message, (count, level) in expected.items():
        got = named(message)
        assert len(got) == count, f"{message!r}: {len(got)} records, expected {count}: {[r.getMessage() for r in records]}"
        for r in got:
            assert r.levelno == level, f"{message!r} at level {r.levelname}"
            assert fields(r).get("key") == key, f"{message!r} names the identity by its store key: {fields(r)}"
    retry = fields(named("refresh retry")[0])
    assert retry.get("status") == "503" and retry.get("code") == "invalid_response", retry
    backoff = fields(named("refresh failed; backoff started")[0])
    assert backoff.get("streak") == "1" and backoff.get("backoff_ms") == "1000", backoff
    secrets = [rt, first, second, DEFAULT_CLIENT_SECRET]
    for r in records:
        text = r.getMessage() + repr(fields(r))
        for s in secrets:
            assert s not in text, f"secret leaked into {text!r}"
