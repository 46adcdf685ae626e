"""Fetch CRM leads and the current user concurrently with zoho_oauth.AsyncClient.

Run against the built-in fake Zoho (no account needed; asserts what it prints):

    python examples/python/async_leads.py

Run against Zoho:

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \\
        python examples/python/async_leads.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us) and optionally
ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN (see AsyncClient.from_env). Without
ZOHO_CLIENT_ID it runs against zoho_oauth.testing.MockZoho, started in this process.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Dict, List

from zoho_oauth import AsyncClient


async def snapshot(client: AsyncClient) -> Dict[str, Any]:
    # One refresh serves both calls (single flight); neither blocks the event loop.
    leads, me = await asyncio.gather(
        client.get("/crm/v8/Leads", params={"per_page": 5}),
        client.get("/crm/v8/users", params={"type": "CurrentUser"}),
    )
    leads.raise_for_status()
    me.raise_for_status()
    records: List[Dict[str, Any]] = [r async for r in client.paginate("/crm/v8/Leads", per_page=200)]
    return {"first_page": len(leads.json()["data"]), "all": len(records), "user": me.json()["users"][0]["email"]}


async def main() -> None:
    if os.environ.get("ZOHO_CLIENT_ID"):
        async with AsyncClient.from_env() as client:
            print(await snapshot(client))
    else:
        from zoho_oauth.testing import MockZoho

        with MockZoho() as mock:
            async with mock.async_client() as client:
                result = await snapshot(client)
                print(result)
                assert result["all"] == 5


if __name__ == "__main__":
    asyncio.run(main())
