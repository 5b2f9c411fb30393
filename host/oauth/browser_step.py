"""The one part of OAuth that needs a person: the consent page, opened by the extension.

The host sends ``auth.open {server, auth_id, url}``; the extension runs ``chrome.identity.launchWebAuthFlow`` and
answers ``auth.result {auth_id, redirect_url}`` or ``auth.result {auth_id, error}``. Every way this can end
without a code — the person cancels, denies, lets it sit, or the answer does not belong to our request — ends in
``NeedsAuthorization`` with words that say which.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from host.oauth.refresher import NeedsAuthorization
from host.protocol.events import AuthOpen, Send
from host.waiting import Waiting

#: How long the consent window may stay open (tests shorten it through the environment).
BROWSER_STEP_TIMEOUT_S = float(os.environ.get("NOTION_BRIDGE_SIGNIN_TIMEOUT_S", "300"))


def redirect_uri(extension_id: str, server_id: str) -> str:
    """What ``chrome.identity.getRedirectURL("oauth/<server>")`` returns for our extension."""
    return f"https://{extension_id}.chromiumapp.org/oauth/{server_id}"


class BrowserStep:
    def __init__(self, send: Send, timeout_s: float = BROWSER_STEP_TIMEOUT_S) -> None:
        self._send = send
        self._timeout_s = timeout_s
        self._waiting: Waiting[str, _Ending] = Waiting()

    async def run(self, server_id: str, url: str) -> tuple[str, str | None, str | None]:
        """Open ``url`` in the browser and return (code, state, iss) from where it redirected to."""
        auth_id = secrets.token_urlsafe(12)
        try:
            ending = await self._waiting.ask(
                auth_id,
                timeout_s=self._timeout_s,
                sent=lambda: self._send(AuthOpen(server=server_id, auth_id=auth_id, url=url)),
            )
        except TimeoutError:
            raise NeedsAuthorization(
                f"the sign-in window was not completed within {_duration(self._timeout_s)}"
            ) from None
        if ending.error:
            raise NeedsAuthorization(f"sign-in did not finish: {ending.error}")
        return _parse_redirect(ending.redirect_url or "")

    def answer(self, auth_id: str, redirect_url: str | None, error: str | None) -> bool:
        """Deliver the extension's ``auth.result``. False when no sign-in with that id is waiting."""
        return self._waiting.answer(auth_id, _Ending(redirect_url, error))

    def cancel_all(self, reason: str) -> None:
        self._waiting.close_all(_Ending(None, reason))


@dataclass(frozen=True)
class _Ending:
    """Where the sign-in window ended up, or why it did not."""

    redirect_url: str | None
    error: str | None


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


def _parse_redirect(redirect_url: str) -> tuple[str, str | None, str | None]:
    query = parse_qs(urlsplit(redirect_url).query)

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    error = first("error")
    if error == "access_denied":
        raise NeedsAuthorization("access was denied on the consent page")
    if error:
        detail = first("error_description")
        raise NeedsAuthorization(f"the sign-in server refused: {error}" + (f" ({detail})" if detail else ""))
    code = first("code")
    if not code:
        raise NeedsAuthorization("the sign-in finished without an authorization code")
    return code, first("state"), first("iss")
