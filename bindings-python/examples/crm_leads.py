"""List CRM leads with a refresh token: the everyday use of zoho_oauth.Client.

Run:
    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \\
        python bindings-python/examples/crm_leads.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us) and, optionally,
ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN. Without them, runs against an in-process
fake Zoho (zoho_oauth.testing.MockZoho), so CI can run it without credentials.
"""

from __future__ import annotations

import logging
import os

from zoho_oauth import Client, ZohoError


def list_leads(client: Client, limit: int = 10) -> int:
    shown = 0
    for lead in client.paginate("/crm/v8/Leads", params={"fields": "Last_Name,Company"}):
        print(lead.get("id"), lead.get("Last_Name"), lead.get("Company"))
        shown += 1
        if shown >= limit:
            break
    return shown


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if os.environ.get("ZOHO_REFRESH_TOKEN"):
            with Client.from_env() as client:
                list_leads(client)
        else:
            from zoho_oauth.testing import MockZoho

            with MockZoho() as mock, mock.client() as client:
                assert list_leads(client) == 5
    except ZohoError as e:
        # e.code is stable across languages; e.hint says what to do.
        raise SystemExit(f"zoho: {e.code}: {e}") from e


if __name__ == "__main__":
    main()
