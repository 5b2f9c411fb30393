"""Token storage: one entry per (profile, server), sealed at rest, never shown by repr."""

from __future__ import annotations

import stat

from host.token_store import Credentials, EncryptedFileBackend, TokenStore


def creds(n: int = 1) -> Credentials:
    return Credentials(access_token=f"at-secret-{n}", refresh_token=f"rt-secret-{n}", expires_at=1000.0 + n)


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
    assert b"at-secret" not in sealed and b"rt-secret" not in sealed
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
    assert "at-secret" not in text and "rt-secret" not in text
    assert set(creds().secrets()) == {"at-secret-1", "rt-secret-1"}
