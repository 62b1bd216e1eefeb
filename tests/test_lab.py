"""scripts/lab.sh: a lab's servers started, found and stopped by one script."""

from __future__ import annotations

import os
import subprocess
import urllib.request

import psutil
from conftest import ROOT

LAB = ROOT / "scripts" / "lab.sh"


def lab(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return subprocess.run(["bash", str(LAB), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def test_a_chroma_server_is_started_checked_pointed_at_and_stopped(tmp_path):
    started = lab("start", "--chroma", "--dir", str(tmp_path))
    assert started.returncode == 0, started.stderr
    assert "chroma is up at" in started.stdout
    pid = int((tmp_path / "run" / "chroma.pid").read_text())
    try:
        settings = lab("env", "--dir", str(tmp_path)).stdout
        host = settings.split("ASSISTANT_CHROMA__HOST=")[1].split()[0]
        port = settings.split("ASSISTANT_CHROMA__PORT=")[1].split()[0]
        assert urllib.request.urlopen(f"http://{host}:{port}/api/v2/heartbeat", timeout=5).status == 200
        again = lab("start", "--chroma", "--dir", str(tmp_path))
        assert "running already" in again.stdout
    finally:
        stopped = lab("stop", "--dir", str(tmp_path))
    assert "stopped chroma" in stopped.stdout
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert lab("env", "--dir", str(tmp_path)).stdout == ""


def test_what_cannot_be_started_is_named_with_what_to_do(tmp_path):
    missing = lab("start", "--llm-gguf", str(tmp_path / "model.gguf"), "--dir", str(tmp_path))
    assert missing.returncode == 2 and "no model file at" in missing.stderr and "model.gguf" in missing.stderr
    closed = lab("start", "--llm-url", "http://127.0.0.1:9/v1", "--llm-model", "m", "--dir", str(tmp_path))
    assert closed.returncode == 1 and "does not answer" in closed.stderr and "start it first" in closed.stderr
    unnamed = lab("start", "--llm-url", "http://127.0.0.1:9/v1", "--dir", str(tmp_path))
    assert unnamed.returncode == 2 and "--llm-model" in unnamed.stderr
    wrong = lab("start", "--chromaa", "--dir", str(tmp_path))
    assert wrong.returncode == 2 and "unknown option --chromaa" in wrong.stderr
