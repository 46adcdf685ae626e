"""AsyncClient: never blocks the loop, not bound to one loop, cancels cleanly, single flight
across 1,000 tasks, and the same typed errors as the sync client."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List

import pytest

from zoho_oauth import ApiError, AsyncClient, AuthError, ConfigError
from zoho_oauth.testing import MockZoho


def refreshes(mock: MockZoho) -> int:
    return mock.token_requests("refresh_token")


def test_single_flight_with_1000_tasks_on_an_expired_token(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def main() -> List[str]:
        await c.access_token()
        mock_zoho.advance_clock(3600)
        mock_zoho.inject_fault("/oauth/v2/token", delay_ms=200)
        return list(await asyncio.gather(*(c.access_token() for _ in range(1000))))

    tokens = asyncio.run(main())
    assert len(tokens) == 1000 and len(set(tokens)) == 1
    assert refreshes(mock_zoho) == 2, "exactly one refresh for 1,000 concurrent tasks"


def test_calls_never_block_the_event_loop(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def main() -> int:
        await c.access_token()
        mock_zoho.inject_fault("/crm/", delay_ms=300)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.ensure_future(ticker())
        r = await c.get("/crm/v8/Leads")
        t.cancel()
        assert r.status == 200
        return ticks

    assert asyncio.run(main()) > 20


def test_not_bound_to_one_loop(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def one() -> int:
        r = await c.get("/crm/v8/Leads")
        return r.status

    assert asyncio.run(one()) == 200
    assert asyncio.run(one()) == 200  # a second loop, same client
    statuses: List[int] = []

    def in_thread() -> None:
        statuses.append(asyncio.run(one()))

    threads = [threading.Thread(target=in_thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 4
    assert refreshes(mock_zoho) == 1


def test_cancel_aborts_the_request_cleanly(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def main() -> None:
        await c.access_token()
        mock_zoho.inject_fault("/crm/", delay_ms=3000, count=1)
        task = asyncio.ensure_future(c.get("/crm/v8/Leads"))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1.0
        r = await asyncio.wait_for(c.get("/crm/v8/Leads"), 5)  # the client still works
        assert r.status == 200

    asyncio.run(main())


def test_cancel_during_a_refresh_leaves_the_cache_usable(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def main() -> None:
        mock_zoho.inject_fault("/oauth/v2/token", delay_ms=2000, count=1)
        task = asyncio.ensure_future(c.access_token())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        token = await asyncio.wait_for(c.access_token(), 10)
        assert token

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 5


def test_timeouts_via_wait_for(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def main() -> None:
        await c.access_token()
        mock_zoho.inject_fault("/crm/", delay_ms=2000, count=1)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(c.get("/crm/v8/Leads"), 0.2)

    asyncio.run(main())


def test_async_requests_errors_and_pagination(mock_zoho: MockZoho) -> None:
    mock_zoho.seed_crm("Leads", 450)

    async def main() -> None:
        async with mock_zoho.async_client() as c:
            ids = [rec["id"] async for rec in c.paginate("/crm/v8/Leads")]
            assert len(ids) == 450 and len(set(ids)) == 450
            r = await c.post("/crm/v8/Leads", json={"data": [{"Last_Name": "a"}]})
            assert r.status == 201
            ts = await c.token_set()
            assert ts.api_domain == mock_zoho.base_url
        assert c.closed
        with pytest.raises(ConfigError):
            await c.get("/crm/v8/Leads")
        narrow = mock_zoho.async_client(scopes=["ZohoCRM.users.READ"])
        r = await narrow.get("/crm/v8/Leads")
        with pytest.raises(ApiError) as e:
            r.raise_for_status()
        assert e.value.code == "scope_mismatch"
        bad = mock_zoho.async_client("1000.unknown-refresh-token")
        with pytest.raises(AuthError) as a:
            await bad.access_token()
        assert a.value.code == "invalid_code"
        with pytest.raises(ConfigError):
            await bad.get("https://evil.example/steal")

    asyncio.run(main())
    assert isinstance(mock_zoho.async_client(), AsyncClient)


@pytest.mark.asyncio
async def test_works_under_pytest_asyncio(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()
    r = await c.get("/crm/v8/users", params={"type": "CurrentUser"})
    assert r.status == 200 and r.json()["users"][0]["email"] == "user@example.com"
    mock_zoho.advance_clock(3600)
    assert (await c.get("/crm/v8/Leads")).status == 200
    assert refreshes(mock_zoho) == 2
