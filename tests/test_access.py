"""Sign-in and workspaces: who may open which library, and that papers stay in theirs."""

from __future__ import annotations

import json

import pytest
from conftest import PAPER_PAGES, ROOT, child_env, clear_settings_env, make_pdf, settle
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

from assistant.config import Settings
from assistant.errors import ConfigurationError
from assistant.workspaces import may_use, usable_workspaces, workspace_dir

APP = str(ROOT / "app.py")
pytestmark = pytest.mark.integration
TEAMS = {"ecology": ["@uni.example"], "marine": ["ann@lab.example"], "demo": ["*"]}
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-secret-for-tests",
    "client_id": "assistant",
    "client_secret": "secret",
    "server_metadata_url": "https://id.example/.well-known/openid-configuration",
}


def test_members_by_address_domain_or_everyone():
    assert may_use(["ann@lab.example"], "Ann@Lab.example")
    assert not may_use(["ann@lab.example"], "bob@lab.example")
    assert may_use(["@uni.example"], "bob@uni.example") and not may_use(["@uni.example"], "bob@evil-uni.example.org")
    assert may_use(["*"], None) and may_use([], None)
    assert not may_use(["@uni.example"], None)
    assert usable_workspaces(TEAMS, "bob@uni.example", signed_in=True) == ["ecology", "demo"]
    assert usable_workspaces(TEAMS, None, signed_in=False) == ["ecology", "marine", "demo"]


@pytest.mark.parametrize("name", ["../x", "a/b", "", "UPPER", "x" * 41, "..", "a\x00b", "-lead"])
def test_workspace_names_cannot_leave_the_data_folder(tmp_path, name):
    with pytest.raises(ConfigurationError, match="not a usable workspace name"):
        workspace_dir(tmp_path, name)
    with pytest.raises(ValidationError, match="not a usable workspace name"):
        Settings(workspaces={name: ["*"]})


@pytest.fixture
def teams(tmp_path, monkeypatch):
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "lib"))
    monkeypatch.setenv("ASSISTANT_WORKSPACES", json.dumps(TEAMS))
    monkeypatch.chdir(ROOT)
    return tmp_path / "lib"


def session(user: dict | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets["auth"] = AUTH
    if user is not None:
        at.user = user
    return at


def test_sign_in_is_required_when_configured(teams):
    at = session({"is_logged_in": False})
    at.run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not any(t.value == "Library" for t in at.title)


def test_each_team_sees_only_its_workspaces_and_their_papers(teams):
    ann = session({"is_logged_in": True, "email": "ann@lab.example", "name": "Ann"})
    ann.run()
    assert not ann.exception, ann.exception
    picker = ann.sidebar.selectbox(key="workspace_name")
    assert picker.options == ["marine", "demo"] and picker.value == "marine"
    assert "Signed in as Ann" in [c.value for c in ann.sidebar.caption]
    ann.file_uploader[0].set_value(("reef.pdf", make_pdf(PAPER_PAGES), "application/pdf")).run()
    assert not ann.exception, ann.exception
    settle(ann, teams)
    assert ann.dataframe[0].value["File"].tolist() == ["reef.pdf"]
    assert (teams / "workspaces" / "marine" / "catalog.sqlite3").is_file()

    bob = session({"is_logged_in": True, "email": "bob@uni.example", "name": "Bob"})
    bob.run()
    assert not bob.exception, bob.exception
    assert bob.sidebar.selectbox(key="workspace_name").options == ["ecology", "demo"]
    assert any("The library is empty" in m.value for m in bob.info)
    # Bob cannot reach Ann's workspace even by setting the session's choice himself.
    bob = session({"is_logged_in": True, "email": "bob@uni.example", "name": "Bob"})
    bob.session_state["workspace_name"] = "marine"
    bob.run()
    assert not bob.exception, bob.exception
    library_caption = next(c.value for c in bob.sidebar.caption if "Library:" in c.value)
    assert "workspaces/ecology" in library_caption
    assert any("The library is empty" in m.value for m in bob.info)

    # Ann switches to the shared workspace: her paper is not there.
    ann = session({"is_logged_in": True, "email": "ann@lab.example", "name": "Ann"})
    ann.session_state["workspace_name"] = "demo"
    ann.run()
    assert not ann.exception, ann.exception
    assert any("The library is empty" in m.value for m in ann.info)


def test_someone_in_no_workspace_is_told_so(teams, monkeypatch):
    monkeypatch.setenv("ASSISTANT_WORKSPACES", json.dumps({"marine": ["ann@lab.example"]}))
    eve = session({"is_logged_in": True, "email": "eve@elsewhere.example"})
    eve.run()
    assert not eve.exception, eve.exception
    assert any("not a member of any workspace" in e.value for e in eve.error)


def test_the_cli_works_in_a_workspace(tmp_path):
    import subprocess
    import sys

    data = tmp_path / "lib"
    pdf = tmp_path / "reef.pdf"
    make_pdf(PAPER_PAGES, pdf)
    env = child_env(tmp_path)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "assistant", *args, "--data-dir", str(data)],
                              env=env, capture_output=True, text=True)

    assert cli("ingest", str(pdf), "--workspace", "marine").returncode == 0
    assert "reef.pdf" in cli("list", "--workspace", "marine").stdout
    assert "is empty" in cli("list", "--workspace", "ecology").stdout
    assert "is empty" in cli("list").stdout
    bad = cli("list", "--workspace", "../marine")
    assert bad.returncode == 1 and "not a usable workspace name" in bad.stderr
