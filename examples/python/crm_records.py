"""CRM records round trip: who am I and which org, list Leads, get one, create, update, search
and delete a Lead, with a ``Client`` that refreshes its access token by itself, including after
the token expires mid-run.

Run against the built-in fake Zoho (no account needed; asserts what it prints). The client
follows the fake's virtual clock, so "an hour later" takes no time:

    python examples/python/crm_records.py

Run against Zoho (a self client's refresh token with scopes ZohoCRM.modules.ALL,
ZohoCRM.users.READ and ZohoCRM.org.READ; self_client_leads.py shows how to get one). It creates
one Lead named "Zoho-Oauth-Example" and deletes it again:

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu ZOHO_REFRESH_TOKEN=1000.zzz \\
        python examples/python/crm_records.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC (default us), ZOHO_REFRESH_TOKEN, and
optionally ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN. Without ZOHO_CLIENT_ID it
runs against zoho_oauth.testing.MockZoho, started in this process.
"""

from __future__ import annotations

import os
from typing import Any, Dict

from zoho_oauth import Client, ZohoError

SCOPES = ["ZohoCRM.modules.ALL", "ZohoCRM.users.READ", "ZohoCRM.org.READ"]


def written_id(answer: Dict[str, Any]) -> str:
    """The id of the single record a write answered for, after checking it succeeded."""
    result = answer["data"][0]
    if result["status"] != "success":
        raise SystemExit(f"the write failed: {result}")
    return str(result["details"]["id"])


def round_trip(client: Client) -> int:
    """The round trip; returns how many Leads the list showed."""
    me = client.get("/crm/v8/users", params={"type": "CurrentUser"}).raise_for_status().json()
    org = client.get("/crm/v8/org").raise_for_status().json()["org"][0]
    print(f"signed in as {me['users'][0]['email']} in org {org['company_name']} ({org['id']})")

    page = client.get("/crm/v8/Leads", params={"fields": "Last_Name,Email", "per_page": "5"}).raise_for_status()
    leads = page.json()["data"] if page.status == 200 else []  # 204: no Leads at all
    for lead in leads:
        print("lead", lead["id"], lead.get("Last_Name"), f"<{lead.get('Email')}>")
    if leads:
        one = client.get(f"/crm/v8/Leads/{leads[0]['id']}").raise_for_status().json()
        assert one["data"][0]["id"] == leads[0]["id"]

    new_lead = {"data": [{"Last_Name": "Zoho-Oauth-Example", "First_Name": "Python", "Company": "Zylker"}]}
    lead_id = written_id(client.post("/crm/v8/Leads", json=new_lead).raise_for_status().json())
    print("created lead", lead_id)
    written_id(client.put(f"/crm/v8/Leads/{lead_id}", json={"data": [{"Company": "Zylker Updated"}]}).raise_for_status().json())
    criteria = "((Last_Name:equals:Zoho-Oauth-Example)and(Company:starts_with:Zylker))"
    found = client.get("/crm/v8/Leads/search", params={"criteria": criteria}).raise_for_status()
    found_ids = [str(r["id"]) for r in (found.json()["data"] if found.status == 200 else [])]
    print("search found", found_ids)
    assert lead_id in found_ids, "the search finds the updated lead"
    written_id(client.delete(f"/crm/v8/Leads/{lead_id}").raise_for_status().json())
    print("deleted lead", lead_id)
    return len(leads)


def main() -> None:
    try:
        if os.environ.get("ZOHO_CLIENT_ID"):
            with Client.from_env() as client:
                round_trip(client)
            return

        from zoho_oauth.testing import MockZoho

        with MockZoho() as mock:
            # A fresh refresh token with SCOPES; the client reads the fake's virtual clock.
            with mock.client(scopes=SCOPES) as client:
                assert round_trip(client) == 5, "the fake starts with 5 Leads"
                assert mock.token_requests("refresh_token") == 1, "one refresh served the whole round trip"
                # An hour later the access token has expired: the client refreshes once and goes on.
                mock.advance_clock(3700)
                after = client.get("/crm/v8/Leads").raise_for_status().json()
                assert after["info"]["count"] == 5, "the created lead was deleted again"
            print("token requests:", mock.counters()["token_requests"])
            assert mock.token_requests("refresh_token", "success") == 2
    except ZohoError as e:
        # e.code is stable across languages; e.hint says what to do.
        raise SystemExit(f"zoho: {e.code}: {e} ({e.hint})") from e


if __name__ == "__main__":
    main()
