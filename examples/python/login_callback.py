"""The server-based login: build the authorization URL (with a random ``state``), send the user's
browser there, and hand the URL Zoho redirects back to to ``handle_callback``, which checks the
state and the ``accounts-server`` (the user's data centre) and exchanges the code there.

Run against the built-in fake Zoho (no account needed; asserts what it prints). The fake's
consent screen answers /oauth/v2/auth at once with a 302 carrying code, state, location and
accounts-server; this example plays the browser, for a user who lives in the EU data centre:

    python examples/python/login_callback.py

Run against Zoho (a "Server-based Application" in https://api-console.zoho.com whose redirect URI
is ZOHO_REDIRECT_URI; open the printed URL, consent, then paste the whole URL the browser was
sent to, even if that page does not load):

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=us \\
    ZOHO_REDIRECT_URI=http://localhost:8080/callback python examples/python/login_callback.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (the app's home DC, default us) and
ZOHO_REDIRECT_URI. Without ZOHO_CLIENT_ID it runs against zoho_oauth.testing.MockZoho.
"""

from __future__ import annotations

import http.client
import os
import urllib.parse
from typing import Tuple

from zoho_oauth import AuthError, Client, OAuthApp

SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"]


def on_callback(app: OAuthApp, client_secret: str, callback_url: str, state: str, redirect_uri: str) -> Tuple[Client, str]:
    """What a web app does on /callback: the session kept ``state``; the tokens belong to the user
    who consented, in that user's data centre. Returns a client for that user and their email."""
    tokens = app.handle_callback(callback_url, expected_state=state, redirect_uri=redirect_uri)
    assert tokens.refresh_token is not None, "ask for access_type=offline"
    # Keep the refresh token and tokens.accounts_server together: refreshes must go to that DC.
    client = Client(
        client_id=app.client_id,
        client_secret=client_secret,
        refresh_token=tokens.refresh_token,
        dc=app.dc,
        accounts_url=tokens.accounts_server,
        api_domain=tokens.api_domain,
        initial_token=tokens,  # the exchange's access token: no refresh spent until it expires
    )
    me = client.get("/crm/v8/users", params={"type": "CurrentUser"}).raise_for_status().json()
    email = str(me["users"][0]["email"])
    print(f"logged in: {email} (accounts server {tokens.accounts_server})")
    return client, email


def real_zoho() -> None:
    redirect_uri = os.environ["ZOHO_REDIRECT_URI"]
    app = OAuthApp(
        os.environ["ZOHO_CLIENT_ID"], os.environ["ZOHO_CLIENT_SECRET"], os.environ.get("ZOHO_DC", "us"), client_type="server"
    )
    url, state = app.authorization_url(SCOPES, redirect_uri, prompt="consent")
    print(f"open this URL, consent, then paste the URL you were redirected to:\n{url}")
    on_callback(app, os.environ["ZOHO_CLIENT_SECRET"], input().strip(), state, redirect_uri)


MOCK_ID, MOCK_SECRET = "1000.SERVERAPP", "server-secret"
MOCK_REDIRECT_URI = "http://127.0.0.1:8765/callback"
EU_USER = "eu.user@example.com"


def browser_consent(url: str, user: str) -> str:
    """Plays the browser on the fake's consent screen: GET the URL, return the 302's Location."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=10)
    conn.request("GET", f"{parts.path}?{parts.query}&{urllib.parse.urlencode({'mock_user': user})}")
    answer = conn.getresponse()
    assert answer.status == 302, answer.status
    location = answer.getheader("Location")
    conn.close()
    assert location is not None
    return location


def fake_zoho() -> None:
    from zoho_oauth.testing import MockZoho

    with MockZoho(dcs=("us", "eu")) as mock:
        mock.register_client(MOCK_ID, MOCK_SECRET, client_type="server", redirect_uris=[MOCK_REDIRECT_URI])
        mock.register_user(EU_USER, "eu")
        # A multi-DC app with home DC us; the fake's listeners stand in for Zoho's accounts servers.
        app = mock.app(MOCK_ID, MOCK_SECRET, client_type="server", dc="us")
        url, state = app.authorization_url(SCOPES, MOCK_REDIRECT_URI, prompt="consent")
        print("authorization URL:", url)
        assert url.startswith(f"{mock.url('us')}/oauth/v2/auth?")

        callback = browser_consent(url, EU_USER)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
        print("callback:", {k: ("REDACTED" if k == "code" else v) for k, v in query.items()})
        assert query["location"] == "eu" and query["accounts-server"] == mock.url("eu") and query["state"] == state

        # A callback with another state, or naming a server that is not a trusted Zoho accounts
        # server, is refused before any token request.
        try:
            app.handle_callback(callback, expected_state="another-session", redirect_uri=MOCK_REDIRECT_URI)
            raise AssertionError("a wrong state was accepted")
        except AuthError as e:
            print("wrong state:", e.code)
            assert e.code == "state_mismatch"
        forged = callback.replace(urllib.parse.quote(query["accounts-server"], safe=""), "https%3A%2F%2Faccounts.evil.example")
        try:
            app.handle_callback(forged, expected_state=state, redirect_uri=MOCK_REDIRECT_URI)
            raise AssertionError("a forged accounts-server was accepted")
        except AuthError as e:
            print("forged accounts-server:", e.code)
            assert e.code == "untrusted_accounts_server"
        assert mock.counters()["token_requests_total"] == 0

        client, email = on_callback(app, MOCK_SECRET, callback, state, MOCK_REDIRECT_URI)
        client.close()
        assert email == EU_USER
        assert mock.token_requests("authorization_code") == 1


if __name__ == "__main__":
    if os.environ.get("ZOHO_CLIENT_ID"):
        real_zoho()
    else:
        fake_zoho()
