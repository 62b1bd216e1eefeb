"""Who is using the app and which workspace they are in.

Sign-in is Streamlit's own OpenID Connect login, switched on by an ``[auth]`` section in
``.streamlit/secrets.toml``; without it the app is open to whoever reaches it. The
workspace chosen in the sidebar decides which library every page opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from assistant.config import Settings, load_settings
from assistant.workspaces import usable_workspaces, workspace_dir

WORKSPACE_KEY = "workspace_name"


@dataclass(frozen=True)
class Visitor:
    signed_in: bool
    email: str | None = None
    name: str | None = None


def sign_in_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def visitor() -> Visitor:
    """The person using this session; shows the sign-in screen, and stops, until they sign in."""
    if not sign_in_configured():
        return Visitor(signed_in=False)
    if not st.user.is_logged_in:
        st.title("Research Assistant")
        st.write("Sign in to use the shared library.")
        st.button("Sign in", type="primary", on_click=st.login)
        st.stop()
    return Visitor(True, st.user.get("email"), st.user.get("name"))


def workspaces_for(base: Settings, person: Visitor) -> list[str]:
    return usable_workspaces(base.workspaces, person.email, person.signed_in)


def current_settings(person: Visitor | None = None) -> Settings:
    """Settings of the library this session works in: the one library, or the workspace
    chosen in the sidebar (always one this person may use)."""
    base = _loaded()
    if not base.workspaces:
        return base
    allowed = workspaces_for(base, person or visitor())
    if not allowed:
        st.error("You are signed in, but not a member of any workspace. Ask the administrator to add you.")
        st.stop()
    name = st.session_state.get(WORKSPACE_KEY)
    if name not in allowed:
        name = allowed[0]
    return _loaded(workspace_dir(base.data_dir, name))


def _loaded(data_dir: Path | None = None) -> Settings:
    """The settings; the settings file's invalid values are left out (the Settings page
    lists them), but an environment variable that is not valid stops the page with what to
    fix: only whoever started the app can."""
    try:
        return load_settings(data_dir)
    except ValidationError as exc:
        st.error(f"An ASSISTANT_ environment variable holds a value that is not valid, so the app cannot start: "
                 f"{exc}. Correct or unset it, then start the app again.", icon=":material/error:")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def workspace_picker(person: Visitor) -> None:
    """The sidebar's workspace choice (when there are workspaces) and the sign-out button."""
    base = _loaded()
    if base.workspaces:
        allowed = workspaces_for(base, person)
        if allowed:
            if st.session_state.get(WORKSPACE_KEY) not in allowed:
                st.session_state[WORKSPACE_KEY] = allowed[0]
            st.sidebar.selectbox("Workspace", allowed, key=WORKSPACE_KEY,
                                 help="Each workspace is a library of its own: papers, runs and verdicts.")
    if person.signed_in:
        st.sidebar.caption(f"Signed in as {person.name or person.email}")
        st.sidebar.button("Sign out", on_click=st.logout)
