"""OAuthApp flows against the fake Zoho: self-client codes, the server-based and mobile (PKCE)
authorization code flows with callbacks from several data centres, the device flow,
client credentials, refresh and revocation."""

from __future__ import annotations

import asyncio
import http.client
import urllib.parse

import pytest

from zoho_oauth import AuthError, AuthorizationUrl, Client, ConfigError, TokenSet, TransportError
from zoho_oauth.testing import DEFAULT_CLIENT_SECRET, MockZoho

SCOPES = ["ZohoCRM.modules.ALL"]
REDIRECT = "https://app.example/cb"


def consent(url: str, **extra: str) -> str:
    """What the browser does: open the authorization URL and return the redirect's Location."""
    if extra:
        url += "&" + urllib.parse.urlencode(extra)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.netloc, timeout=10)
    conn.request("GET", f"{u.path}?{u.query}")
    resp = conn.getresponse()
    assert resp.status == 302, resp.read()
    location = resp.getheader("Location")
    conn.close()
    assert location is not None
    return location


def test_self_client_code_exchange_is_single_use(mock_zoho: MockZoho) -> None:
    app = mock_zoho.app()
    code = mock_zoho.mint_code(SCOPES)["code"]
    tokens = app.exchange_code(code)
    assert isinstance(tokens, TokenSet)
    assert tokens.refresh_token and tokens.access_token and tokens.api_domain == mock_zoho.base_url
    assert tokens.accounts_server == mock_zoho.base_url and tokens.scopes == SCOPES
    assert tokens.expires_at_ms - mock_zoho.now_ms() > 3500_000
    shown = repr(tokens)  # one quote style, as Python writes reprs
    assert '"' not in shown and f"accounts_server='{mock_zoho.base_url}'" in shown, shown
    assert f"scopes={SCOPES!r}" in shown, shown
    with pytest.raises(AuthError) as e:
        app.exchange_code(code)
    assert e.value.code == "invalid_code" and e.value.status == 200
    # The refresh token works in a Client, seeded by nothing but the refresh token.
    c = mock_zoho.client(tokens.refresh_token)
    assert c.get("/crm/v8/Leads").status == 200
    refreshed = app.refresh(tokens.refresh_token)
    assert refreshed.refresh_token is None and refreshed.access_token != tokens.access_token
    app.revoke(tokens.refresh_token)
    with pytest.raises(AuthError):
        app.refresh(tokens.refresh_token)


def test_server_based_flow_with_state_and_callback(mock_zoho: MockZoho) -> None:
    mock_zoho.register_client("1000.SERVER", "server-secret", client_type="server", redirect_uris=[REDIRECT])
    app = mock_zoho.app("1000.SERVER", "server-secret", client_type="server")
    auth = app.authorization_url(SCOPES, REDIRECT, prompt="consent")
    assert isinstance(auth, AuthorizationUrl) and auth.code_verifier is None
    url, state = auth
    assert (url, state) == (auth.url, auth.state) and len(auth) == 2 and auth[0] == url
    assert "client_secret" not in url and f"state={state}" in url
    callback = consent(url)
    with pytest.raises(AuthError) as bad_state:
        app.handle_callback(callback, expected_state="not-the-state", redirect_uri=REDIRECT)
    assert bad_state.value.code == "state_mismatch"
    with pytest.raises(ConfigError):  # the state is required unless skipped by name
        app.handle_callback(callback, redirect_uri=REDIRECT)
    tokens = app.handle_callback(callback, expected_state=state, redirect_uri=REDIRECT)
    assert tokens.refresh_token and tokens.accounts_server == mock_zoho.base_url
    denied = consent(app.authorization_url(SCOPES, REDIRECT, state="s1").url, mock_deny="true")
    with pytest.raises(AuthError) as d:
        app.handle_callback(denied, expected_state="s1")
    assert d.value.code == "access_denied"


def test_callback_naming_a_foreign_accounts_server_is_refused(mock_zoho: MockZoho) -> None:
    app = mock_zoho.app("1000.SERVER", "x", client_type="server")
    cb = REDIRECT + "?code=1000.abc&location=us&accounts-server=https%3A%2F%2Faccounts.evil.example&state=s"
    with pytest.raises(AuthError) as e:
        app.handle_callback(cb, expected_state="s")
    assert e.value.code == "untrusted_accounts_server"
    assert mock_zoho.counters()["token_requests_total"] == 0, "the secret never left"
    with pytest.raises(TransportError) as m:
        app.handle_callback("https://app.example/cb?nothing=here")
    assert m.value.code == "invalid_response"


def test_multi_dc_callback_exchanges_at_the_users_dc() -> None:
    with MockZoho(dcs=["us", "eu"]) as mock:
        mock.register_client("1000.SERVER", "server-secret", client_type="server", redirect_uris=[REDIRECT])
        mock.register_user("eu@example.com", "eu")
        app = mock.app("1000.SERVER", "server-secret", client_type="server")
        url, state = app.authorization_url(SCOPES, REDIRECT)
        callback = consent(url, mock_user="eu@example.com")
        assert "location=eu" in callback
        tokens = app.handle_callback(callback, expected_state=state, redirect_uri=REDIRECT)
        eu = mock.url("eu")
        assert tokens.accounts_server == eu and tokens.api_domain == eu
        assert mock.counters()["token_requests"]["authorization_code"] == {"success": 1}


def test_mobile_flow_uses_pkce(mock_zoho: MockZoho) -> None:
    mock_zoho.register_client("1000.MOBILE", "mobile-secret", client_type="mobile", redirect_uris=[REDIRECT])
    app = mock_zoho.app("1000.MOBILE", "mobile-secret", client_type="mobile")
    auth = app.authorization_url(SCOPES, REDIRECT)
    assert auth.code_verifier and "code_challenge_method=S256" in auth.url
    assert auth.code_verifier not in repr(auth) + str(auth)
    callback = consent(auth.url)
    with pytest.raises(AuthError):
        app.handle_callback(callback, expected_state=auth.state, redirect_uri=REDIRECT, code_verifier="wrong" * 10)
    callback = consent(auth.url)
    tokens = app.handle_callback(callback, expected_state=auth.state, redirect_uri=REDIRECT, code_verifier=auth.code_verifier)
    assert tokens.access_token and tokens.scopes == SCOPES


def test_device_flow_approved_denied_expired(mock_zoho: MockZoho) -> None:
    mock_zoho.register_client("1004.DEV", "dev-secret", client_type="device")
    app = mock_zoho.app("1004.DEV", "dev-secret", client_type="device")
    flow = app.start_device_flow(SCOPES)
    assert flow.user_code and flow.verification_url and flow.interval >= 30 and flow.expires_in == 300
    assert flow.user_code in repr(flow)
    mock_zoho.approve_device(flow.user_code)
    before = mock_zoho.now_ms()
    tokens = flow.wait()
    assert tokens.refresh_token and tokens.access_token
    assert mock_zoho.now_ms() - before >= 30_000, "the first poll waited the interval (virtual time)"
    denied = app.start_device_flow(SCOPES)
    mock_zoho.approve_device(denied.user_code, deny=True)
    with pytest.raises(AuthError) as d:
        denied.wait()
    assert d.value.code == "access_denied"
    expired = app.start_device_flow(SCOPES)
    with pytest.raises(AuthError) as x:
        expired.wait()
    assert x.value.code == "device_flow_expired"
    later = app.start_device_flow(SCOPES)
    mock_zoho.approve_device(later.user_code)
    assert asyncio.run(_wait(later)).refresh_token


async def _wait(flow: "object") -> TokenSet:
    from zoho_oauth import DeviceAuthorization

    assert isinstance(flow, DeviceAuthorization)
    return await flow.wait_async()


def test_device_flow_follows_other_dc() -> None:
    with MockZoho(dcs=["us", "eu"]) as mock:
        mock.register_client("1004.DEV", "dev-secret", client_type="device")
        mock.register_user("eu@example.com", "eu")
        app = mock.app("1004.DEV", "dev-secret", client_type="device")
        flow = app.start_device_flow(SCOPES)
        mock.approve_device(flow.user_code, user="eu@example.com")
        tokens = flow.wait()
        assert tokens.accounts_server == mock.url("eu")


def test_client_credentials(mock_zoho: MockZoho) -> None:
    t = mock_zoho.app().client_credentials(SCOPES)
    assert t.access_token and t.refresh_token is None
    with pytest.raises(ConfigError):
        mock_zoho.app().client_credentials(["a,b"])


def test_client_from_an_exchanged_token(mock_zoho: MockZoho) -> None:
    tokens = mock_zoho.app().exchange_code(mock_zoho.mint_code(SCOPES)["code"])
    assert tokens.refresh_token is not None
    c = Client(
        client_id="1000.MOCKSELFCLIENT",
        client_secret=DEFAULT_CLIENT_SECRET,
        refresh_token=tokens.refresh_token,
        accounts_url=tokens.accounts_server,
    )
    assert c.get("/crm/v8/Leads").status == 200


def test_async_flows_do_not_block_the_loop(mock_zoho: MockZoho) -> None:
    mock_zoho.register_client("1000.SERVER", "server-secret", client_type="server", redirect_uris=[REDIRECT])
    mock_zoho.register_client("1004.DEV", "dev-secret", client_type="device")
    app = mock_zoho.app("1000.SERVER", "server-secret", client_type="server")
    url, state = app.authorization_url(SCOPES, REDIRECT)
    callback = consent(url)
    code = mock_zoho.mint_code(SCOPES)["code"]
    self_app = mock_zoho.app()
    device_app = mock_zoho.app("1004.DEV", "dev-secret", client_type="device")

    async def main() -> None:
        tokens = await app.handle_callback_async(callback, expected_state=state, redirect_uri=REDIRECT)
        assert tokens.refresh_token
        with pytest.raises(AuthError) as e:
            await app.handle_callback_async(callback, expected_state="other")
        assert e.value.code == "state_mismatch"
        exchanged = await self_app.exchange_code_async(code)
        assert exchanged.refresh_token is not None
        refreshed = await self_app.refresh_async(exchanged.refresh_token)
        assert refreshed.access_token != exchanged.access_token
        await self_app.revoke_async(exchanged.refresh_token)
        with pytest.raises(AuthError):
            await self_app.refresh_async(exchanged.refresh_token)
        flow = await device_app.start_device_flow_async(SCOPES)
        mock_zoho.approve_device(flow.user_code)
        assert (await flow.wait_async()).refresh_token

    asyncio.run(main())
    assert mock_zoho.counters()["revocations"] == 1


def test_a_client_seeded_with_exchanged_tokens_spends_no_refresh(mock_zoho: MockZoho) -> None:
    tokens = mock_zoho.app().exchange_code(mock_zoho.mint_code(SCOPES)["code"])
    assert tokens.refresh_token
    c = mock_zoho.client(tokens.refresh_token, initial_token=tokens)
    assert c.access_token() == tokens.access_token
    assert c.get("/crm/v8/Leads").status == 200
    assert mock_zoho.token_requests("refresh_token") == 0, "the exchange's token is used until it expires"
    mock_zoho.advance_clock(3600)
    assert c.access_token() != tokens.access_token
    assert mock_zoho.token_requests("refresh_token") == 1
