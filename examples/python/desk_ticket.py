"""A Zoho Desk ticket: find the Desk organization, then create and list tickets with the
``orgId`` header Desk requires on every call. ``product="desk"`` sends a relative path to the
DC's Desk host (desk.zoho.<tld>) instead of the CRM api_domain.

Run against the built-in fake Zoho (no account needed; asserts what it prints):

    python examples/python/desk_ticket.py

Run against Zoho (a refresh token with scopes Desk.tickets.ALL,Desk.basic.READ; it creates one
ticket in ZOHO_DESK_DEPARTMENT_ID):

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \\
    ZOHO_DESK_DEPARTMENT_ID=123000000006907 ZOHO_ORG_ID=700000001 python examples/python/desk_ticket.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us),
ZOHO_DESK_DEPARTMENT_ID, ZOHO_ORG_ID (default: the user's first organization) and optionally
ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL, ZOHO_API_DOMAIN. Without ZOHO_CLIENT_ID it points those
variables at zoho_oauth.testing.MockZoho, started in this process, and runs the same code.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Tuple

from zoho_oauth import ApiError, Client


def first_org(client: Client) -> str:
    """The user's first Desk organization (the only call that needs no orgId)."""
    orgs = client.get("/api/v1/organizations", product="desk").raise_for_status().json()
    return str(orgs["data"][0]["id"])


def create_ticket(client: Client, org_id: str, department_id: str) -> Tuple[Dict[str, Any], int]:
    """Creates a ticket and returns it with the number of tickets listed afterwards."""
    headers = {"orgId": org_id}
    ticket = {
        "subject": "Printer on fire",
        "departmentId": department_id,
        "contact": {"lastName": "Example", "email": "someone@example.com"},
        "description": "Created by the zoho-oauth desk_ticket example.",
    }
    created: Dict[str, Any] = client.post("/api/v1/tickets", product="desk", headers=headers, json=ticket).raise_for_status().json()
    print(f"ticket #{created['ticketNumber']} ({created['id']}) created: {created['status']}")
    listed = client.get("/api/v1/tickets", product="desk", headers=headers, params={"limit": 10}).raise_for_status().json()
    n = len(listed["data"])
    print(f"{n} ticket(s) in organization {org_id}")
    return created, n


def main() -> None:
    mock = None
    if not os.environ.get("ZOHO_CLIENT_ID"):
        from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho

        mock = MockZoho()
        os.environ.update(
            ZOHO_CLIENT_ID=DEFAULT_CLIENT_ID,
            ZOHO_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            ZOHO_REFRESH_TOKEN=mock.mint_refresh_token(["Desk.tickets.ALL", "Desk.basic.READ"])["refresh_token"],
            ZOHO_ACCOUNTS_URL=mock.base_url,
            # The fake serves every product on one listener: an explicit api_domain sends Desk there.
            ZOHO_API_DOMAIN=mock.base_url,
            ZOHO_DESK_DEPARTMENT_ID="1000000000001",
        )
    with Client.from_env() as client:
        org_id = os.environ.get("ZOHO_ORG_ID") or first_org(client)
        if mock is not None:
            # Without orgId Desk answers 400 INVALID_DATA; raise_for_status() raises the typed error.
            try:
                client.get("/api/v1/tickets", product="desk").raise_for_status()
                raise AssertionError("Desk accepted a call without orgId")
            except ApiError as e:
                print(f"without orgId: {e.status} {e.code} ({e.zoho_code})")
                assert (e.code, e.zoho_code) == ("api_error", "INVALID_DATA")
        ticket, n = create_ticket(client, org_id, os.environ["ZOHO_DESK_DEPARTMENT_ID"])
    if mock is not None:
        assert org_id == "700000001"
        assert ticket["status"] == "Open" and n == 1
        assert mock.token_requests("refresh_token") == 1
        mock.stop()


if __name__ == "__main__":
    main()
