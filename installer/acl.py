"""Windows folder permissions behind a small interface, so ``install --system`` is testable anywhere.

A machine-wide install puts the launcher and the manifests under ``%ProgramData%\\notion-mcp-bridge``, and every
user's browser runs that launcher. ``%ProgramData%`` lets any user create folders in it, and whoever creates a
folder owns it and everything later written into it. So install makes that folder itself with an ACL of its own,
nothing inherited: full control for Administrators and SYSTEM, read and execute for Users, and Administrators
as its owner (an owner can always rewrite the ACL).

Principals are given by SID, so the same commands work on a German or Japanese Windows, where the groups'
names differ.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

ADMINISTRATORS = "S-1-5-32-544"
SYSTEM = "S-1-5-18"
USERS = "S-1-5-32-545"
TRUSTED_INSTALLER = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
TRUSTED = {ADMINISTRATORS, SYSTEM, TRUSTED_INSTALLER}
CREATOR = {"S-1-3-0", "S-1-3-1"}
"""CREATOR OWNER and CREATOR GROUP: stand-ins that become whoever creates something inside; here, an admin."""
NAMES = {
    ADMINISTRATORS: "Administrators",
    SYSTEM: "SYSTEM",
    USERS: "Users",
    "S-1-1-0": "Everyone",
    "S-1-5-11": "Authenticated Users",
    "S-1-5-32-547": "Power Users",
}

# FileSystemRights bits that let a principal change a folder, what is in it, or who may: write or append
# data (create files or folders), delete children, delete, change the ACL, take ownership, and the generic
# all/write rights.
WRITE_RIGHTS = 0x2 | 0x4 | 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000

RESTRICT_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("/setowner", f"*{ADMINISTRATORS}"),
    (
        "/inheritance:r",
        "/grant:r",
        f"*{ADMINISTRATORS}:(OI)(CI)F",
        f"*{SYSTEM}:(OI)(CI)F",
        f"*{USERS}:(OI)(CI)RX",
    ),
)
"""icacls arguments after the folder, in order: the owner first, then an ACL of our own and nothing inherited."""


@dataclass(frozen=True)
class Rule:
    sid: str
    rights: int
    allow: bool = True


def writers(owner: str, rules: list[Rule]) -> list[str]:
    """Everyone besides Administrators and SYSTEM who can change a folder with this owner and ACL.

    Deny rules are not credited: allowing write and then denying it is an ACL too fragile to rely on, and it
    is never what install sets. Inherit-only rules count, because they apply to the files written inside.
    """
    found: list[str] = []
    if owner not in TRUSTED:
        found.append(f"{name(owner)} (its owner, who can change its permissions)")
    for rule in rules:
        if rule.allow and rule.sid not in TRUSTED | CREATOR and rule.rights & WRITE_RIGHTS:
            who = name(rule.sid)
            if who not in found:
                found.append(who)
    return found


def name(sid: str) -> str:
    return NAMES.get(sid, sid)


class FolderAcl(Protocol):
    def writers(self, folder: Path) -> list[str]:
        """Who besides Administrators and SYSTEM can change the folder or what is written into it."""
        ...

    def restrict(self, folder: Path) -> None:
        """Owner Administrators; full control to Administrators and SYSTEM, read and execute to Users; nothing
        inherited from the parent. Applies to what is later created inside too."""
        ...


# Owner and rules by SID, as JSON. The path comes in through the environment, so no quoting can break it.
_GET_ACL = (
    "$a = Get-Acl -LiteralPath $env:NOTION_BRIDGE_ACL_PATH; "
    "$t = [System.Security.Principal.SecurityIdentifier]; "
    "$r = @($a.GetAccessRules($true, $true, $t) | ForEach-Object { @{ sid = $_.IdentityReference.Value; "
    "rights = [int]$_.FileSystemRights; allow = ($_.AccessControlType -eq 'Allow') } }); "
    "@{ owner = $a.GetOwner($t).Value; rules = $r } | ConvertTo-Json -Compress -Depth 3"
)


class WindowsAcl:
    """The real ACLs: icacls to set them, PowerShell's Get-Acl to read them by SID."""

    def writers(self, folder: Path) -> list[str]:
        done = subprocess.run(
            ["powershell", "-NoProfile", "-NonInteractive", "-Command", _GET_ACL],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "NOTION_BRIDGE_ACL_PATH": str(folder)},
        )
        if done.returncode != 0:
            raise OSError(f"reading the permissions of {folder} failed: {done.stderr.strip()}")
        data = json.loads(done.stdout)
        found = data.get("rules") or []
        # ConvertTo-Json may flatten a one-rule list to the rule itself.
        found = [found] if isinstance(found, dict) else found
        rules = [Rule(str(r["sid"]), int(r["rights"]) & 0xFFFFFFFF, bool(r["allow"])) for r in found]
        return writers(str(data["owner"]), rules)

    def restrict(self, folder: Path) -> None:
        for arguments in RESTRICT_COMMANDS:
            done = subprocess.run(
                ["icacls", str(folder), *arguments], capture_output=True, text=True, timeout=60
            )
            if done.returncode != 0:
                raise OSError(f"icacls {' '.join(arguments)} on {folder} failed: {done.stdout.strip()}")


@dataclass
class MemoryAcl:
    """Folder ACLs for tests: each folder's owner and rules, and every icacls call that install made."""

    folders: dict[str, tuple[str, list[Rule]]] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def writers(self, folder: Path) -> list[str]:
        owner, rules = self.folders.get(str(folder), inherited_program_data(ADMINISTRATORS))
        return writers(owner, rules)

    def restrict(self, folder: Path) -> None:
        for arguments in RESTRICT_COMMANDS:
            self.calls.append(("icacls", str(folder), *arguments))
        self.folders[str(folder)] = (
            ADMINISTRATORS,
            [Rule(ADMINISTRATORS, 0x1F01FF), Rule(SYSTEM, 0x1F01FF), Rule(USERS, 0x1200A9)],
        )


def inherited_program_data(owner: str) -> tuple[str, list[Rule]]:
    """What a new folder in %ProgramData% gets by default: Users may create files and folders in it, and
    CREATOR OWNER makes whoever does the owner of what they create."""
    return owner, [
        Rule(SYSTEM, 0x1F01FF),
        Rule(ADMINISTRATORS, 0x1F01FF),
        Rule("S-1-3-0", 0x10000000),
        Rule(USERS, 0x1200A9),
        Rule(USERS, 0x2 | 0x4 | 0x10 | 0x100),
    ]
