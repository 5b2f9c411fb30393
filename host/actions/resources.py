"""resources.*: what a server offers to read (files, pages, records), and subscriptions to their changes.

Lists and contents are in MCP's own wire form (camelCase): a resource has ``uri``, ``name``, ``mimeType``…; a
read gives ``contents``, each with ``text`` or a base64 ``blob``. A subscribed resource that changes is announced
with ``resource.updated``; subscriptions last as long as the host and are made again on every new session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from host.protocol.verbs import Request, handles
from host.protocol.wire import mcp_wire

if TYPE_CHECKING:
    from host.services import Services


class ResourcesList(Request):
    """The server's resources, in MCP wire form (``uri``, ``name``, ``title``, ``mimeType``, ``size``, …)."""

    type: Literal["resources.list"]
    server: str


class Resources(TypedDict):
    server: str
    resources: list[dict[str, Any]]


@handles(ResourcesList)
async def resources_list(services: Services, request: ResourcesList) -> Resources:
    supervisor = services.servers.get(request.server)
    found = await supervisor.ask("the list of resources", "resources", lambda c: c.list_resources())
    return {"server": request.server, "resources": [mcp_wire(item) for item in found]}


class ResourcesTemplates(Request):
    """The server's resource templates (RFC 6570 ``uriTemplate``s whose variables the person fills in)."""

    type: Literal["resources.templates"]
    server: str


class Templates(TypedDict):
    server: str
    resourceTemplates: list[dict[str, Any]]


@handles(ResourcesTemplates)
async def resources_templates(services: Services, request: ResourcesTemplates) -> Templates:
    supervisor = services.servers.get(request.server)
    found = await supervisor.ask(
        "the list of resource templates", "resources", lambda c: c.list_resource_templates()
    )
    return {"server": request.server, "resourceTemplates": [mcp_wire(item) for item in found]}


class ResourcesRead(Request):
    """Read a resource: the MCP ``ReadResourceResult`` in wire form (``contents``: ``uri``, ``mimeType``, and
    ``text`` or a base64 ``blob``)."""

    type: Literal["resources.read"]
    server: str
    uri: str = Field(min_length=1, max_length=8192)


@handles(ResourcesRead)
async def resources_read(services: Services, request: ResourcesRead) -> dict[str, Any]:
    supervisor = services.servers.get(request.server)
    result = await supervisor.ask(
        f"reading {request.uri}", "resources", lambda c: c.read_resource(request.uri)
    )
    return mcp_wire(result)


class ResourcesSubscribe(Request):
    """Be told (``resource.updated``) when a resource changes; for servers that offer subscriptions."""

    type: Literal["resources.subscribe"]
    server: str
    uri: str = Field(min_length=1, max_length=8192)


class Subscribed(TypedDict):
    subscribed: bool
    """Whether the resource is subscribed now."""
    changed: bool
    """False when it already was (subscribe) or was not (unsubscribe)."""


@handles(ResourcesSubscribe)
async def resources_subscribe(services: Services, request: ResourcesSubscribe) -> Subscribed:
    changed = await services.servers.get(request.server).subscribe(request.uri)
    return {"subscribed": True, "changed": changed}


class ResourcesUnsubscribe(Request):
    """Stop ``resource.updated`` events for a resource."""

    type: Literal["resources.unsubscribe"]
    server: str
    uri: str = Field(min_length=1, max_length=8192)


@handles(ResourcesUnsubscribe)
async def resources_unsubscribe(services: Services, request: ResourcesUnsubscribe) -> Subscribed:
    changed = await services.servers.get(request.server).unsubscribe(request.uri)
    return {"subscribed": False, "changed": changed}
