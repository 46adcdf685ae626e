"""A token store of your own: SQLite (Python's standard library), shared by every process on the
host, in 40 lines of `SqliteStore`. The same pattern fits any database with a conditional write (DynamoDB,
etcd, a SQL table, a Django cache with ``add``/``cas``): implement ``get``, ``compare_and_set``
and ``keys`` (the ``zoho_oauth.KeyValueStore`` protocol) and pass the object as
``token_store=``. The Rust core builds the refresh lease, the refresh budget, the throttle
cooldown and the failure backoff on those three calls, so the processes refresh once between
them, exactly as with the built-in stores.

Run against the built-in fake Zoho (no account needed; asserts what it prints): it starts the
fake, then 4 copies of itself as workers (4 threads each) sharing one SQLite file, and checks
that the fake saw exactly one refresh:

    python examples/python/sqlite_store.py

Run as a worker against Zoho (start as many as you like on this host):

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \\
    ZOHO_SQLITE_STORE=/var/lib/myapp/zoho-tokens.db python examples/python/sqlite_store.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
ZOHO_SQLITE_STORE (the database file), optionally ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN.
Without ZOHO_CLIENT_ID it runs the fleet against zoho_oauth.testing.MockZoho.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional

from zoho_oauth import Client, KeyValueStore

WORKERS = 4
THREADS_PER_WORKER = 4


class SqliteStore:
    """``zoho_oauth.KeyValueStore`` on one SQLite file. Each call opens its own connection (the
    calls come from several threads) and is one statement, so every compare-and-set is atomic
    across threads and processes. The values are the cached tokens: the file is private (0600)."""

    timeout = 5.0  # seconds one call may take (SQLite waits up to 4 s for a writer's lock)

    def __init__(self, path: str) -> None:
        self.path = path
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        with closing(self._db()) as db:
            db.execute("CREATE TABLE IF NOT EXISTS zoho_tokens (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        # Autocommit: each statement is its own transaction.
        return sqlite3.connect(self.path, timeout=4.0, isolation_level=None)

    def get(self, key: str) -> Optional[str]:
        with closing(self._db()) as db:
            row = db.execute("SELECT value FROM zoho_tokens WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def compare_and_set(self, key: str, expected: Optional[str], new: Optional[str]) -> bool:
        with closing(self._db()) as db:
            if expected is None and new is not None:
                cur = db.execute("INSERT OR IGNORE INTO zoho_tokens (key, value) VALUES (?, ?)", (key, new))
            elif expected is not None and new is not None:
                cur = db.execute("UPDATE zoho_tokens SET value = ? WHERE key = ? AND value = ?", (new, key, expected))
            elif expected is not None:
                cur = db.execute("DELETE FROM zoho_tokens WHERE key = ? AND value = ?", (key, expected))
            else:
                return self.get(key) is None
        return cur.rowcount == 1

    def keys(self) -> List[str]:
        with closing(self._db()) as db:
            return [str(k) for (k,) in db.execute("SELECT key FROM zoho_tokens")]


def worker() -> None:
    """One worker: a client on the SQLite store, and threads calling CRM with it."""
    store: KeyValueStore = SqliteStore(os.environ["ZOHO_SQLITE_STORE"])
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
    print(f"worker {os.getpid()}: {THREADS_PER_WORKER} calls ok, access token {fingerprint}", flush=True)


def fleet_on_fake_zoho() -> None:
    from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho

    with MockZoho() as mock, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tokens.db")
        env = {k: v for k, v in os.environ.items() if k not in ("ZOHO_DC", "ZOHO_API_DOMAIN")}
        env.update(
            ZOHO_CLIENT_ID=DEFAULT_CLIENT_ID,
            ZOHO_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            ZOHO_REFRESH_TOKEN=mock.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"],
            ZOHO_ACCOUNTS_URL=mock.base_url,
            ZOHO_SQLITE_STORE=path,
        )
        workers = [subprocess.Popen([sys.executable, __file__], env=env, stdout=subprocess.PIPE, text=True) for _ in range(WORKERS)]
        fingerprints = []
        for w in workers:
            out, _ = w.communicate(timeout=60)
            print(out, end="")
            assert w.returncode == 0, f"a worker failed with {w.returncode}"
            fingerprints.append(out.split()[-1])
        print("refreshes seen by the fake Zoho:", mock.token_requests("refresh_token"))
        assert len(set(fingerprints)) == 1, "every worker uses the same access token"
        assert mock.token_requests("refresh_token") == 1, "one refresh for the whole fleet"
        identities = SqliteStore(path).keys()
        print("identities in the store:", len(identities))
        assert len(identities) == 1 and identities[0].startswith("zoho-oauth:v1:")


if __name__ == "__main__":
    if os.environ.get("ZOHO_CLIENT_ID"):
        worker()
    else:
        fleet_on_fake_zoho()
