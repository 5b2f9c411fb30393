"""Why a connection attempt needs the person to sign in, found in whatever the attempt failed with.

A sign-in failure is raised deep inside the HTTP auth flow and reaches the caller wrapped by anyio's task
groups and the transport. ``sign_in_needed`` digs it out: ours (NeedsAuthorization, already in words) or
the SDK's own flow errors, put into words for a person.
"""

from __future__ import annotations

from host.oauth.refresher import NeedsAuthorization


def find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first ``kind`` among an exception's group members and causes."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return None


def sign_in_needed(exc: BaseException) -> NeedsAuthorization | None:
    """Why the person has to sign in (again), when that is what ``exc`` comes down to; None otherwise."""
    found = find_cause(exc, NeedsAuthorization)
    if isinstance(found, NeedsAuthorization):
        return found
    return _sdk_flow_failure(exc)


def _sdk_flow_failure(exc: BaseException) -> NeedsAuthorization | None:
    """A sign-in the SDK's flow rejected (wrong state, wrong issuer, failed exchange), in words for a person."""
    from mcp.client.auth.exceptions import OAuthFlowError, OAuthTokenError

    failure = find_cause(exc, OAuthFlowError)
    if failure is None:
        return None
    text = str(failure)
    if "State parameter mismatch" in text:
        return NeedsAuthorization("the sign-in answer did not match the request (wrong state); connect again")
    if "iss mismatch" in text:
        return NeedsAuthorization(
            "the sign-in answer names another authorization server than the one asked (iss mismatch) and was "
            "refused; connect again"
        )
    if "missing iss" in text:
        return NeedsAuthorization(
            "the sign-in answer lacks the issuer (iss) the authorization server says it always sends and was "
            "refused; connect again"
        )
    if isinstance(failure, OAuthTokenError):
        return NeedsAuthorization("the sign-in server refused to issue tokens; connect again")
    return NeedsAuthorization(f"sign-in failed: {text.split(':')[0]}; connect again")
