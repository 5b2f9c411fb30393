"""Who can change what a machine-wide installation makes every user's browser run (Linux and macOS).

A manifest in ``/etc/...`` or ``/Library/...`` is read by every user's browser, and the browser runs the launcher
it names as whoever started the browser. Anyone who can change the launcher, the interpreter it execs, or the
code that interpreter loads (its standard library, its site-packages, the ``host`` package) can therefore run
code as every user of the machine, root included whenever root starts a browser. So ``install --system`` first
checks that every one of those paths can be changed only by root, and refuses, before writing anything, when one
can be changed by anyone else. ``doctor`` runs the same check on a machine-wide installation.

"Can be changed" here means: owned by someone else, or writable by its group or by everyone, or inside a folder
that is (whoever can write a folder can rename what is in it and put something else in its place). Symbolic links
are followed the way the kernel follows them, so the folders on the way to each link's target count too.

The installing user counts as trusted alongside root. In a real ``--system`` install that is root itself; a
non-root installer can only have written where it could write anyway (tests, a private prefix), and trusting
it gives nobody else anything.

Only owners and mode bits are read. On Linux a POSIX ACL that grants write to a named user or group shows in the
group bits (they hold the ACL's mask), so it is caught; macOS ACLs do not show in the mode and are not checked.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Protocol

MAX_LINKS = 40  # as the kernel: more symbolic links than this on one path is a loop
SHOWN = 8
"""Problems listed in full in one message; the rest are counted."""

ROOT_VENV_FIX = (
    "install the package into a root-owned virtualenv and run `install --system` from there, e.g. "
    "sudo python3 -m venv /opt/notion-mcp-bridge && sudo /opt/notion-mcp-bridge/bin/pip install "
    "/path/to/notion-mcp-bridge && sudo /opt/notion-mcp-bridge/bin/notion-bridge install --system"
)
INTERPRETER = "the Python interpreter the launcher runs"
CODE = "a folder of code the host runs"
FOLDER_FIX = "make it owned by root and writable by nobody else (sudo chown root PATH; sudo chmod go-w PATH)"


@dataclass(frozen=True)
class Node:
    """What the check needs to know about one path, without following a symbolic link at its end."""

    mode: int
    uid: int
    gid: int


class Files(Protocol):
    """The file system as the check sees it, so tests can be macOS, or a machine with other owners, on Linux."""

    def lstat(self, path: str) -> Node:
        """Raises FileNotFoundError (or NotADirectoryError) when there is nothing there."""
        ...

    def readlink(self, path: str) -> str: ...
    def listdir(self, path: str) -> list[str]: ...
    def euid(self) -> int: ...
    def user_name(self, uid: int) -> str: ...
    def group_name(self, gid: int) -> str: ...


class PosixFiles:
    """The real file system."""

    def lstat(self, path: str) -> Node:
        result = os.lstat(path)
        return Node(result.st_mode, result.st_uid, result.st_gid)

    def readlink(self, path: str) -> str:
        return os.readlink(path)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def euid(self) -> int:
        return os.geteuid() if hasattr(os, "geteuid") else 0

    def user_name(self, uid: int) -> str:
        try:
            import pwd

            return pwd.getpwuid(uid).pw_name
        except (ImportError, KeyError):
            return f"uid {uid}"

    def group_name(self, gid: int) -> str:
        try:
            import grp

            return grp.getgrgid(gid).gr_name
        except (ImportError, KeyError):
            return f"gid {gid}"


@dataclass
class MemoryFiles:
    """An in-memory file system for tests: owners, modes and links as on some other machine."""

    nodes: dict[str, Node] = field(default_factory=lambda: {"/": Node(stat.S_IFDIR | 0o755, 0, 0)})
    links: dict[str, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=lambda: {0: "root"})
    groups: dict[int, str] = field(default_factory=lambda: {0: "wheel"})
    installer_uid: int = 0

    def _parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent not in self.nodes:
            self.dir(parent)

    def dir(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> MemoryFiles:
        """Add a folder (and any missing parents, as root's 0755)."""
        self._parents(path)
        self.nodes[path] = Node(stat.S_IFDIR | mode, uid, gid)
        return self

    def file(self, path: str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> MemoryFiles:
        self._parents(path)
        self.nodes[path] = Node(stat.S_IFREG | mode, uid, gid)
        return self

    def link(self, path: str, target: str, uid: int = 0) -> MemoryFiles:
        self._parents(path)
        self.nodes[path] = Node(stat.S_IFLNK | 0o777, uid, 0)
        self.links[path] = target
        return self

    def lstat(self, path: str) -> Node:
        if path not in self.nodes:
            raise FileNotFoundError(2, "No such file or directory", path)
        return self.nodes[path]

    def readlink(self, path: str) -> str:
        return self.links[path]

    def listdir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(
            name[len(prefix) :]
            for name in self.nodes
            if name.startswith(prefix) and "/" not in name[len(prefix) :]
        )

    def euid(self) -> int:
        return self.installer_uid

    def user_name(self, uid: int) -> str:
        return self.users.get(uid, f"uid {uid}")

    def group_name(self, gid: int) -> str:
        return self.groups.get(gid, f"gid {gid}")


@dataclass(frozen=True)
class Dependency:
    """A path the launcher depends on, and what it is to the person reading a refusal."""

    path: str
    role: str
    tree: bool = False
    """Check everything inside too (code that will be loaded)."""
    may_be_missing: bool = False
    """A folder install will create: the part of its chain that exists is checked, the rest install makes."""
    code: bool = False
    """The interpreter or code it loads (the fix is another environment), not one of the installer's own
    folders (the fix is chown/chmod)."""


@dataclass(frozen=True)
class Problem:
    path: str
    dependency: str
    """The path the launcher depends on that ``path`` is, leads to, or is inside."""
    role: str
    """What that is to the launcher: "the launcher's folder", "a folder of code the host runs", ..."""
    reason: str
    """Who besides root can change it, e.g. ``can be changed by alice (its owner) and group staff``."""
    code: bool

    def line(self) -> str:
        if self.path == self.dependency:
            where = self.role
        elif _inside(self.path, self.dependency):
            where = f"in {self.role}"
        else:
            where = f"on the way to {self.role}, {self.dependency}"
        return f"{self.path} ({where}): {self.reason}"


@dataclass(frozen=True)
class Runtime:
    """What the launcher will run: the interpreter and the folders whose code it loads."""

    interpreter: str
    code: tuple[str, ...]
    """The standard library, site-packages folders and the folder of the ``host`` package."""

    @classmethod
    def current(cls) -> Runtime:
        """This process: the launcher install writes runs this same interpreter."""
        return cls(sys.executable, _code_folders())

    @classmethod
    def of(cls, interpreter: str, *, cwd: str, env: dict[str, str] | None = None) -> Runtime | None:
        """Another interpreter's folders, asked of it (doctor, run from a different environment), from the
        folder the browser starts the host in (it is first on sys.path there)."""
        try:
            done = subprocess.run(
                [interpreter, "-c", _ASK],
                capture_output=True,
                text=True,
                timeout=10,
                cwd=cwd,
                env=env,
            )
            folders = json.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, ValueError):
            return None
        if done.returncode != 0 or not isinstance(folders, list):
            return None
        return cls(interpreter, tuple(str(f) for f in folders if f))


def _code_folders() -> tuple[str, ...]:
    import importlib.util
    import site
    import sysconfig

    folders = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"), *site.getsitepackages()]
    spec = importlib.util.find_spec("host")
    if spec is not None and spec.submodule_search_locations:
        folders.append(next(iter(spec.submodule_search_locations)))
    return tuple(dict.fromkeys(os.path.abspath(f) for f in folders if f))


# The same as _code_folders, run by another interpreter; find_spec locates host without running its code.
_ASK = (
    "import importlib.util, json, os, site, sysconfig\n"
    "f = [sysconfig.get_path('stdlib'), sysconfig.get_path('platstdlib'), *site.getsitepackages()]\n"
    "s = importlib.util.find_spec('host')\n"
    "f += list(s.submodule_search_locations or [])[:1] if s else []\n"
    "print(json.dumps(list(dict.fromkeys(os.path.abspath(x) for x in f if x))))\n"
)


def dependencies(runtime: Runtime | None, launcher: str, manifest_dirs: list[str]) -> list[Dependency]:
    """Everything a machine-wide launcher depends on, in the order a refusal should name them.

    The launcher's whole folder counts, not only the launcher: browsers start a host in its own folder, and
    ``python -m`` puts the working folder first on sys.path, so a ``host.py`` dropped beside the launcher
    would run instead of the host.
    """
    found = [
        Dependency(posixpath.dirname(launcher), "the launcher's folder", tree=True, may_be_missing=True),
        *(Dependency(d, "a manifest folder", may_be_missing=True) for d in manifest_dirs),
    ]
    if runtime is None:
        return found
    found.append(Dependency(runtime.interpreter, INTERPRETER, code=True))
    # A folder inside another one on the list is walked with it (a venv's lib/pythonX.Y holds its site-packages).
    folders = [os.path.normpath(f) for f in runtime.code]
    for folder in dict.fromkeys(folders):
        if not any(other != folder and _inside(folder, other) for other in folders):
            found.append(Dependency(folder, CODE, tree=True, may_be_missing=True, code=True))
    return found


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def problems(files: Files, wanted: list[Dependency]) -> list[Problem]:
    """Everything in ``wanted`` that someone other than root (and the installer) can change; [] when none."""
    check = _Check(files, {0, files.euid()})
    for dependency in wanted:
        check.dependency(dependency)
    return list(check.found.values())


def summary(found: list[Problem]) -> list[str]:
    """One line per problem, leaving out paths inside a folder already named (whoever can change the folder
    can change everything in it anyway), and at most SHOWN lines."""
    named = [p for p in found if not any(_inside(p.path, other.path) for other in found if other is not p)]
    lines = [p.line() for p in named[:SHOWN]]
    hidden = len(found) - len(lines)
    if hidden:
        lines.append(f"and {hidden} more path(s) inside or beside these")
    return lines


def fixes(found: list[Problem]) -> str:
    advice = []
    if any(p.code for p in found):
        advice.append(ROOT_VENV_FIX)
    if any(not p.code for p in found):
        advice.append(f"for the installer's own folders, {FOLDER_FIX}")
    return "; ".join(advice)


def refusal(found: list[Problem]) -> str:
    """The message for a refused ``install --system``: each path, who can change it, and what to do."""
    return (
        "refusing to install for every user: every user's browser would run the launcher, and through it code "
        "that someone other than root can change, so that someone could run anything as each of those users:\n"
        + "\n".join(f"  {line}" for line in summary(found))
        + "\nTo fix: "
        + fixes(found)
    )


class _Check:
    def __init__(self, files: Files, trusted: set[int]) -> None:
        self.files = files
        self.trusted = trusted
        self.found: dict[str, Problem] = {}
        """By path, so a folder shared by several dependencies (/usr, a venv) is named once."""
        self.dependency_now = Dependency("/", "")

    def dependency(self, dependency: Dependency) -> None:
        self.dependency_now = dependency
        end = self.walk(dependency.path)
        if end is None:
            return
        if dependency.tree and end not in self.found and stat.S_ISDIR(self.files.lstat(end).mode):
            self.tree(end)

    def add(self, path: str, reason: str) -> None:
        now = self.dependency_now
        self.found.setdefault(path, Problem(path, now.path, now.role, reason, now.code))

    def writers(self, node: Node, *, sticky_entry: Node | None = None) -> str | None:
        """Who besides the trusted can change a path with this owner and mode; None when nobody.

        ``sticky_entry`` is for a folder on the way: the entry looked up in it. A folder others can write lets
        them rename or delete that entry and put their own in its place, with one exception, the sticky bit (as
        on /tmp): then only the entry's owner, the folder's owner and root may rename or delete it. So a sticky
        folder is safe to pass through when its own owner is trusted and the entry is owned by root (or the
        installer). It is not enough that the entry exists and is someone else's: that someone could swap it.
        And an entry that does not exist yet gets no protection at all: anyone who can write the folder can
        create it first (pass None).
        """
        who = []
        if node.uid not in self.trusted:
            who.append(f"{self.files.user_name(node.uid)} (its owner)")
        writable = node.mode & (stat.S_IWGRP | stat.S_IWOTH)
        protected = (
            stat.S_ISDIR(node.mode)
            and node.mode & stat.S_ISVTX
            and sticky_entry is not None
            and sticky_entry.uid in self.trusted
        )
        if writable and not protected:
            if node.mode & stat.S_IWGRP:
                who.append(f"group {self.files.group_name(node.gid)}")
            if node.mode & stat.S_IWOTH:
                who.append("every user")
        return "can be changed by " + " and ".join(who) if who else None

    def judge(self, path: str, node: Node, *, sticky_entry: Node | None = None) -> bool:
        """Name ``path`` when someone else can change it; True when nobody can."""
        reason = self.writers(node, sticky_entry=sticky_entry)
        if reason:
            self.add(path, reason)
        return reason is None

    def walk(self, path: str) -> str | None:
        """Follow ``path`` from / as the kernel would, judging each folder on the way when an entry is looked up
        in it, then the final path. Returns the real path, or None when it does not exist."""
        current, node = "/", self.files.lstat("/")
        pending = [part for part in path.split("/") if part]
        links = 0
        while pending:
            name = pending.pop(0)
            if name == ".":
                continue
            if name == "..":
                current = posixpath.dirname(current)
                node = self.files.lstat(current)
                continue
            child = posixpath.join(current, name)
            try:
                entry: Node | None = self.files.lstat(child)
            except (FileNotFoundError, NotADirectoryError):
                entry = None
            self.judge(current, node, sticky_entry=entry)
            if entry is None:
                return None
            if stat.S_ISLNK(entry.mode):
                # A link cannot be edited, only replaced through its folder, which was just judged.
                links += 1
                if links > MAX_LINKS:
                    return None
                target = self.files.readlink(child)
                if target.startswith("/"):
                    current, node = "/", self.files.lstat("/")
                pending = [part for part in target.split("/") if part] + pending
                continue
            if pending and not stat.S_ISDIR(entry.mode):
                return None
            current, node = child, entry
        self.judge(current, node)
        return current

    def tree(self, folder: str) -> None:
        """Everything inside ``folder``: a folder someone else can change is named, not all it holds."""
        try:
            names = self.files.listdir(folder)
        except OSError:
            return
        for name in sorted(names):
            path = posixpath.join(folder, name)
            try:
                node = self.files.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(node.mode):
                # Where the link leads and the folders on the way there; not walked into further.
                self.walk(path)
            elif self.judge(path, node) and stat.S_ISDIR(node.mode):
                self.tree(path)
