"""Behaviour after os.fork(): a client inherited from the parent refuses network calls with a
ConfigError (its connections belong to the parent's runtime); a client created in the child
works. Nothing hangs."""

from __future__ import annotations

import os
import sys
import time
import warnings

import pytest

from zoho_oauth import ConfigError
from zoho_oauth.testing import MockZoho

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def run_in_child(fn: "object") -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork of a threaded process
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 99
        try:
            code = fn()  # type: ignore[operator]
        except BaseException as e:
            sys.stderr.write(f"child failed: {e!r}\n")
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the child hung after fork()")


def test_fork_parent_client_refuses_and_new_client_works(mock_zoho: MockZoho) -> None:
    inherited = mock_zoho.client(virtual_clock=False)
    assert inherited.get("/crm/v8/Leads").status == 200
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    base = mock_zoho.base_url

    def child() -> int:
        from zoho_oauth import Client

        try:
            inherited.get("/crm/v8/Leads")
            return 1
        except ConfigError as e:
            if "fork" not in str(e):
                return 2
        fresh = Client(client_id="1000.MOCKSELFCLIENT", client_secret="mock-self-secret", refresh_token=rt,
                       accounts_url=base, api_domain=base)
        return 0 if fresh.get("/crm/v8/Leads").status == 200 else 3

    assert run_in_child(child) == 0
    assert inherited.get("/crm/v8/Leads").status == 200, "the parent is unaffected"
    assert mock_zoho.token_requests("refresh_token") == 2


def test_fork_right_after_import_async(mock_zoho: MockZoho) -> None:
    rt = mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"]
    base = mock_zoho.base_url

    def child() -> int:
        import asyncio

        from zoho_oauth import AsyncClient

        async def main() -> int:
            c = AsyncClient(client_id="1000.MOCKSELFCLIENT", client_secret="mock-self-secret", refresh_token=rt,
                            accounts_url=base, api_domain=base)
            return (await c.get("/crm/v8/Leads")).status

        return 0 if asyncio.run(main()) == 200 else 4

    assert run_in_child(child) == 0
