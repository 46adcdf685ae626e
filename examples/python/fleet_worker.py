"""A fleet worker: many processes (on one host or many) share one Zoho identity through a Redis
token store, so they refresh the access token once between them instead of once each. Zoho
allows 10 refreshes per refresh token per 10 minutes; a fleet refreshing on its own gets locked
out. The store also holds the refresh lease and the refresh budget.

Run against the built-in fake Zoho (no account needed; asserts what it prints): it starts the
fake, then 4 copies of itself as workers (4 threads each) sharing REDIS_URL (or a file store in a
temporary folder when no Redis is given), and checks that the fake saw exactly one refresh:

    REDIS_URL=redis://127.0.0.1:6379/0 python examples/python/fleet_worker.py

Run as a worker against Zoho (start as many as you like, on any host reaching the Redis):

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \\
    ZOHO_TOKEN_STORE=redis://redis.internal:6379/0 python examples/python/fleet_worker.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
ZOHO_TOKEN_STORE (else REDIS_URL), optionally ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN and
ZOHO_WORKER_ID (a label). Without ZOHO_CLIENT_ID it runs the fleet against
zoho_oauth.testing.MockZoho.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from zoho_oauth import Client

WORKERS = 4
THREADS_PER_WORKER = 4


def worker() -> None:
    """One worker: a client on the shared store, and threads calling CRM with it."""
    store = os.environ.get("ZOHO_TOKEN_STORE") or os.environ.get("REDIS_URL")
    if not store:
        raise SystemExit("set ZOHO_TOKEN_STORE or REDIS_URL (redis://host:6379/0)")
    client = Client(
        client_id=os.environ["ZOHO_CLIENT_ID"],
        client_secret=os.environ["ZOHO_CLIENT_SECRET"],
        refresh_token=os.environ["ZOHO_REFRESH_TOKEN"],
        dc=os.environ.get("ZOHO_DC", "us"),
        token_store=store,
        accounts_url=os.environ.get("ZOHO_ACCOUNTS_URL"),
        api_domain=os.environ.get("ZOHO_API_DOMAIN"),
    )
    with client, ThreadPoolExecutor(THREADS_PER_WORKER) as pool:
        calls = [pool.submit(client.get, "/crm/v8/Leads", params={"per_page": 1}) for _ in range(THREADS_PER_WORKER)]
        for call in calls:
            call.result().raise_for_status()
        # A hash of the token, safe to print: the same in every worker means one shared token.
        fingerprint = hashlib.sha256(client.access_token().encode()).hexdigest()[:12]
    label = os.environ.get("ZOHO_WORKER_ID", str(os.getpid()))
    print(f"worker {label}: {THREADS_PER_WORKER} calls ok, access token {fingerprint}", flush=True)


def fleet_on_fake_zoho() -> None:
    from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho

    with MockZoho() as mock, tempfile.TemporaryDirectory() as tmp:
        store = os.environ.get("ZOHO_TOKEN_STORE") or os.environ.get("REDIS_URL") or f"file://{tmp}/tokens.json"
        print("token store:", store.split("?")[0])
        env = {k: v for k, v in os.environ.items() if k not in ("ZOHO_DC", "ZOHO_API_DOMAIN")}
        env.update(
            ZOHO_CLIENT_ID=DEFAULT_CLIENT_ID,
            ZOHO_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            ZOHO_REFRESH_TOKEN=mock.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"],
            ZOHO_ACCOUNTS_URL=mock.base_url,
            ZOHO_TOKEN_STORE=store,
        )
        # The fleet: copies of this program in worker mode, started together.
        workers = [
            subprocess.Popen([sys.executable, __file__], env={**env, "ZOHO_WORKER_ID": str(i)}, stdout=subprocess.PIPE, text=True)
            for i in range(WORKERS)
        ]
        fingerprints = []
        for w in workers:
            out, _ = w.communicate(timeout=60)
            print(out, end="")
            assert w.returncode == 0, f"a worker failed with {w.returncode}"
            fingerprints.append(out.split()[-1])
        counters = mock.counters()
        print("token requests seen by the fake Zoho:", counters["token_requests"])
        print("API calls:", counters["api_calls_total"])
        assert len(set(fingerprints)) == 1, "every worker uses the same access token"
        assert mock.token_requests("refresh_token") == 1, "one refresh for the whole fleet"
        assert counters["api_calls_total"] == WORKERS * THREADS_PER_WORKER


if __name__ == "__main__":
    if os.environ.get("ZOHO_CLIENT_ID"):
        worker()
    else:
        fleet_on_fake_zoho()
