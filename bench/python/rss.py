"""Peak memory (RSS) of zoho_oauth next to its peers, each alone in a fresh interpreter.

A script, not a test. For every client: a child process imports only that library, sends
``--requests`` GETs (``--inflight`` at a time for the asyncio clients, ``--threads`` threads for
the sync ones) to the same loopback server as ``bench.py`` (nginx when on PATH, else the fake
Zoho), and reports its peak RSS (``VmHWM``, Linux), which includes the interpreter itself: the
baseline row is an interpreter that imports nothing and sends nothing.

    target/bench-venv/bin/python bench/python/rss.py      # after the steps in bench.py's header
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the server helpers)

CHILD = r"""
import json, sys
kind, base, mock, rt, token, n, width = sys.argv[1:8]
n, width = int(n), int(width)
path, params = "/crm/v8/Leads", {"per_page": "1"}
url, headers = base + path, {"Authorization": "Zoho-oauthtoken " + token}

def sync_run(get):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(width) as pool:
        statuses = list(pool.map(lambda _: get(), range(n)))
    assert all(s == 200 for s in statuses), set(statuses)

async def async_run(get):
    import asyncio
    left = [n]
    async def worker():
        while left[0] > 0:
            left[0] -= 1
            assert await get() == 200
    await asyncio.gather(*(worker() for _ in range(width)))

if kind == "baseline":
    pass
elif kind == "zoho_oauth.Client":
    from zoho_oauth import Client
    from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    c = Client(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
               accounts_url=mock, api_domain=base)
    sync_run(lambda: c.get(path, params=params).status)
elif kind == "requests.Session":
    import requests, threading
    local = threading.local()
    def get():
        s = getattr(local, "s", None) or setattr(local, "s", requests.Session()) or local.s
        return s.get(url, params=params, headers=headers).status_code
    sync_run(get)
elif kind == "zoho_oauth.AsyncClient":
    import asyncio
    from zoho_oauth import AsyncClient
    from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    c = AsyncClient(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
                    accounts_url=mock, api_domain=base)
    async def get():
        return (await c.get(path, params=params)).status
    asyncio.run(async_run(get))
elif kind == "aiohttp.ClientSession":
    import asyncio, aiohttp
    async def main():
        async with aiohttp.ClientSession() as s:
            async def get():
                async with s.get(url, params=params, headers=headers) as r:
                    await r.read()
                    return r.status
            await async_run(get)
    asyncio.run(main())
else:
    raise SystemExit("unknown client " + kind)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"rss_mib": int(hwm) / 1024}))
"""

CLIENTS = ["baseline", "zoho_oauth.Client", "requests.Session", "zoho_oauth.AsyncClient", "aiohttp.ClientSession"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", choices=["nginx", "mock"], default="nginx" if shutil.which("nginx") else "mock")
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from zoho_oauth import Client
    from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    proc, info = bench.start_server()
    mock, rt = info["base_url"], info["refresh_token"]
    nginx: Optional[subprocess.Popen[bytes]] = None
    base = mock
    probe = Client(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
                   accounts_url=mock, api_domain=mock)
    if args.server == "nginx":
        nginx, base, _ = bench.start_nginx(probe.get(bench.PATH, params=bench.PARAMS).text)
    token = probe.access_token()
    peaks: Dict[str, List[float]] = {c: [] for c in CLIENTS}
    try:
        for _ in range(args.rounds):
            for kind in CLIENTS:
                width = args.inflight if "Async" in kind or "aiohttp" in kind else args.threads
                out = subprocess.run([sys.executable, "-c", CHILD, kind, base, mock, rt, token, str(args.requests),
                                      str(width)], capture_output=True, text=True, timeout=600)
                if out.returncode != 0:
                    raise SystemExit(f"{kind} failed:\n{out.stderr}")
                peaks[kind].append(json.loads(out.stdout.strip().splitlines()[-1])["rss_mib"])
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait()
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    print(f"Python {sys.version.split()[0]}; server {args.server}; {args.requests} GETs per client; "
          f"{args.threads} threads (sync) / {args.inflight} in flight (asyncio); {args.rounds} rounds, median")
    print("| client | peak RSS (MiB) |")
    print("| --- | ---: |")
    med = {k: sorted(v)[len(v) // 2] for k, v in peaks.items()}
    for kind in CLIENTS:
        print(f"| {kind} | {med[kind]:.1f} |")
    print(f"goal: zoho_oauth.Client <= requests.Session: {med['zoho_oauth.Client']:.1f} vs {med['requests.Session']:.1f}")
    print(f"goal: zoho_oauth.AsyncClient <= aiohttp: {med['zoho_oauth.AsyncClient']:.1f} vs {med['aiohttp.ClientSession']:.1f}")


if __name__ == "__main__":
    main()
