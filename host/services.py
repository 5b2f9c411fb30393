"""What a request handler may use: the host's parts, each behind its own narrow interface.

Handlers (host/actions/) receive a ``Services`` and never the host itself, so the event loop (host.app) can
import them and not the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

from host.chat import ChatService
from host.config import ConfigStore
from host.elicitation import ElicitationBroker
from host.oauth.manager import AuthManager
from host.sampling import SamplingBroker
from host.server_secrets import ServerSecrets
from host.servers import ServerSet
from host.status import StatusBoard


@dataclass(frozen=True)
class Services:
    config: ConfigStore
    """The configuration: read ``current``, change it with ``update``."""
    servers: ServerSet
    """The running servers, by id."""
    auth: AuthManager
    """Sign-ins, tokens and the model key."""
    status: StatusBoard
    """``changed()`` after anything the popup shows has changed."""
    chat: ChatService
    """The chat agent and the turns running."""
    elicitations: ElicitationBroker
    """Servers' questions to the person."""
    sampling: SamplingBroker
    """Servers' requests for the model, each approved by the person."""
    secrets: ServerSecrets
    """Servers' custom header values and secret environment variables, in the keychain."""
