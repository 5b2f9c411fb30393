"""The one error the installer raises for a person to read: what is wrong and what to do about it."""


class InstallError(Exception):
    """A refusal or failure whose message names the cause and the fix; the command prints it and exits 1."""
