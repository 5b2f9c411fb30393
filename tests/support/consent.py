"""Plays the person at the Notion-compatible server's consent page, for tests that run without a browser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx


def answer_consent(authorize_url: str, decision: str = "allow") -> str:
    """Follow the authorization URL to the consent page, press Allow or Deny, return the final redirect URL."""
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        response = client.get(authorize_url)
        location = response.headers.get("location", "")
        if "/consent" not in location:
            return location  # approved without a page (auto-approve)
        request_id = parse_qs(urlsplit(location).query)["request"][0]
        consent_url = str(response.url.join(location))
        assert client.get(consent_url).status_code == 200
        answered = client.post(
            str(response.url.join("/consent")), data={"request": request_id, "decision": decision}
        )
        assert answered.status_code == 302, answered.text
        return answered.headers["location"]
