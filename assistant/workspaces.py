"""Separate libraries in one deployment: each team's papers, runs and verdicts in a folder
of its own, so that one team's papers never reach another's answers.

Workspaces are named in the ``workspaces`` setting with who may use each: e-mail
addresses, ``@domain`` for everyone of a domain, or ``*``. Who someone is comes from
sign-in (the app's OIDC login); without sign-in nobody can be told apart, so every
workspace is open to whoever reaches the app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import ConfigurationError

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
FOLDER = "workspaces"


def check_name(name: str) -> str:
    """A workspace name that is safe as a folder name, or a clear error."""
    if not NAME.fullmatch(name or ""):
        raise ConfigurationError(
            f"{name!r} is not a usable workspace name: use 1-40 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )
    return name


def workspace_dir(data_dir: Path, name: str) -> Path:
    return data_dir / FOLDER / check_name(name)


def may_use(members: Sequence[str], email: str | None) -> bool:
    """Whether the signed-in ``email`` is one of ``members`` (no members: everyone)."""
    if not members or "*" in members:
        return True
    if not email:
        return False
    email = email.strip().lower()
    for member in members:
        member = member.strip().lower()
        if member == email or (member.startswith("@") and email.endswith(member)):
            return True
    return False


def usable_workspaces(workspaces: Mapping[str, Sequence[str]], email: str | None, signed_in: bool) -> list[str]:
    """The workspaces this person may open, in the order configured."""
    if not signed_in:
        return list(workspaces)
    return [name for name, members in workspaces.items() if may_use(members, email)]
