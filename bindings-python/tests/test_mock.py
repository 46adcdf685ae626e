"""zoho_oauth.testing.MockZoho: the fake Zoho runs in-process and answers like Zoho."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional, Tuple

import pytest

from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho

from zoho_oauth.testing import mock_zoho  # noqa: E402,F401  (the documented fixture)


def post_form(url: str, form: Dict[str, str]) -> Tuple[int, Dict[str, Any]]:
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST")) as r:
        return r.status, json.loads(r.read())


def get(url: str, token: Optional[str] = None) -> Tuple[int, Any]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Zoho-oauthtoken {token}")
    try:
        with urllib.request.urlopen(req) as r:
            body = r.read()
            return r.status, json.loads(body) if body else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def exchange(mock: MockZoho, code: str) -> Dict[str, Any]:
    status, body = post_form(
        mock.base_url + "/oauth/v2/token",
        {"grant_type": "authorization_code", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "code": code},
    )
    assert status == 200, "Zoho answers the token endpoint with HTTP 200"
    return body


def test_self_client_exchange_crm_call_and_expiry_on_the_virtual_clock(mock_zoho: MockZoho) -> None:
    code = mock_zoho.mint_code(["ZohoCRM.modules.ALL"])
    assert code["location"] == "us" and code["accounts_server"] == mock_zoho.base_url
    tokens = exchange(mock_zoho, code["code"])
    assert tokens["api_domain"] == mock_zoho.base_url
    assert tokens["expires_in"] == 3600 and "refresh_token" in tokens
    assert exchange(mock_zoho, code["code"]) == {"error": "invalid_code"}, "codes are single-use"
    status, body = get(mock_zoho.base_url + "/crm/v8/Leads", tokens["access_token"])
    assert status == 200 and body["info"]["count"] == 5
    mock_zoho.advance_clock(3601)
    status, body = get(mock_zoho.base_url + "/crm/v8/Leads", tokens["access_token"])
    assert (status, body["code"]) == (401, "INVALID_TOKEN")
    assert mock_zoho.token_requests("authorization_code") == 1
    assert mock_zoho.token_requests("authorization_code", "invalid_code") == 1
    assert mock_zoho.counters()["api_calls"]["GET /crm/v8/Leads"] == {"200": 1, "401": 1}


def test_multi_dc_settings_faults_and_reset() -> None:
    with MockZoho(dcs=["us", "eu"], settings={"legacy_expiry": True}) as mock:
        eu = mock.url("eu")
        assert eu is not None and eu != mock.base_url
        assert mock.url("jp") is None
        mock.register_user("eu@example.com", "eu")
        code = mock.mint_code(["ZohoCRM.modules.ALL"], user="eu@example.com")
        assert code["accounts_server"] == eu
        tokens = exchange(mock, code["code"])
        assert tokens == {"error": "invalid_code"}, "an EU code does not work at the US accounts server"
        mock.inject_fault("/crm/", status=503, retry_after="7")
        rt = mock.mint_refresh_token(["ZohoCRM.modules.ALL"])
        status, body = post_form(
            mock.base_url + "/oauth/v2/token",
            {"grant_type": "refresh_token", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, "refresh_token": rt["refresh_token"]},
        )
        assert body["expires_in_sec"] == 3600 and body["expires_in"] == 3600000
        status, _ = get(mock.base_url + "/crm/v8/Leads", body["access_token"])
        assert status == 503
        assert mock.configure(crm_credits=10)["crm_credits"] == 10
        mock.reset()
        assert mock.counters()["token_requests_total"] == 0
    # After the with block the mock is stopped and says so.
    with pytest.raises(RuntimeError):
        mock.counters()
    mock.stop()  # idempotent


def test_bad_input_is_a_value_error_with_a_reason() -> None:
    with pytest.raises(ValueError, match="legacy_expiri"):
        MockZoho(settings={"legacy_expiri": True})
    with pytest.raises(ValueError, match="mars"):
        MockZoho(dcs=["mars"])
    with MockZoho() as mock:
        with pytest.raises(ValueError, match="unknown client"):
            mock.mint_code(["a.b.READ"], client_id="1000.NOPE")
        with pytest.raises(ValueError, match="never goes back"):
            mock.advance_clock(-1)
        with pytest.raises(ValueError, match="device_units"):
            mock.configure(device_units="hours")


def test_device_approval_through_the_wrapper(mock_zoho: MockZoho) -> None:
    mock_zoho.register_client("1004.DEV", "dev-secret", client_type="device")
    status, d = post_form(
        mock_zoho.base_url + "/oauth/v3/device/code",
        {"client_id": "1004.DEV", "grant_type": "device_request", "scope": "ZohoCRM.modules.ALL", "access_type": "offline"},
    )
    mock_zoho.approve_device(d["user_code"])
    status, t = post_form(
        mock_zoho.base_url + "/oauth/v3/device/token",
        {"client_id": "1004.DEV", "client_secret": "dev-secret", "grant_type": "device_token", "code": d["device_code"]},
    )
    assert "access_token" in t and "refresh_token" in t


def test_importing_testing_does_not_import_pytest() -> None:
    """A script that runs ``MockZoho`` without pytest pays nothing for the fixture (pytest's import
    is ~14 MiB); the fixture is made when a test run imports it."""
    import subprocess
    import sys

    code = (
        "import sys, zoho_oauth.testing as t\n"
        "assert 'pytest' not in sys.modules, 'pytest imported'\n"
        "assert t.DEFAULT_CLIENT_ID and t.MockZoho\n"
        "from zoho_oauth.testing import mock_zoho\n"
        "assert 'pytest' in sys.modules and callable(mock_zoho), mock_zoho\n"
        "assert t.mock_zoho is mock_zoho, 'made once'\n"
        "try:\n"
        "    t.no_such_name\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_name' in str(e)\n"
        "else:\n"
        "    raise AssertionError('unknown names still fail')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
