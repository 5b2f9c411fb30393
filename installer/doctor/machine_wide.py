"""A machine-wide installation (``--system``): only root (Linux, macOS) or Administrators and SYSTEM
(Windows) can change what every user's browser runs. The same checks ``install --system`` refuses on."""

from __future__ import annotations

import sys
from pathlib import Path

from installer import browsers as b
from installer import launcher as launchers
from installer import trust
from installer.acl import FolderAcl
from installer.doctor import host_check
from installer.doctor.report import Check
from installer.install import is_link

WHO_CAN_CHANGE = "machine-wide: who can change it"


def check_who_can_change(env: b.Environment, launcher: Path, manifest_dirs: list[str]) -> Check:
    """The check ``install --system`` refuses on (Linux, macOS): only root can change what it runs."""
    try:
        spec = launchers.parse(launcher.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        spec = None
    runtime = env.runtime
    unknown = ""
    if runtime is None and spec is not None:
        if spec.interpreter == sys.executable:
            runtime = trust.Runtime.current()
        elif trust.problems(env.files, [trust.Dependency(spec.interpreter, trust.INTERPRETER, code=True)]):
            runtime = trust.Runtime(spec.interpreter, ())  # named below; not run to ask where its code is
        else:
            runtime = trust.Runtime.of(
                spec.interpreter, cwd=str(launcher.parent), env=host_check.browser_env({})
            )
            if runtime is None:
                runtime = trust.Runtime(spec.interpreter, ())
                unknown = f"; {spec.interpreter} did not say where its code is, so that was not checked"
    found = trust.problems(env.files, trust.dependencies(runtime, str(launcher), manifest_dirs))
    if found:
        return Check(WHO_CAN_CHANGE, "fail", "; ".join(trust.summary(found)), trust.fixes(found))
    what = "the launcher's folder and the manifest folders"
    if runtime is not None:
        what = f"{what}, {runtime.interpreter}" + (" and the code it loads" if runtime.code else "")
    return Check(WHO_CAN_CHANGE, "warn" if unknown else "ok", f"only root can change {what}{unknown}")


def check_program_data(base: Path, acl: FolderAcl) -> Check:
    """Windows: the machine-wide folder is an administrators-only one, as install makes it."""
    name = WHO_CAN_CHANGE
    fix = (
        f'from an administrator prompt, look at what is in {base} and remove it (rd /s /q "{base}"), then run '
        "`notion-bridge install --system` again"
    )
    if is_link(base):
        return Check(name, "fail", f"{base} is a link or junction to another folder", fix)
    try:
        who = acl.writers(base)
    except OSError as exc:
        return Check(
            name, "warn", f"cannot read the permissions of {base} ({exc})", "run doctor as administrator"
        )
    if who:
        return Check(
            name, "fail", f"{' and '.join(who)} can change {base}, and with it what every browser runs", fix
        )
    return Check(name, "ok", f"only Administrators and SYSTEM can change {base}")
