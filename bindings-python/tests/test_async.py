"""AsyncClient: never blocks the loop, not bound to one loop, cancels cleanly, single flight
across 1,000 tasks, and the same typed errors as the sync client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest

import zoho_oauth
from zoho_oauth import ApiError, AsyncClient, AuthError, ConfigError, RateLimitError, TransportError
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


@pytest.mark.parametrize("on_the_loop_thread", [False, True])
def test_calls_never_block_the_event_loop(mock_zoho: MockZoho, on_the_loop_thread: bool) -> None:
    c = mock_zoho.async_client()

    async def main() -> int:
        await c.access_token()
        if on_the_loop_thread:
            await warm_up(c)  # see below: the request then runs on the loop's thread
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


# Past a thread's warm-up (its first 16 requests, as for the sync Client), an AsyncClient request
# runs on the event loop's own thread: the loop watches the thread's runtime and drives it. What
# must hold there: the loop is never blocked, timers fire although they do not wake the loop,
# token work still runs elsewhere, cancelling frees the loop's slot, and many in flight still work.

WARM_UP = 16


async def warm_up(c: AsyncClient) -> None:
    for _ in range(WARM_UP):
        assert (await c.get("/crm/v8/Leads")).status == 200


@contextlib.contextmanager
def retry_log() -> Iterator[List[int]]:
    """Collects the threads that log a request's "retrying" line."""
    seen: List[int] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("retrying"):
                seen.append(threading.get_ident())

    logger = logging.getLogger("zoho_oauth")
    handler, level = Handler(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def retried_on(mock: MockZoho, c: AsyncClient) -> List[int]:
    """The threads that ran a request answered by one 503 and then retried."""
    with retry_log() as seen:
        mock.inject_fault("/crm/", status=503, count=1)
        assert (await asyncio.wait_for(c.get("/crm/v8/Leads"), 10)).status == 200
    return seen


def test_past_the_warm_up_a_request_runs_on_the_loop_thread(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def main() -> List[int]:
        await warm_up(c)
        return await retried_on(mock_zoho, c)

    assert asyncio.run(main()) == [threading.get_ident()], "the request ran on the loop's thread"


def test_on_the_loop_thread_a_timeout_fires_without_any_io(mock_zoho: MockZoho) -> None:
    """A request's timeout is a timer of the thread's runtime: nothing shows on the descriptor
    the loop watches while the server stays silent, so the loop must drive it anyway."""
    c = mock_zoho.async_client()

    async def main() -> float:
        await warm_up(c)
        mock_zoho.inject_fault("/crm/", delay_ms=4000, count=1)
        started = time.monotonic()
        with pytest.raises(zoho_oauth.TimeoutError):
            await asyncio.wait_for(c.get("/crm/v8/Leads", timeout=0.3, max_retries=0), 10)
        return time.monotonic() - started

    assert asyncio.run(main()) < 2.5, "the timeout fired on time, not when the late answer came"


def test_on_the_loop_thread_refresh_cancel_and_many_in_flight(mock_zoho: MockZoho) -> None:
    c = mock_zoho.async_client()

    async def main() -> None:
        await warm_up(c)
        # An expired token: the refresh runs on the shared runtime, the request here.
        mock_zoho.advance_clock(3600)
        assert (await asyncio.wait_for(c.get("/crm/v8/Leads"), 10)).status == 200
        assert refreshes(mock_zoho) == 2
        # A cancelled request gives the loop's slot back: the next one runs here again.
        mock_zoho.inject_fault("/crm/", delay_ms=3000, count=1)
        task = asyncio.ensure_future(c.get("/crm/v8/Leads"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)  # the loop runs the cancel's callback and the abort
        assert await retried_on(mock_zoho, c) == [threading.get_ident()], "the slot was given back"
        # Many at once: the first alone on this thread, the rest on the shared runtime.
        statuses = await asyncio.wait_for(asyncio.gather(*(c.get("/crm/v8/Leads") for _ in range(64))), 20)
        assert [r.status for r in statuses] == [200] * 64
        # A POST with a body, here too.
        assert (await c.post("/crm/v8/Leads", json={"data": [{"Last_Name": "a"}]})).status == 201

        assert await retried_on(mock_zoho, c) == [threading.get_ident()], "and after many at once"

    asyncio.run(main())
    # A second loop on the same thread drives the same runtime.
    assert asyncio.run(retried_on(mock_zoho, c)) == [threading.get_ident()]


def test_on_the_loop_thread_a_token_endpoint_on_a_bad_day(mock_zoho: MockZoho) -> None:
    """A request on the loop's thread whose token refresh meets a hostile, slow or throttled
    token endpoint: the same typed errors as anywhere, the loop keeps running meanwhile, and
    each failure gives the loop's slot back."""
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    c = mock_zoho.async_client(rt)

    async def main() -> None:
        await warm_up(c)
        # Hostile: an HTML page instead of JSON.
        mock_zoho.advance_clock(3600)
        mock_zoho.inject_fault("/oauth/v2/token", body="html", count=1)
        with pytest.raises(TransportError) as h:
            await asyncio.wait_for(c.get("/crm/v8/Leads"), 10)
        assert h.value.code == "invalid_response" and h.value.retry_after is not None
        # The back-off answers fast, without a token request, until it is over.
        before = mock_zoho.counters()["token_requests"]
        with pytest.raises(TransportError):
            await asyncio.wait_for(c.get("/crm/v8/Leads"), 10)
        assert mock_zoho.counters()["token_requests"] == before, "the back-off answered"
        mock_zoho.advance_clock(h.value.retry_after + 1)
        assert await retried_on(mock_zoho, c) == [threading.get_ident()], "slot given back"

        # Slow: the loop runs other tasks while the refresh takes 1.5 s.
        mock_zoho.advance_clock(3600)
        mock_zoho.inject_fault("/oauth/v2/token", delay_ms=1500, count=1)
        beats = 0

        async def beat() -> None:
            nonlocal beats
            while True:
                await asyncio.sleep(0.01)
                beats += 1

        beating = asyncio.ensure_future(beat())
        assert (await asyncio.wait_for(c.get("/crm/v8/Leads"), 10)).status == 200
        beating.cancel()
        assert beats >= 30, f"the loop ran only {beats} times in 1.5 s"

        # Throttled: the refresh token's 10 per 10 minutes spent by someone else.
        mock_zoho.advance_clock(3600)
        app = mock_zoho.app()
        with pytest.raises(RateLimitError):
            for _ in range(11):
                app.refresh(rt)
        denied = mock_zoho.token_requests("refresh_token", "Access Denied")
        with pytest.raises(RateLimitError) as e:
            await asyncio.wait_for(c.get("/crm/v8/Leads"), 10)
        assert e.value.code == "token_throttled" and e.value.retry_after is not None
        assert mock_zoho.token_requests("refresh_token", "Access Denied") == denied + 1
        with pytest.raises(RateLimitError):
            await asyncio.wait_for(c.get("/crm/v8/Leads"), 10)
        assert mock_zoho.token_requests("refresh_token", "Access Denied") == denied + 1, "the cooldown answered"
        # Past Zoho's window the next request refreshes and runs on this thread again.
        mock_zoho.advance_clock(601)
        assert await retried_on(mock_zoho, c) == [threading.get_ident()]

    asyncio.run(main())


FLEET_CHILD = """
import asyncio, sys
from zoho_oauth import AsyncClient
from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
url, rt, store = sys.argv[1:4]

async def main():
    c = AsyncClient(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
                    accounts_url=url, api_domain=url, token_store=store)
    statuses = [(await c.get("/crm/v8/Leads")).status for _ in range(20)]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    statuses += [(await asyncio.wait_for(c.get("/crm/v8/Leads"), 20)).status for _ in range(20)]
    print(" ".join(map(str, statuses)), flush=True)

asyncio.run(main())
"""


def test_many_processes_past_the_warm_up_share_one_refresh_of_a_dead_token(mock_zoho: MockZoho, tmp_path: Path) -> None:
    """Four processes, each sending its requests from its loop's thread (past the warm-up),
    meet the same dead token at once: one refresh between them, through the shared store."""
    mock_zoho.configure(max_live_access_tokens=1)
    rt = str(mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"])
    store = f"file://{tmp_path / 'tokens.json'}"
    # Real clock: the other processes cannot share the mock's virtual clock.
    with mock_zoho.client(rt, token_store=store, virtual_clock=False) as c:
        c.access_token()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", FLEET_CHILD, mock_zoho.base_url, rt, store],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
        assert mock_zoho.token_requests("refresh_token") == 1, "the warm-up used the stored token"
        # A token issued elsewhere evicts the stored one (one live token per refresh token).
        mock_zoho.app().refresh(rt)
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            assert out.split() == ["200"] * 40, err
    finally:
        for child in children:
            child.kill()
    assert mock_zoho.counters()["api_calls"]["GET /crm/v8/Leads"].get("401") == 4, "each met the dead token"
    assert mock_zoho.token_requests("refresh_token") == 3, "one refresh for the four processes"
