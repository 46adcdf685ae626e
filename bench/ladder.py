#!/usr/bin/env python3
"""The sequential ladder: one GET at a time, from the machine's floor up to the clients.

Six rungs call the same loopback nginx (``bench/python/bench.py``'s, answering the fake Zoho's
``GET /crm/v8/Leads?per_page=1``), one after the other in every round, so each round's ratios
share a minute of this noisy machine:

1. ``C floor``: ``bench/raw/floor.rs``, a blocking socket, write and read, nothing else;
2. ``Node floor``: ``bench/node/floor``, the least a native Node addon can do (a napi promise
   per request, a libuv poll on the socket, no HTTP library);
3. ``core, Node's way``: ``bench/raw/core_client.rs here``, the core driven as the Node addon
   drives a lone request (an epoll instance on ``here_fd()``, ``drive_here`` turns), no
   JavaScript;
4. ``core, blocking``: ``core_client`` with ``send_blocking`` (what the Python ``Client`` runs);
5. ``Client.get``: the Node package (``bench/node/seq.mjs zoho``);
6. ``undici``: ``undici.request`` (``bench/node/seq.mjs undici``).

Reads: rung 2 over rung 1 is what Node itself costs; rung 5 is about rung 3 plus that cost when
the binding adds nothing of its own; rung 5 over rung 6 is the sequential goal of issue 17.
bench/README.md, "Change 11", has a run. Build, then run with the bench virtualenv
(``bench/python/bench.py``'s docstring)::

    cargo build --release -p zoho-oauth --example floor --example core_client
    cargo build --release -p zoho-oauth-bench-floor -p zoho-oauth-node
    cp target/$CARGO_BUILD_TARGET/release/libzoho_oauth_node.so target/zoho-oauth-bench.node
    ZOHO_OAUTH_NATIVE=$PWD/target/zoho-oauth-bench.node target/bench-venv/bin/python bench/ladder.py --rounds 8

Needs nginx (Debian's ``nginx-light``) and the fake Zoho from ``zoho_oauth.testing``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "python"))

import bench  # noqa: E402  (bench/python/bench.py: the servers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=2.0, help="per rung per round")
    args = ap.parse_args()
    if shutil.which("nginx") is None:
        sys.exit("ladder.py needs nginx on PATH (apt-get install nginx-light)")
    triple = os.environ.get("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu")
    examples = os.path.join(ROOT, "target", triple, "release", "examples")

    from zoho_oauth import Client
    from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    proc, info = bench.start_server()
    mock, rt = info["base_url"], info["refresh_token"]
    probe = Client(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
                   accounts_url=mock, api_domain=mock)
    nginx, base, workdir = bench.start_nginx(probe.get(bench.PATH, params=bench.PARAMS).text)
    token = probe.access_token()
    url = f"{base}{bench.PATH}?per_page=1"
    # Shared by the rungs that refresh, so one access token serves them all: the fake Zoho, like
    # Zoho, mints at most 10 per refresh token in 10 minutes.
    store = f"file://{workdir}/tokens.json"
    s = str(args.seconds)
    seq = os.path.join(HERE, "node", "seq.mjs")
    rungs: List[Tuple[str, List[str]]] = [
        ("C floor", [os.path.join(examples, "floor"), url, f"Zoho-oauthtoken {token}", s]),
        ("Node floor", ["node", os.path.join(HERE, "node", "floor.mjs"), url, f"Zoho-oauthtoken {token}", s]),
        ("core, Node's way", [os.path.join(examples, "core_client"), base, mock, rt, s, "here", store]),
        ("core, blocking", [os.path.join(examples, "core_client"), base, mock, rt, s, "1", store]),
        ("Client.get", ["node", seq, "zoho", base, mock, rt, s, store]),
        ("undici", ["node", seq, "undici", base, token, s]),
    ]
    runs: Dict[str, List[Tuple[float, float]]] = {name: [] for name, _ in rungs}
    try:
        for r in range(args.rounds):
            for name, cmd in rungs:
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"{name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
                d = json.loads(done.stdout.strip().splitlines()[-1])
                runs[name].append((float(d["rps"]), float(d["cpu_us_per_req"])))
            print(f"round {r + 1}: " + ", ".join(f"{n} {runs[n][-1][0]:.0f}" for n, _ in rungs), flush=True)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    undici = [rps for rps, _ in runs["undici"]]
    print(f"\n{args.rounds} rounds of {args.seconds:g} s per rung; medians")
    print("| rung | req/s | CPU µs/req | / undici (median, range) |")
    print("| --- | ---: | ---: | ---: |")
    for name, _ in rungs:
        rps = [x for x, _ in runs[name]]
        ratios = [a / b for a, b in zip(rps, undici)]
        print(f"| {name} | {statistics.median(rps):,.0f} | {statistics.median(c for _, c in runs[name]):.1f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
