"""Token storage: one entry per (profile, server), sealed at rest, never shown by repr."""

from __future__ import annotations

import stat

import pytest

from host.token_store import Credentials, EncryptedFileBackend, TokenStore


def creds(n: int = 1) -> Credentials:
    return Credentials(
        access_token=f"at-secret-{n}",
        refresh_token=f"rt-secret-{n}",
        previous_refresh_token=f"prev-rt-secret-{n}",
        expires_at=1000.0 + n,
    )


def test_file_store_round_trips_per_profile_and_server(tmp_path):
    store = TokenStore(EncryptedFileBackend(tmp_path))
    store.save("profile-a", "notion", creds(1))
    store.save("profile-b", "notion", creds(2))
    assert store.load("profile-a", "notion") == creds(1)
    assert store.load("profile-b", "notion") == creds(2)
    assert store.load("profile-a", "other") is None


def test_file_store_is_sealed_and_private(tmp_path):
    store = TokenStore(EncryptedFileBackend(tmp_path))
    store.save("p", "notion", creds())
    sealed = (tmp_path / "tokens.enc").read_bytes()
    assert b"secret" not in sealed
    for name in ("tokens.enc", "tokens.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_forgetting_leaves_other_entries_alone(tmp_path):
    store = TokenStore(EncryptedFileBackend(tmp_path))
    store.save("p", "a", creds(1))
    store.save("p", "b", creds(2))
    store.forget("p", "a")
    assert store.load("p", "a") is None and store.load("p", "b") == creds(2)
    store.forget("p", "missing")  # forgetting nothing is not an error


def test_a_new_store_on_the_same_folder_reads_what_the_old_one_wrote(tmp_path):
    TokenStore(EncryptedFileBackend(tmp_path)).save("p", "s", creds())
    assert TokenStore(EncryptedFileBackend(tmp_path)).load("p", "s") == creds()


def test_repr_never_shows_secrets():
    text = repr(creds()) + str(creds())
    assert "secret" not in text
    assert set(creds().secrets()) == {"at-secret-1", "rt-secret-1", "prev-rt-secret-1"}


# --- several host processes on one store ------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from host.token_store import EncryptedFileBackend
backend = EncryptedFileBackend(Path(sys.argv[1]))
name, rounds = sys.argv[2], int(sys.argv[3])
for i in range(rounds):
    backend.set(f"{name}/{i}", f"value-{name}-{i}")
"""


def _writers(folder, names, rounds):
    import os
    import subprocess
    import sys

    from tests.support.processes import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(folder), name, str(rounds)], env=env)
        for name in names
    ]
    assert [p.wait(120) for p in procs] == [0] * len(procs)


def test_processes_writing_different_entries_at_once_lose_none(tmp_path):
    """Two browser profiles are two hosts on one file: each one's saves must survive the other's."""
    names = ["profile-a", "profile-b", "profile-c"]
    _writers(tmp_path, names, 40)
    backend = EncryptedFileBackend(tmp_path)
    missing = [f"{n}/{i}" for n in names for i in range(40) if backend.get(f"{n}/{i}") != f"value-{n}-{i}"]
    assert missing == []


def test_writers_racing_to_create_a_new_store_all_end_up_readable(tmp_path):
    """The key is made on first write; two processes making one each would seal data with a lost key."""
    import threading

    for attempt in range(10):
        folder = tmp_path / str(attempt)
        start = threading.Barrier(6)

        def write(n: int, folder=folder, start=start) -> None:
            backend = EncryptedFileBackend(folder)  # one per writer, as in separate processes
            start.wait()
            backend.set(f"k{n}", f"v{n}")

        threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        backend = EncryptedFileBackend(folder)
        assert {backend.get(f"k{n}") for n in range(6)} == {f"v{n}" for n in range(6)}


_LOOPING_WRITER = """
import sys
from pathlib import Path
from host.token_store import Credentials, EncryptedFileBackend, TokenStore
store = TokenStore(EncryptedFileBackend(Path(sys.argv[1])))
i = int(sys.argv[2])
ready = False
while True:
    i += 1
    store.save("p", "notion", Credentials(access_token=f"at-{i}", refresh_token=f"rt-{i}", expires_at=float(i)))
    if not ready:  # only once a store exists: a kill before the first save ever ends would find none
        print("ready", flush=True)
        ready = True
"""


def test_a_writer_killed_at_any_moment_leaves_the_old_or_the_new_store(tmp_path):
    """SIGKILL lands mid-write (the loop does nothing else): the store always opens, holding one whole save."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    from tests.support.processes import ROOT

    if not hasattr(signal, "SIGKILL"):
        pytest.skip("needs SIGKILL")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    last = 0
    rng = random.Random(7)
    for _ in range(25):
        proc = subprocess.Popen(
            [sys.executable, "-c", _LOOPING_WRITER, str(tmp_path), str(last)], env=env, stdout=subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.02, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = TokenStore(EncryptedFileBackend(tmp_path)).load("p", "notion")
        assert loaded is not None, "the store must never be lost or unreadable"
        n = int(loaded.expires_at or 0)
        assert loaded.access_token == f"at-{n}" and loaded.refresh_token == f"rt-{n}", "a torn entry"
        assert n >= last, "a kill must not bring back an older store"
        last = n
    assert last > 25, "the writer never got going: the test proved nothing"
