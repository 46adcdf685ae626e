"""What a thread that drives its own requests costs (bench/README.md "Change 2").

A script, not a test: one sync ``Client`` on the fake Zoho, then 64 threads that each send N
requests and end; prints the process's RSS and open file descriptors after them, and the wall
time. With N at or below the warm-up (16) the threads use the shared runtime; above it each
thread builds a runtime and an HTTP client of its own for its last N - 16 requests.

    target/bench-venv/bin/python bench/python/thread_cost.py 5 21
"""

from __future__ import annotations

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402
from zoho_oauth import Client  # noqa: E402
from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET  # noqa: E402


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


def main() -> None:
    proc, info = bench.start_server()
    try:
        base, rt = info["base_url"], info["refresh_token"]
        client = Client(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
                        accounts_url=base, api_domain=base)
        client.get(bench.PATH)
        for n in [int(a) for a in sys.argv[1:]] or [5, 21]:
            before = rss_kib()

            def work() -> None:
                for _ in range(n):
                    client.get(bench.PATH)

            threads = [threading.Thread(target=work) for _ in range(64)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            took = time.perf_counter() - started
            after = rss_kib()
            print(f"64 threads x {n} requests: {took * 1000:.0f} ms, RSS {before} -> {after} KiB "
                  f"({(after - before) / 64:+.0f} KiB per thread), {len(os.listdir('/proc/self/fd'))} fds open")
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
