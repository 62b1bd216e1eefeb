"""Whether an LLM's settings reach a server that serves the model, said in words.

The Settings page asks this before a setting is saved: one small request (the server's
model list), so a wrong port, a missing key or a misspelt model is found in seconds, not
at the first question. Nothing is generated and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..config import OLLAMA_URL, PROVIDERS, LLMSettings, llm_problem

CHECK_TIMEOUT_S = 5.0
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ServerCheck:
    """What one check found: ``ok`` when the model can be asked; ``message`` for a person;
    ``models``, what the server said it serves (empty where it was not reached)."""

    ok: bool
    message: str
    models: tuple[str, ...] = field(default_factory=tuple)


def check_server(settings: LLMSettings, timeout: float = CHECK_TIMEOUT_S) -> ServerCheck:
    """Ask the server of ``settings`` for its models, once, within ``timeout`` seconds."""
    if settings.provider == "none":
        return ServerCheck(True, "No LLM: answers quote the papers' own sentences.")
    problem = llm_problem(settings)
    if problem:
        return ServerCheck(False, problem)
    if settings.provider == "llamacpp":
        return _check_gguf(Path(settings.gguf_path).expanduser())
    if settings.provider == "ollama":
        base = (settings.base_url.strip() or OLLAMA_URL).rstrip("/")
        return _ask(f"{base}/api/tags", settings, timeout, lambda body: [m.get("name", "") for m in body["models"]])
    base = settings.base_url.strip().rstrip("/")
    return _ask(f"{base}/models", settings, timeout, lambda body: [m.get("id", "") for m in body["data"]])


def _ask(url: str, settings: LLMSettings, timeout: float, names) -> ServerCheck:
    label = PROVIDERS[settings.provider]
    key = settings.api_key.get_secret_value()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.ConnectError as exc:
        return ServerCheck(False, f"Nothing answers at {url}: the connection was refused or the host is unknown "
                                  f"({exc}). Is the server running, and are the host and port right?")
    except httpx.TimeoutException:
        return ServerCheck(False, f"{url} did not answer within {timeout:.0f} s: the server is busy, or the address "
                                  "is behind a firewall.")
    except httpx.HTTPError as exc:
        return ServerCheck(False, f"{url} could not be asked: {type(exc).__name__}: {exc}.")
    if response.status_code in (401, 403):
        return ServerCheck(False, f"{url} refused the request ({response.status_code}): the API key is missing or "
                                  "wrong.")
    if response.status_code == 404:
        hint = " An OpenAI-compatible address usually ends in /v1." if settings.provider == "openai" else ""
        return ServerCheck(False, f"{url} is not there (404): is this the {label}'s address?{hint}")
    if response.status_code >= 400:
        return ServerCheck(False, f"{url} answered {response.status_code}: {response.text[:200]}")
    try:
        served = tuple(n for n in names(response.json()) if n)
    except (ValueError, KeyError, TypeError, AttributeError):
        return ServerCheck(False, f"{url} answered, but not with a list of models: is this the {label}'s address?")
    listed = ", ".join(served[:20]) + (" …" if len(served) > 20 else "")
    if settings.model not in served and not _same_model(settings.model, served):
        return ServerCheck(False, f"The server answers, but does not serve the model {settings.model!r}. "
                                  f"It serves: {listed or 'no models'}.", served)
    return ServerCheck(True, f"Connected: the server serves {settings.model!r} (models: {listed}).", served)


def _same_model(model: str, served: tuple[str, ...]) -> bool:
    # Ollama names a model with its tag ("llama3.2:latest"); asking for "llama3.2" is the same.
    return ":" not in model and f"{model}:latest" in served


def _check_gguf(path: Path) -> ServerCheck:
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        return ServerCheck(False, f"{path} cannot be read: {exc}.")
    if magic != GGUF_MAGIC:
        return ServerCheck(False, f"{path} is not a GGUF model file (it does not start with GGUF).")
    size = path.stat().st_size / 1e9
    return ServerCheck(True, f"{path.name} is a GGUF model file ({size:.1f} GB); it is loaded at the first question.")
