"""Self client -> CRM Leads: exchange a self-client grant code once, then list leads with a
``Client`` that caches the access token and refreshes it by itself.

Run against the built-in fake Zoho (no account needed; asserts what it prints):

    python examples/python/self_client_leads.py

Run against Zoho (create the code at https://api-console.zoho.com, "Self Client", with scope
ZohoCRM.modules.ALL; codes are single-use and live 3 minutes):

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu ZOHO_GRANT_CODE=1000.yyy \\
        python examples/python/self_client_leads.py
    # later runs: ZOHO_REFRESH_TOKEN=1000.zzz instead of ZOHO_GRANT_CODE

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (default us), ZOHO_GRANT_CODE or
ZOHO_REFRESH_TOKEN, and optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN.
Without ZOHO_CLIENT_ID it points those variables at zoho_oauth.testing.MockZoho, started in this
process, and runs the same code.
"""

from __future__ import annotations

import logging
import os
import sys

from zoho_oauth import Client, OAuthApp, ZohoError


def exchange_grant_code(code: str, show_refresh_token: bool) -> None:
    """Once per grant code: the refresh token it returns lasts until revoked. Keep it (here in
    the environment of this run; a real program writes it to its secret store)."""
    app = OAuthApp(
        os.environ["ZOHO_CLIENT_ID"],
        os.environ["ZOHO_CLIENT_SECRET"],
        os.environ.get("ZOHO_DC", "us"),
        client_type="self",
        accounts_url=os.environ.get("ZOHO_ACCOUNTS_URL"),
    )
    tokens = app.exchange_code(code)
    assert tokens.refresh_token is not None, "generate the code with access_type offline"
    print(tokens)  # the repr shows no secret
    os.environ["ZOHO_REFRESH_TOKEN"] = tokens.refresh_token
    if show_refresh_token:  # shown once, on request, so that it can be stored; never log it
        print(f"store it: ZOHO_REFRESH_TOKEN={tokens.refresh_token} (accounts server {tokens.accounts_server})", file=sys.stderr)


def list_leads(client: Client, show: int = 10) -> int:
    """Prints the first ``show`` leads and returns how many there are (every page)."""
    n = 0
    for lead in client.paginate("/crm/v8/Leads", params={"fields": "Last_Name,Company"}):
        if n < show:
            print(lead["id"], lead.get("Last_Name"), lead.get("Company"))
        n += 1
    return n


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    mock = None
    if not os.environ.get("ZOHO_CLIENT_ID"):
        from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho

        mock = MockZoho()
        mock.seed_crm("Leads", 250)
        os.environ.update(
            ZOHO_CLIENT_ID=DEFAULT_CLIENT_ID,
            ZOHO_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            ZOHO_ACCOUNTS_URL=mock.base_url,
            ZOHO_GRANT_CODE=mock.mint_code(["ZohoCRM.modules.ALL"])["code"],
        )
    try:
        code = os.environ.get("ZOHO_GRANT_CODE")
        if code:
            exchange_grant_code(code, show_refresh_token=mock is None)
        with Client.from_env() as client:  # ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC
            n = list_leads(client)
        print(f"{n} leads")
    except ZohoError as e:
        # e.code is stable across languages; e.hint says what to do.
        raise SystemExit(f"zoho: {e.code}: {e} ({e.hint})") from e
    if mock is not None:
        counters = mock.counters()
        print("token requests:", counters["token_requests"])
        assert n == 250
        assert mock.token_requests("authorization_code") == 1
        # A fresh client has no cached access token: one refresh served both pages.
        assert mock.token_requests("refresh_token") == 1
        mock.stop()


if __name__ == "__main__":
    main()
