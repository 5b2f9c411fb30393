"""``notion-bridge doctor``: check every link from the browser to the host, and say how to fix each break.

Each check is ok, warn (works, but the person should know) or fail (the bridge will not work); every warn and
fail names the cause and the fix. Doctor itself only reads (the host it starts keeps its log as usual), and
needs no network: an unreachable server is a warning.

    installation.py   the install record, each browser's manifest and registry key, the launcher, Flatpak
    machine_wide.py   with --system: that only root or Administrators can change what browsers run
    host_check.py     the host started as the browser starts it, and its hello
    local.py          the keychain, the configuration, and each configured server
    report.py         a check's result, and the report: text, or JSON safe to paste (redacted)
"""

from __future__ import annotations

from installer import browsers as b
from installer.acl import FolderAcl
from installer.doctor.installation import check_installation
from installer.doctor.local import check_config, check_keychain, check_servers
from installer.doctor.logs import check_logs
from installer.doctor.report import Check, Status, redact, report
from installer.install import Options, using_home
from installer.registry import Registry

__all__ = ["Check", "Status", "check_keychain", "redact", "report", "run_doctor"]


def run_doctor(
    env: b.Environment,
    options: Options,
    registry: Registry | None = None,
    acl: FolderAcl | None = None,
) -> list[Check]:
    with using_home(options.home, strict=False):
        config_check, config = check_config()
        allowed = set(config.allowed_extension_ids) if config is not None else set()
        checks = check_installation(env, options, registry, allowed, acl)
        checks.append(check_keychain())
        checks.append(config_check)
        checks += check_servers(config, env.platform)
        checks.append(check_logs())
    return checks
