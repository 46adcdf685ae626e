"""Load: 10,000 authenticated GETs from 64 concurrent asyncio tasks through one
``zoho_oauth.AsyncClient`` against the fake Zoho (``zoho_oauth.testing.MockZoho``, in this process,
loopback HTTP), while the access token expires twice: tokens live 100 s (mock setting), the client
refreshes 10 s before expiry, and the mock's virtual clock jumps 101 s at 1/3 and 2/3 of the run,
so requests in flight at a jump reach Zoho with a dead token (401, refreshed once, retried once)
while the others find the cached token expired. Pass: 0 errors and exactly 2 refreshes during the
run. Reports throughput and the process's peak RSS. A script, not a test (bench/README.md "Load").

With ``--bad-day`` the jumps go into the refresh margin (30 s for that run), to 20 s before the
token expires, and the token endpoint answers 500 for the next 3 s of the mock's clock, which
moves 1 ms per request. Pass: 0 errors (failed refreshes serve the token that still works),
exactly 2 successful refreshes, at most 12 failed token requests (two flights of three attempts
per outage).

    .venv/bin/python bench/load/load.py            # the package as installed (maturin develop: debug)
    # release numbers: maturin build --release ... and run it with that wheel installed (bench/README.md)
    .venv/bin/python bench/load/load.py --threads  # 64 threads on the sync Client instead
    .venv/bin/python bench/load/load.py --bad-day  # either mode, on a bad day
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List

from zoho_oauth.testing import MockZoho

TOTAL = 10_000
TASKS = 64
TOKEN_TTL_SECS = 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", action="store_true", help="64 threads on the sync Client instead of asyncio tasks")
    ap.add_argument("--bad-day", action="store_true", help="the token endpoint down 3 s in each refresh margin")
    args = ap.parse_args()
    margin = 30 if args.bad_day else 10
    with MockZoho(settings={"access_token_ttl_secs": TOKEN_TTL_SECS}) as mock:
        errors: List[str] = []
        next_i = iter(range(TOTAL))  # next() on a range iterator is atomic under the GIL
        lock = threading.Lock()
        expires_at_ms = [0]  # the cached token's expiry, read before timing and after each refresh

        def claim() -> int:
            with lock:
                i = next(next_i, -1)
            if i in (TOTAL // 3, 2 * TOTAL // 3):
                if args.bad_day:
                    # Into the margin, 20 s before the token expires, and the token endpoint down for 3 s.
                    now = mock.advance_clock(max(0, expires_at_ms[0] - 20_000 - mock.now_ms()) / 1000)
                    mock.inject_fault("/oauth/v2/token", count=1000, status=500, until_ms=now + 3000)
                else:
                    mock.advance_clock(TOKEN_TTL_SECS + 1)  # the token expires
            elif args.bad_day and i >= 0:
                mock.advance_clock(0.001)
            return i

        def record(r: Any) -> None:
            if r.status != 200:
                errors.append(f"HTTP {r.status}")

        if args.threads:
            client = mock.client(refresh_margin=margin)
            client.access_token()

            def track() -> None:
                expires_at_ms[0] = client.token_set().expires_at_ms

            track()
            before = mock.counters()

            def worker() -> None:
                while (i := claim()) >= 0:
                    try:
                        record(client.get("/crm/v8/Leads", params={"per_page": 1}))
                        if i % 100 == 0:
                            track()
                    except Exception as e:  # noqa: BLE001 - counted, the run must show 0
                        errors.append(repr(e))

            start = time.perf_counter()
            with ThreadPoolExecutor(TASKS) as pool:
                for f in [pool.submit(worker) for _ in range(TASKS)]:
                    f.result()
            elapsed = time.perf_counter() - start
            kind = "threads, sync Client"
        else:
            aclient = mock.async_client(refresh_margin=margin)

            async def run() -> float:
                await aclient.access_token()
                expires_at_ms[0] = (await aclient.token_set()).expires_at_ms

                async def worker() -> None:
                    while (i := claim()) >= 0:
                        try:
                            record(await aclient.get("/crm/v8/Leads", params={"per_page": 1}))
                            if i % 100 == 0:
                                expires_at_ms[0] = (await aclient.token_set()).expires_at_ms
                        except Exception as e:  # noqa: BLE001 - counted, the run must show 0
                            errors.append(repr(e))

                start = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(TASKS)))
                return time.perf_counter() - start

            before = mock.counters()
            elapsed = asyncio.run(run())
            before["token_requests"].setdefault("refresh_token", {})["success"] = 1  # the first token, before timing
            kind = "asyncio tasks, AsyncClient"
        after = mock.counters()
        refreshes = after["token_requests"]["refresh_token"]["success"] - before["token_requests"].get("refresh_token", {}).get("success", 0)
        failed = sum(after["token_requests"].get("faulted", {}).values()) - sum(before["token_requests"].get("faulted", {}).values())
        calls = after["api_calls_total"] - before["api_calls_total"]
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"python load ({kind}{', bad day' if args.bad_day else ''}): {TOTAL} requests, {TASKS} concurrent, {elapsed:.2f} s, "
            f"{TOTAL / elapsed:.0f} req/s, errors {len(errors)}, refreshes {refreshes}, failed token requests {failed}, "
            f"API calls {calls} (401 retries {calls - TOTAL}), peak RSS {peak_mib:.1f} MiB"
        )
        if errors:
            print("first errors:", errors[:3], file=sys.stderr)
        assert not errors, "every request succeeds"
        assert refreshes == 2, "exactly one refresh per expiry"
        assert failed <= 12, f"at most two flights of three attempts per outage: {failed}"


if __name__ == "__main__":
    main()
