"""Client against the in-process fake Zoho over real HTTP: cache, single flight, requests,
retries, the 401 refresh, throttles and budgets. Time moves on the mock's virtual clock."""

from __future__ import annotations

import signal
import threading
import time
from typing import List

import pytest

from zoho_oauth import (
    ApiError,
    AuthError,
    Client,
    ConfigError,
    RateLimitError,
    TransportError,
    ZohoError,
)
import zoho_oauth
from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho


def refreshes(mock: MockZoho) -> int:
    return mock.token_requests("refresh_token")


def test_cache_serves_until_the_margin_then_refreshes_once(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    first = c.access_token()
    assert c.access_token() == first and refreshes(mock_zoho) == 1
    mock_zoho.advance_clock(3600 - 300 - 5)  # still outside the 300 s margin
    assert c.access_token() == first and refreshes(mock_zoho) == 1
    mock_zoho.advance_clock(10)  # inside the margin: refreshed
    second = c.access_token()
    assert second != first and refreshes(mock_zoho) == 2
    assert c.token_set().access_token == second


def test_refresh_margin_is_honoured(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client(refresh_margin=0)
    first = c.access_token()
    mock_zoho.advance_clock(3500)
    assert c.access_token() == first and refreshes(mock_zoho) == 1


def test_memory_store_is_shared_by_clients_of_one_identity(mock_zoho: MockZoho) -> None:
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    a, b = mock_zoho.client(rt), mock_zoho.client(rt)
    assert a.access_token() == b.access_token()
    assert refreshes(mock_zoho) == 1


def test_single_flight_with_200_threads_on_an_expired_token(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    old = c.access_token()
    mock_zoho.advance_clock(3600)
    mock_zoho.inject_fault("/oauth/v2/token", delay_ms=200)  # every thread piles up on one refresh
    barrier = threading.Barrier(200)
    results: List[str] = []
    errors: List[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            t = c.access_token()
            with lock:
                results.append(t)
        except BaseException as e:  # pragma: no cover - reported below
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 200 and len(set(results)) == 1 and results[0] != old
    assert refreshes(mock_zoho) == 2, "exactly one refresh for 200 concurrent callers"


def test_sync_calls_release_the_gil(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    c.access_token()
    mock_zoho.inject_fault("/crm/", delay_ms=400)
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        started = time.monotonic()
        assert c.get("/crm/v8/Leads").status == 200
        assert time.monotonic() - started >= 0.35
    finally:
        stop.set()
        t.join()
    assert ticks > 50, f"another Python thread ran only {ticks} times during a 400 ms request"


def test_param_values_become_text_as_str_would_make_them(mock_zoho: MockZoho) -> None:
    import types
    import urllib.parse

    class Shown(int):
        def __str__(self) -> str:
            return "shown"

    c = mock_zoho.client()
    big = 2**70
    params = {"a": 1, "b": -7, "c": big, "d": True, "e": 1.5, "f": ["x", 2], "g": None, "h": Shown(3)}
    want = [("a", "1"), ("b", "-7"), ("c", str(big)), ("d", "true"), ("e", "1.5"), ("f", "x"), ("f", "2"),
            ("h", "shown")]
    for given in (params, types.MappingProxyType(params), list(params.items())):
        r = c.get("/crm/v8/Leads", params=given)  # type: ignore[arg-type]
        assert r.status == 200
        assert urllib.parse.parse_qsl(urllib.parse.urlsplit(r.url).query) == want, given


def test_requests_and_response(mock_zoho: MockZoho) -> None:
    mock_zoho.seed_crm("Leads", 7)
    c = mock_zoho.client(scopes=["ZohoCRM.modules.ALL", "Desk.tickets.ALL", "Desk.basic.READ"])
    r = c.get("/crm/v8/Leads", params={"per_page": 3, "page": 2, "skip": None})
    assert r.status == r.status_code == 200 and r.ok
    assert r.headers["Content-Type"] == r.headers["content-type"] == r.header("CONTENT-TYPE")
    assert "content-type" in r.headers and "x-nope" not in r.headers
    body = r.json()
    assert body["info"]["page"] == 2 and body["info"]["per_page"] == 3 and len(body["data"]) == 3
    assert r.content.decode() == r.text and "per_page=3" in r.url
    assert r.raise_for_status() is r
    created = c.post("/crm/v8/Leads", json={"data": [{"Last_Name": "Ünïcode"}, {"Company": "x"}]})
    assert created.status == 202 and [d["status"] for d in created.json()["data"]] == ["success", "error"]
    orgs = c.get("/api/v1/organizations", product="desk")
    assert orgs.status == 200
    org_id = orgs.json()["data"][0]["id"]
    ticket = c.post(
        "/api/v1/tickets",
        product="desk",
        headers={"orgId": str(org_id)},
        json={"subject": "hi", "departmentId": "1", "contactId": "2"},
    )
    assert ticket.status == 200, ticket.text
    missing = c.post("/api/v1/tickets", product="desk", headers={"orgId": str(org_id)}, json={"departmentId": "1"})
    assert missing.status == 422
    with pytest.raises(ApiError) as e:
        missing.raise_for_status()
    assert e.value.code == "api_error" and e.value.zoho_code == "UNPROCESSABLE_ENTITY" and e.value.status == 422


def test_empty_module_answers_204_and_paginate_crosses_2000_records(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    mock_zoho.seed_crm("Contacts", 0)
    r = c.get("/crm/v8/Contacts")
    assert r.status == 204 and r.content == b""
    assert list(c.paginate("/crm/v8/Contacts")) == []
    mock_zoho.seed_crm("Leads", 2150)
    ids = [rec["id"] for rec in c.paginate("/crm/v8/Leads")]
    assert len(ids) == 2150 and len(set(ids)) == 2150
    assert mock_zoho.counters()["api_calls"]["GET /crm/v8/Leads"] == {"200": 11}


def test_scope_mismatch_is_typed_and_never_refreshes(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client(scopes=["ZohoCRM.users.READ"])
    r = c.get("/crm/v8/Leads")
    assert r.status == 401
    with pytest.raises(ApiError) as e:
        r.raise_for_status()
    assert e.value.code == "scope_mismatch" and e.value.zoho_code == "OAUTH_SCOPE_MISMATCH"
    assert refreshes(mock_zoho) == 1, "a scope error must not trigger a refresh"
    with pytest.raises(ApiError) as e2:
        list(c.paginate("/crm/v8/Leads"))
    assert e2.value.code == "scope_mismatch"


def test_dead_token_401_refreshes_once_and_retries(mock_zoho: MockZoho) -> None:
    # Real clock for the client, virtual for the mock: the mock expires the token while the
    # client still believes it valid, which is what a revoked or evicted token looks like.
    c = mock_zoho.client(virtual_clock=False)
    old = c.access_token()
    mock_zoho.advance_clock(3601)
    r = c.get("/crm/v8/Leads")
    assert r.status == 200
    assert c.access_token() != old
    assert refreshes(mock_zoho) == 2
    assert mock_zoho.counters()["api_calls"]["GET /crm/v8/Leads"] == {"200": 1, "401": 1}


def test_429_is_retried_honouring_retry_after_on_the_virtual_clock(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    c.access_token()
    mock_zoho.inject_fault("/crm/", status=429, retry_after="7", count=1)
    before = mock_zoho.now_ms()
    r = c.get("/crm/v8/Leads")
    assert r.status == 200
    assert mock_zoho.now_ms() - before >= 7000, "the retry waited Retry-After (virtual time)"


def test_throttle_after_retries_raises_rate_limit_error_with_retry_after(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    mock_zoho.inject_fault("/crm/", status=429, retry_after="2", count=10)
    r = c.get("/crm/v8/Leads", max_retries=1)
    assert r.status == 429 and r.retry_after == 2.0
    with pytest.raises(RateLimitError) as e:
        r.raise_for_status()
    assert e.value.code == "rate_limited" and e.value.retry_after == 2.0 and e.value.status == 429
    assert c.rate_limits()["retry_after"] == 2.0
    assert mock_zoho.counters()["api_calls"]["GET /crm/v8/Leads"] == {"429": 2}


def test_5xx_retried_for_get_but_not_for_post(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    mock_zoho.inject_fault("/crm/", status=503, count=1)
    assert c.get("/crm/v8/Leads").status == 200
    mock_zoho.inject_fault("/crm/", status=500, count=1)
    assert c.post("/crm/v8/Leads", json={"data": [{"Last_Name": "x"}]}).status == 500
    mock_zoho.inject_fault("/crm/", status=500, count=1)
    assert c.post("/crm/v8/Leads", json={"data": [{"Last_Name": "x"}]}, retry_non_idempotent=True).status == 201


def test_refresh_budget_fails_fast_with_retry_after(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    for _ in range(10):
        c.force_refresh()
    assert refreshes(mock_zoho) == 10
    with pytest.raises(RateLimitError) as e:
        c.force_refresh()
    assert e.value.code == "refresh_budget_exhausted"
    assert e.value.retry_after is not None and 0 < e.value.retry_after <= 601
    assert refreshes(mock_zoho) == 10, "the budget check must not call Zoho"
    mock_zoho.advance_clock(e.value.retry_after)
    c.force_refresh()
    assert refreshes(mock_zoho) == 11


def test_zoho_throttle_access_denied_records_a_cooldown(mock_zoho: MockZoho) -> None:
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    app = mock_zoho.app()
    for _ in range(10):  # spent outside the client, which does not know of them
        app.refresh(rt)
    c = mock_zoho.client(rt)
    with pytest.raises(RateLimitError) as e:
        c.access_token()
    assert e.value.code == "token_throttled" and e.value.zoho_code == "Access Denied"
    assert e.value.retry_after is not None and e.value.retry_after > 0
    assert mock_zoho.token_requests("refresh_token", "Access Denied") == 1
    other = mock_zoho.client(rt)  # another client sharing the store backs off too
    with pytest.raises(RateLimitError) as e2:
        other.access_token()
    assert e2.value.code == "token_throttled"
    assert mock_zoho.token_requests("refresh_token", "Access Denied") == 1, "the cooldown answered, not Zoho"


def test_token_errors_are_auth_errors(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client("1000.not-a-real-refresh-token")
    with pytest.raises(AuthError) as e:
        c.access_token()
    assert e.value.code == "invalid_code" and e.value.status == 200 and e.value.hint
    bad_secret = Client(
        client_id=DEFAULT_CLIENT_ID,
        client_secret="wrong-secret-value",
        refresh_token=mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"],
        accounts_url=mock_zoho.base_url,
    )
    with pytest.raises(AuthError) as e2:
        bad_secret.get("/crm/v8/Leads")
    assert e2.value.code == "invalid_client_secret"
    assert "wrong-secret-value" not in str(e2.value) + repr(e2.value)


def test_transport_timeout_and_invalid_response(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    c.access_token()
    mock_zoho.inject_fault("/crm/", reset=True, count=5)
    with pytest.raises(TransportError) as e:
        c.get("/crm/v8/Leads", max_retries=0)
    assert e.value.code == "transport" and not isinstance(e.value, TimeoutError)
    mock_zoho.reset()
    c = mock_zoho.client()
    c.access_token()
    mock_zoho.inject_fault("/crm/", delay_ms=1500, count=1)
    with pytest.raises(zoho_oauth.TimeoutError) as t:
        c.get("/crm/v8/Leads", timeout=0.2, max_retries=0)
    assert isinstance(t.value, TimeoutError) and isinstance(t.value, TransportError)
    assert t.value.code == "timeout"
    mock_zoho.inject_fault("/oauth/v2/token", body="html", count=1)
    with pytest.raises(TransportError) as h:
        mock_zoho.client().access_token()
    assert h.value.code == "invalid_response"


def test_response_too_large(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client(max_response_bytes=64)
    with pytest.raises(TransportError) as e:
        c.get("/crm/v8/Leads", max_retries=0)
    assert e.value.code == "response_too_large"
    assert mock_zoho.client().get("/crm/v8/Leads").status == 200
    with pytest.raises(ConfigError):
        mock_zoho.client(max_response_bytes=0)


def test_from_env_and_context_manager(mock_zoho: MockZoho, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    monkeypatch.setenv("ZOHO_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", rt)
    monkeypatch.setenv("ZOHO_ACCOUNTS_URL", mock_zoho.base_url)
    with Client.from_env() as c:
        assert c.get("/crm/v8/Leads").status == 200
        assert not c.closed
    assert c.closed
    with pytest.raises(ConfigError, match="closed"):
        c.access_token()
    monkeypatch.delenv("ZOHO_REFRESH_TOKEN")
    with pytest.raises(ConfigError, match="ZOHO_REFRESH_TOKEN"):
        Client.from_env()


def test_revoke_kills_the_refresh_token(mock_zoho: MockZoho) -> None:
    c = mock_zoho.client()
    c.access_token()
    c.revoke()
    assert mock_zoho.counters()["revocations"] == 1
    with pytest.raises(ZohoError) as e:
        c.access_token()
    assert e.value.code == "invalid_code"


def test_ctrl_c_interrupts_a_blocked_sync_call(mock_zoho: MockZoho) -> None:
    import _thread

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread only")
    c = mock_zoho.client()
    # Past the warm-up: from its 17th request on, a thread drives its requests itself.
    for _ in range(20):
        c.get("/crm/v8/Leads")
    mock_zoho.inject_fault("/crm/", delay_ms=5000, count=1)
    # Python's own Ctrl-C handler, whatever this process inherited: a process started in the
    # background (nohup, some CI agents) has SIGINT ignored, and interrupt_main() then does nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    try:
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            c.get("/crm/v8/Leads")
        assert time.monotonic() - started < 2.0, "the wait noticed the signal promptly"
        timer.join()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert c.get("/crm/v8/Leads").status == 200, "the client still works after the interrupt"


def test_threads_past_the_warm_up_share_one_refresh(mock_zoho: MockZoho) -> None:
    """Threads that drive their own requests (past the warm-up) still share the token: one
    refresh when it expires, run where no thread's pause can stall it."""
    c = mock_zoho.client()
    c.access_token()
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def work() -> None:
        for _ in range(20):
            statuses.append(c.get("/crm/v8/Leads").status)
        barrier.wait()  # every thread is past the warm-up
        if threading.current_thread().name == "worker-0":
            mock_zoho.advance_clock(3600)  # the token expired
        barrier.wait()
        for _ in range(5):
            statuses.append(c.get("/crm/v8/Leads").status)

    threads = [threading.Thread(target=work, name=f"worker-{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert statuses == [200] * (8 * 25)
    assert mock_zoho.token_requests("refresh_token") == 2, "the first token and one refresh"


def test_headers_mapping_is_case_insensitive_and_keeps_repeats() -> None:
    h = zoho_oauth.Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("Content-Type", "application/json")])
    assert h["SET-COOKIE"] == "a=1, b=2" and h.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert len(h) == 2 and set(h) == {"set-cookie", "content-type"} and h.get("x-none") is None
    assert "Content-Type" in h and "content-length" not in h


def test_test_only_parameters_stay_out_of_help() -> None:
    import inspect

    for cls in (Client, zoho_oauth.AsyncClient, zoho_oauth.OAuthApp):
        shown = str(inspect.signature(cls))
        assert "_mock_clock" not in shown and "client_id" in shown, (cls, shown)
    assert "max_response_bytes" in str(inspect.signature(Client))


def test_the_version_is_written_once_in_cargo_toml() -> None:
    import importlib.metadata
    import pathlib
    import re

    import zoho_oauth

    cargo = (pathlib.Path(__file__).resolve().parents[2] / "Cargo.toml").read_text()
    m = re.search(r'^version = "([^"]+)"$', cargo, re.M)
    assert m is not None
    assert zoho_oauth.__version__ == m.group(1)
    assert importlib.metadata.version("zoho-oauth") == m.group(1)
