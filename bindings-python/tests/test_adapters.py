"""requests and httpx adapters: same cache, host allowlist, one refresh-and-resend on a dead
token. Skipped when the library is not installed."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from zoho_oauth import ConfigError
from zoho_oauth.testing import MockZoho

if TYPE_CHECKING:
    import httpx as httpx_types


def test_requests_adapter(mock_zoho: MockZoho) -> None:
    requests = pytest.importorskip("requests")
    c = mock_zoho.client(virtual_clock=False)
    token = c.access_token()
    s = requests.Session()
    s.auth = c.requests_auth()
    r = s.get(mock_zoho.base_url + "/crm/v8/Leads")
    assert r.status_code == 200 and r.request.headers["Authorization"] == f"Zoho-oauthtoken {token}"
    assert mock_zoho.token_requests("refresh_token") == 1, "the adapter reused the client's cache"
    with pytest.raises(ConfigError):
        s.get("https://evil.example/steal")
    mock_zoho.advance_clock(3601)  # the mock expires the token; the client still trusts it
    r = s.get(mock_zoho.base_url + "/crm/v8/Leads")
    assert r.status_code == 200 and [h.status_code for h in r.history] == [401]
    assert c.access_token() != token and mock_zoho.token_requests("refresh_token") == 2
    narrow = mock_zoho.client(scopes=["ZohoCRM.users.READ"])
    r = requests.get(mock_zoho.base_url + "/crm/v8/Leads", auth=narrow.requests_auth())
    assert r.status_code == 401 and not r.history, "scope errors are not retried"


def test_httpx_adapter_sync_and_async(mock_zoho: MockZoho) -> None:
    httpx = pytest.importorskip("httpx")
    c = mock_zoho.client(virtual_clock=False)
    auth = c.httpx_auth()
    if TYPE_CHECKING:  # checked by mypy --strict only: the stub must not say Any
        from typing import assert_type

        assert_type(auth, httpx_types.Auth)
    assert isinstance(auth, httpx.Auth)
    with httpx.Client(auth=auth) as h:
        assert h.get(mock_zoho.base_url + "/crm/v8/Leads").status_code == 200
        with pytest.raises(ConfigError):
            h.get("https://evil.example/steal")
        mock_zoho.advance_clock(3601)
        r = h.get(mock_zoho.base_url + "/crm/v8/Leads")
        assert r.status_code == 200 and mock_zoho.token_requests("refresh_token") == 2
    ac = mock_zoho.async_client(virtual_clock=False)

    async def main() -> int:
        async with httpx.AsyncClient(auth=ac.httpx_auth()) as h:
            first = await h.get(mock_zoho.base_url + "/crm/v8/Leads")
            mock_zoho.advance_clock(3601)
            second = await h.get(mock_zoho.base_url + "/crm/v8/Leads")
            return int(first.status_code + second.status_code)

    assert asyncio.run(main()) == 400
    assert mock_zoho.token_requests("refresh_token") == 4
