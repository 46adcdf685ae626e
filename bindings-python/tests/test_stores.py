"""Token store URLs from Python: the file store shared with another process, Redis (single,
cluster, sentinel), PostgreSQL and MySQL when the test command provides them (``REDIS_URL``,
``ZOHO_TEST_*_URL``), and the typed errors of bad store URLs and files.
The stores themselves are the core's; these tests check that Python reaches them unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from zoho_oauth import ConfigError, StoreError
from zoho_oauth.testing import MockZoho

CHILD = """
import sys
from zoho_oauth import Client
from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
url, rt, store = sys.argv[1:4]
c = Client(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, refresh_token=rt,
           accounts_url=url, api_domain=url, token_store=store)
print(c.access_token())
"""


def _shared_by_another_process(mock: MockZoho, store: str) -> None:
    rt = str(mock.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"])
    # Real clock: the other process cannot share the mock's virtual clock.
    with mock.client(rt, token_store=store, virtual_clock=False) as c:
        token = c.access_token()
    assert mock.token_requests("refresh_token") == 1
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mock.base_url, rt, store], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == token, "the other process read the stored token"
    assert mock.token_requests("refresh_token") == 1, "and made no token request of its own"


def test_file_store_is_shared_with_another_process(mock_zoho: MockZoho, tmp_path: Path) -> None:
    path = tmp_path / "state" / "tokens.json"
    _shared_by_another_process(mock_zoho, f"file://{path}")
    text = path.read_text()
    assert "zoho-oauth-token-store" in text
    assert "mock-self-secret" not in text, "the client secret is never stored"


def test_refresh_token_is_stored_only_when_asked(mock_zoho: MockZoho, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    rt = str(mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"])
    with mock_zoho.client(rt, token_store=f"file://{path}") as c:
        c.access_token()
        assert rt not in path.read_text()
        c.save_refresh_token("user@example.com")
    text = path.read_text()
    assert rt in text and "user@example.com" in text
    assert "mock-self-secret" not in text


# Every shared store the test command starts: (URL variable, variable that makes it required,
# the option that gives this test keys or a table of its own).
SHARED_STORES = [
    ("REDIS_URL", "ZOHO_REQUIRE_REDIS", "prefix=py-{id}:"),
    ("ZOHO_TEST_REDIS_CLUSTER_URL", "ZOHO_REQUIRE_STORES", "prefix=py-{id}:"),
    ("ZOHO_TEST_REDIS_SENTINEL_URL", "ZOHO_REQUIRE_STORES", "prefix=py-{id}:"),
    ("ZOHO_TEST_POSTGRES_URL", "ZOHO_REQUIRE_STORES", "table=py_{id}"),
    ("ZOHO_TEST_MYSQL_URL", "ZOHO_REQUIRE_STORES", "table=py_{id}"),
]


@pytest.mark.parametrize("var,require,option", SHARED_STORES, ids=[v for v, _, _ in SHARED_STORES])
def test_shared_store_is_shared_with_another_process(mock_zoho: MockZoho, var: str, require: str, option: str) -> None:
    base = os.environ.get(var)
    if not base:
        if os.environ.get(require) == "1":
            pytest.fail(f"{require}=1 but {var} is not set")
        pytest.skip(f"{var} is not set")
    sep = "&" if "?" in base else "?"
    _shared_by_another_process(mock_zoho, base + sep + option.format(id=uuid.uuid4().hex))


@pytest.mark.parametrize("url", ["file://tokens.json", "redis://", "mongodb://localhost/x"])
def test_bad_store_urls_are_config_errors_with_a_hint(mock_zoho: MockZoho, url: str) -> None:
    with pytest.raises(ConfigError) as e:
        mock_zoho.client(token_store=url)
    assert e.value.code == "config"
    assert e.value.hint


def test_a_foreign_file_is_a_store_error_and_left_untouched(mock_zoho: MockZoho, tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_text('{"name": "app"}')
    with mock_zoho.client(token_store=f"file://{path}") as c:
        with pytest.raises(StoreError) as e:
            c.access_token()
    assert e.value.code == "store"
    assert "not a zoho-oauth token store" in str(e.value)
    assert path.read_text() == '{"name": "app"}'
    assert mock_zoho.token_requests("refresh_token") == 0
