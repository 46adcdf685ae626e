"""Python benchmark: zoho_oauth's Client and AsyncClient against requests, httpx and aiohttp.

A script, not a test. Every client calls the same loopback server in the same run: nginx (Debian's
package; ``--server nginx``, the default when ``nginx`` is on PATH) answering ``GET /crm/v8/Leads``
with the fake Zoho's own answer from memory, or the fake Zoho itself (``--server mock``). Either
runs in a child process, so the server does not share the benchmark's interpreter; the token
always comes from the fake Zoho (``zoho_oauth.testing.MockZoho`` in a child process). Peers send the
same ``Authorization: Zoho-oauthtoken …`` header (taken from the client's cache) to the same URL,
``GET /crm/v8/Leads?per_page=1``.

Run it against a release build of the package (numbers from a debug build mean little)::

    maturin build --release -m bindings-python/Cargo.toml -o target/bench-wheels
    python -m venv target/bench-venv
    target/bench-venv/bin/pip install target/bench-wheels/zoho_oauth-*.whl requests httpx aiohttp
    apt-get install nginx-light      # optional: without nginx the fake Zoho serves the GETs
    target/bench-venv/bin/python bench/python/bench.py   # --server nginx|mock --seconds 3 --threads 64 --inflight 64

Reported: requests per second and CPU time per request (this process, all threads) per client and
scenario, the ratios the goals are about, and the cost of ``access_token()`` on a cache hit next
to a pure-Python dict-and-lock cache. With ``--raw`` (default: the release build of
``bench/raw/raw_reqwest.rs`` when present; ``cargo build --release -p zoho-oauth --example
raw_reqwest``) plain reqwest calls the same server in the same run, sequentially and with as many
requests in flight, as the machine's limit.

The machine this runs on changes speed from one minute to the next (a shared, virtualised
2-core box: the same build moves 1.5-2x), so one run per client, one after the other, can put a
slow minute on one side of a ratio. The goals' ratios are therefore also measured **paired**
(``--pairs``, default 12): short runs (``--slice`` s) of the two sides back to back, alternating
which goes first, and the median of the pairs' ratios is reported with its range.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

SERVER = r"""
import json, sys
from zoho_oauth.testing import MockZoho
mock = MockZoho()
rt = mock.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
print(json.dumps({"base_url": mock.base_url, "refresh_token": rt}), flush=True)
sys.stdin.read()   # serve until the parent closes stdin
mock.stop()
"""

PATH = "/crm/v8/Leads"
PARAMS = {"per_page": "1"}


def start_server() -> Tuple[subprocess.Popen[str], Dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info: Dict[str, str] = json.loads(proc.stdout.readline())
    return proc, info


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port};
        location = {path} {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_nginx(body: str) -> Tuple[subprocess.Popen[bytes], str, str]:
    """nginx in the foreground on a free loopback port, answering PATH with ``body``."""
    workdir = tempfile.mkdtemp(prefix="zoho-bench-nginx-")
    port = free_port()
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=workdir, port=port, path=PATH, body=body.replace("'", "\\'")))
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", workdir], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}", workdir
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("nginx did not start")


LAST_CPU_US: List[float] = [0.0]


def cpu_seconds() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def measured(run: Callable[[], float], seconds: float) -> float:
    """Run one measurement; keep its CPU time per request (all threads of this process)."""
    c0 = cpu_seconds()
    rps = run()
    LAST_CPU_US[0] = (cpu_seconds() - c0) / max(rps * seconds, 1) * 1e6
    return rps


def run_seq(fn: Callable[[], Any], seconds: float) -> float:
    for _ in range(20):  # warm the connection pool
        fn()
    n = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def run_threads(make: Callable[[], Callable[[], Any]], threads: int, seconds: float) -> float:
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        fn = make()
        for _ in range(3):
            fn()
        barrier.wait()
        c = 0
        while not stop.is_set():
            fn()
            c += 1
        counts[i] = c

    with ThreadPoolExecutor(threads) as ex:
        futs = [ex.submit(worker, i) for i in range(threads)]
        barrier.wait()
        start = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for f in futs:
            f.result()
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed


async def run_async(fn: Callable[[], Awaitable[Any]], inflight: int, seconds: float) -> float:
    for _ in range(inflight):
        await fn()
    count = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < end:
            await fn()
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return count / (time.perf_counter() - start)


def per_call_ns(fn: Callable[[], Any], n: int = 200_000) -> float:
    for _ in range(1000):
        fn()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best


def paired(ours: Callable[[], float], other: Callable[[], float], pairs: int) -> List[float]:
    """``ours() / other()`` (two rates) from ``pairs`` runs back to back, alternating which side
    goes first so that neither always gets the minute after the other."""
    ratios = []
    for i in range(pairs):
        if i % 2 == 0:
            a = ours()
            b = other()
        else:
            b = other()
            a = ours()
        ratios.append(a / b)
    return ratios


def describe(ratios: List[float]) -> str:
    """Median of paired ratios, with their range and count."""
    s = sorted(ratios)
    return f"{statistics.median(s):.2f}  (range {s[0]:.2f}-{s[-1]:.2f}, {len(s)} pairs)"


def raw_reqwest(binary: str, url: str, auth: str, seconds: float, concurrency: int,
                cpu: Dict[Tuple[str, str], float], scenario: str) -> float:
    """The baseline binary on the same server: its req/s (and CPU per request into ``cpu``)."""
    out = subprocess.run([binary, url + "?per_page=1", auth, str(seconds), str(concurrency)],
                         check=True, capture_output=True, text=True).stdout
    figures = json.loads(out)
    cpu[(scenario, "raw reqwest (baseline)")] = figures["cpu_us_per_req"]
    return float(figures["rps"])


class DictLockCache:
    """The pure-Python baseline: a dict of (token, expires_at) behind a lock, with a margin."""

    def __init__(self, token: str) -> None:
        self._lock = threading.Lock()
        self._tokens: Dict[str, Tuple[str, float]] = {"identity": (token, time.time() + 3600)}

    def access_token(self) -> str:
        with self._lock:
            entry = self._tokens.get("identity")
        if entry is not None and entry[1] - 300 > time.time():
            return entry[0]
        raise RuntimeError("expired")  # pragma: no cover - never during the benchmark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", choices=["nginx", "mock"], default="nginx" if shutil.which("nginx") else "mock")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=64)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--pairs", type=int, default=12, help="paired runs per goal ratio (0 skips them)")
    ap.add_argument("--slice", type=float, default=0.5, help="seconds per side of a paired run")
    triple = os.environ.get("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    default_raw = os.path.join(root, "target", triple, "release", "examples", "raw_reqwest")
    ap.add_argument("--raw", default=default_raw if os.path.exists(default_raw) else None,
                    help="the raw_reqwest baseline binary (omit to skip the baseline)")
    args = ap.parse_args()

    import aiohttp
    import httpx
    import requests

    from zoho_oauth import AsyncClient, Client
    from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    proc, info = start_server()
    mock_base, rt = info["base_url"], info["refresh_token"]
    nginx: Optional[subprocess.Popen[bytes]] = None
    workdir = None
    base = mock_base
    if args.server == "nginx":
        probe = Client(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
                       accounts_url=mock_base, api_domain=mock_base)
        nginx, base, workdir = start_nginx(probe.get(PATH, params=PARAMS).text)
    kw: Dict[str, Any] = dict(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
              accounts_url=mock_base, api_domain=base)
    client = Client(**kw)
    token = client.access_token()
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    url = base + PATH
    results: Dict[str, Dict[str, float]] = {}
    cpu: Dict[Tuple[str, str], float] = {}
    try:
        # Sequential, one thread.
        session = requests.Session()
        hx = httpx.Client()
        seq: Dict[str, float] = {}
        for name, fn in [
            ("zoho_oauth.Client", lambda: client.get(PATH, params=PARAMS)),
            ("requests.Session", lambda: session.get(url, params=PARAMS, headers=headers)),
            ("httpx.Client", lambda: hx.get(url, params=PARAMS, headers=headers)),
        ]:
            seq[name] = measured(lambda: run_seq(fn, args.seconds), args.seconds)
            cpu[("sequential", name)] = LAST_CPU_US[0]

        async def async_seq() -> Dict[str, float]:
            ac = AsyncClient(**kw)
            out: Dict[str, float] = {}
            c0 = cpu_seconds()
            out["zoho_oauth.AsyncClient"] = await run_async(lambda: ac.get(PATH, params=PARAMS), 1, args.seconds)
            cpu[("sequential", "zoho_oauth.AsyncClient")] = (cpu_seconds() - c0) / (out["zoho_oauth.AsyncClient"] * args.seconds) * 1e6
            async with aiohttp.ClientSession() as s:
                async def aio() -> None:
                    async with s.get(url, params=PARAMS, headers=headers) as r:
                        await r.read()

                c0 = cpu_seconds()
                out["aiohttp.ClientSession"] = await run_async(aio, 1, args.seconds)
                cpu[("sequential", "aiohttp.ClientSession")] = (cpu_seconds() - c0) / (out["aiohttp.ClientSession"] * args.seconds) * 1e6
            return out

        seq.update(asyncio.run(async_seq()))
        if args.raw:
            seq["raw reqwest (baseline)"] = raw_reqwest(args.raw, url, headers["Authorization"], args.seconds, 1, cpu, "sequential")
        results["sequential"] = seq

        # N threads, each looping.
        def own_session() -> Callable[[], Any]:
            s = requests.Session()  # requests.Session is not documented as thread-safe
            return lambda: s.get(url, params=PARAMS, headers=headers)

        hx_shared = httpx.Client(limits=httpx.Limits(max_connections=args.threads))
        results[f"{args.threads} threads"] = {
            "zoho_oauth.Client": run_threads(lambda: lambda: client.get(PATH, params=PARAMS), args.threads, args.seconds),
            "requests.Session": run_threads(own_session, args.threads, args.seconds),
            "httpx.Client": run_threads(lambda: lambda: hx_shared.get(url, params=PARAMS, headers=headers),
                                        args.threads, args.seconds),
        }

        # asyncio, N requests in flight.
        async def async_all() -> Dict[str, float]:
            ac = AsyncClient(**kw)
            out: Dict[str, float] = {}
            out["zoho_oauth.AsyncClient"] = await run_async(lambda: ac.get(PATH, params=PARAMS), args.inflight, args.seconds)
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=args.inflight)) as h:
                out["httpx.AsyncClient"] = await run_async(lambda: h.get(url, params=PARAMS, headers=headers),
                                                           args.inflight, args.seconds)
            connector = aiohttp.TCPConnector(limit=args.inflight)
            async with aiohttp.ClientSession(connector=connector) as s:
                async def aio() -> None:
                    async with s.get(url, params=PARAMS, headers=headers) as r:
                        await r.read()

                out["aiohttp.ClientSession"] = await run_async(aio, args.inflight, args.seconds)
            return out

        asy_all = asyncio.run(async_all())
        if args.raw:
            asy_all["raw reqwest (baseline)"] = raw_reqwest(args.raw, url, headers["Authorization"], args.seconds,
                                                            args.inflight, cpu, f"asyncio, {args.inflight} in flight")
        results[f"asyncio, {args.inflight} in flight"] = asy_all

        # The goals' ratios again, paired (see the module's doc).
        pairs: Dict[str, List[float]] = {}
        if args.pairs > 0:
            sl = args.slice
            ac_pairs = AsyncClient(**kw)

            def client_seq() -> float:
                return run_seq(lambda: client.get(PATH, params=PARAMS), sl)

            def async_client(inflight: int) -> Callable[[], float]:
                return lambda: asyncio.run(run_async(lambda: ac_pairs.get(PATH, params=PARAMS), inflight, sl))

            def aiohttp_seq() -> float:
                async def go() -> float:
                    async with aiohttp.ClientSession() as s:
                        async def aio() -> None:
                            async with s.get(url, params=PARAMS, headers=headers) as r:
                                await r.read()

                        return await run_async(aio, 1, sl)

                return asyncio.run(go())

            pairs["AsyncClient / aiohttp, sequential"] = paired(async_client(1), aiohttp_seq, args.pairs)
            pairs["AsyncClient / Client, sequential"] = paired(async_client(1), client_seq, args.pairs)
            if args.raw:
                raw_bin, auth = args.raw, headers["Authorization"]
                pairs["Client / raw reqwest, sequential"] = paired(
                    client_seq, lambda: raw_reqwest(raw_bin, url, auth, sl, 1, {}, "paired"), args.pairs)
                pairs[f"AsyncClient / raw reqwest, {args.inflight} in flight"] = paired(
                    async_client(args.inflight),
                    lambda: raw_reqwest(raw_bin, url, auth, sl, args.inflight, {}, "paired"), args.pairs)

        cache = DictLockCache(token)
        hit = {
            "zoho_oauth.Client.access_token()": per_call_ns(client.access_token),
            "dict + lock (pure Python)": per_call_ns(cache.access_token),
        }
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    server = "nginx, 1 worker" if args.server == "nginx" else "MockZoho"
    print(f"Python {sys.version.split()[0]}, {args.seconds:g} s per run, server {base} ({server}, separate process)\n")
    for scenario, figures in results.items():
        print(f"{scenario}:")
        for name, rps in figures.items():
            c = cpu.get((scenario, name))
            print(f"  {name:28s} {rps:10.0f} req/s" + (f"  {c:6.0f} µs CPU/req" if c is not None else ""))
    print("\naccess_token() on a cache hit:")
    for name, ns in hit.items():
        print(f"  {name:34s} {ns:8.0f} ns/call")
    seq_r = results["sequential"]
    thr = results[f"{args.threads} threads"]
    asy = results[f"asyncio, {args.inflight} in flight"]
    print("\nratios:")
    print(f"  Client / requests.Session, sequential:      {seq_r['zoho_oauth.Client'] / seq_r['requests.Session']:.2f}  (goal >= 4)")
    print(f"  Client / httpx.Client, sequential:          {seq_r['zoho_oauth.Client'] / seq_r['httpx.Client']:.2f}")
    print(f"  Client / requests.Session, {args.threads} threads:     {thr['zoho_oauth.Client'] / thr['requests.Session']:.2f}")
    print(f"  Client / httpx.Client, {args.threads} threads:         {thr['zoho_oauth.Client'] / thr['httpx.Client']:.2f}")
    print(f"  AsyncClient / aiohttp, {args.inflight} in flight:        {asy['zoho_oauth.AsyncClient'] / asy['aiohttp.ClientSession']:.2f}  (goal >= 1.5)")
    print(f"  AsyncClient / httpx.AsyncClient:            {asy['zoho_oauth.AsyncClient'] / asy['httpx.AsyncClient']:.2f}")
    print(f"  AsyncClient / aiohttp, sequential:          {seq_r['zoho_oauth.AsyncClient'] / seq_r['aiohttp.ClientSession']:.2f}  (goal >= 1.2)")
    print(f"  AsyncClient / Client, sequential:           {seq_r['zoho_oauth.AsyncClient'] / seq_r['zoho_oauth.Client']:.2f}  (goal >= 0.8)")
    if "raw reqwest (baseline)" in seq_r:
        raw_seq, raw_asy = seq_r["raw reqwest (baseline)"], asy["raw reqwest (baseline)"]
        print(f"  Client / raw reqwest, sequential:           {seq_r['zoho_oauth.Client'] / raw_seq:.2f}  (goal >= 0.9)")
        print(f"  AsyncClient / raw reqwest, {args.inflight} in flight:    {asy['zoho_oauth.AsyncClient'] / raw_asy:.2f}  (goal >= 0.6)")
    ratio = hit["zoho_oauth.Client.access_token()"] / hit["dict + lock (pure Python)"]
    print(f"  cache hit, zoho_oauth / dict + lock:        {ratio:.2f}  (goal <= 1)")
    if pairs:
        goals = {"AsyncClient / aiohttp, sequential": ">= 1.2", "AsyncClient / Client, sequential": ">= 0.8",
                 "Client / raw reqwest, sequential": ">= 0.9",
                 f"AsyncClient / raw reqwest, {args.inflight} in flight": ">= 0.6"}
        print(f"\npaired ratios ({args.slice:g} s per side, alternating; median, range):")
        for name, ratios in pairs.items():
            print(f"  {name + ':':43s} {describe(ratios)}  (goal {goals[name]})")


if __name__ == "__main__":
    main()
