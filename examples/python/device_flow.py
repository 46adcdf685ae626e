"""The device flow (Zoho "non-browser applications"): ask for a user code, show it with the
verification URL, and poll until the user approves it on another device. Zoho allows one poll per
30 seconds; ``wait()`` honours that, ``slow_down``, and ``other_dc`` (a user of another DC).

Run against the built-in fake Zoho (no account needed; asserts what it prints). The "user"
approves through the fake's control API, and the fake's virtual clock stands in for the
30-second polling interval, so it finishes at once:

    python examples/python/device_flow.py

Run against Zoho (a "Non-browser Application" in https://api-console.zoho.com):

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu python examples/python/device_flow.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_DC (default us). Without ZOHO_CLIENT_ID it runs
against zoho_oauth.testing.MockZoho.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

from zoho_oauth import Client, DeviceAuthorization, OAuthApp, TokenSet

SCOPES = ["ZohoCRM.modules.ALL"]


def show(flow: DeviceAuthorization) -> None:
    print(f"on any device, open {flow.verification_url} and enter the code {flow.user_code} (valid {flow.expires_in:.0f} s)")


def device_login(app: OAuthApp, approve: Optional[Callable[[str], None]] = None) -> TokenSet:
    flow = app.start_device_flow(SCOPES)
    show(flow)
    if approve is not None:
        approve(flow.user_code)  # the fake Zoho only: the user approving on their phone
    tokens = flow.wait()  # polls every `flow.interval` seconds (at least 30)
    print(f"approved: scopes {tokens.scopes}, accounts server {tokens.accounts_server}")
    return tokens


def count_leads(app: OAuthApp, client_secret: str, tokens: TokenSet) -> int:
    """Uses the new refresh token: a client for the user who approved, in their data centre."""
    assert tokens.refresh_token is not None, "ask for access_type=offline"
    with Client(
        client_id=app.client_id,
        client_secret=client_secret,
        refresh_token=tokens.refresh_token,
        dc=app.dc,
        accounts_url=tokens.accounts_server,
        api_domain=tokens.api_domain,
        initial_token=tokens,  # the exchange's access token: no refresh spent until it expires
    ) as client:
        n = sum(1 for _ in client.paginate("/crm/v8/Leads"))
    print(f"{n} leads")
    return n


def main() -> None:
    if os.environ.get("ZOHO_CLIENT_ID"):
        secret = os.environ["ZOHO_CLIENT_SECRET"]
        app = OAuthApp(os.environ["ZOHO_CLIENT_ID"], secret, os.environ.get("ZOHO_DC", "us"), client_type="device")
        count_leads(app, secret, device_login(app))
        return

    from zoho_oauth.testing import MockZoho

    with MockZoho() as mock:
        mock.register_client("1000.DEVICEAPP", "device-secret", client_type="device")
        # mock.app() wires the app to the fake's virtual clock: the 30 s waits advance it instead.
        app = mock.app("1000.DEVICEAPP", "device-secret", client_type="device")
        tokens = device_login(app, approve=mock.approve_device)
        assert count_leads(app, "device-secret", tokens) == 5
        counters = mock.counters()
        print(f"device polls: {counters['device_polls']}, token requests: {counters['token_requests']}")
        assert counters["device_polls"] == 1


if __name__ == "__main__":
    main()
