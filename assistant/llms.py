"""The one place that builds an LLM from settings (LlamaIndex integrations).

``provider = "none"`` gives no LLM: answers are then extractive (see answering.py).
"""

from __future__ import annotations

from llama_index.core.llms import LLM

from .config import LLMSettings, Settings
from .errors import ConfigurationError, LLMUnavailableError


def build_llm(settings: LLMSettings) -> LLM | None:
    if settings.provider == "none":
        return None
    if settings.provider == "openai":
        if not settings.model or not settings.base_url:
            raise ConfigurationError(
                "The OpenAI-compatible LLM needs a model and a base URL: set ASSISTANT_LLM__MODEL and "
                "ASSISTANT_LLM__BASE_URL (e.g. http://127.0.0.1:8000/v1), or choose them in Settings."
            )
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=settings.model,
            api_base=settings.base_url,
            api_key=settings.api_key.get_secret_value() or "not-needed",
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            timeout=settings.timeout,
            max_retries=1,
            context_window=settings.context_window,
            is_chat_model=True,
        )
    if settings.provider == "ollama":
        if not settings.model:
            raise ConfigurationError("The Ollama LLM needs a model name: set ASSISTANT_LLM__MODEL (e.g. llama3.2).")
        from llama_index.llms.ollama import Ollama

        return Ollama(
            model=settings.model,
            base_url=settings.base_url or "http://127.0.0.1:11434",
            temperature=settings.temperature,
            context_window=settings.context_window,
            request_timeout=settings.timeout,
            additional_kwargs={"num_predict": settings.max_tokens},
        )
    if settings.provider == "llamacpp":
        if not settings.gguf_path:
            raise ConfigurationError("The llamacpp LLM needs ASSISTANT_LLM__GGUF_PATH, the path of a .gguf file.")
        try:
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError as exc:
            raise ConfigurationError(
                "Running a GGUF model in process needs the optional packages: "
                "pip install -r requirements-llamacpp.txt (compiles llama.cpp, several minutes)."
            ) from exc
        return LlamaCPP(
            model_path=settings.gguf_path,
            temperature=settings.temperature,
            max_new_tokens=settings.max_tokens,
            context_window=settings.context_window,
            model_kwargs={"n_threads": 2},
            verbose=False,
        )
    raise ConfigurationError(f"Unknown LLM provider {settings.provider!r}: use none, openai, ollama or llamacpp.")


MAIN_LLM = "main"


def named_llms(settings: Settings) -> dict[str, LLMSettings]:
    """The LLMs a batch can ask, by name: the main one, then ``extra_llms``."""
    return {MAIN_LLM: settings.llm, **{k: v for k, v in settings.extra_llms.items() if k != MAIN_LLM}}


def describe_llm(settings: LLMSettings) -> str:
    if settings.provider == "none":
        return "none (offline extractive answers)"
    if settings.provider == "openai":
        return f"{settings.model} via OpenAI-compatible server {settings.base_url}"
    if settings.provider == "ollama":
        return f"{settings.model} via Ollama {settings.base_url or 'http://127.0.0.1:11434'}"
    return f"local GGUF {settings.gguf_path}"


def complete(llm: LLM, prompt: str, name: str) -> str:
    """Run the LLM on one prompt; a server that is down or failing becomes a clear error."""
    try:
        return llm.complete(prompt).text
    except Exception as exc:
        raise LLMUnavailableError(
            f"The LLM ({name}) did not answer: {type(exc).__name__}: {exc}. Check that the server is running "
            "and the settings are right, then ask again. Set the provider to none for offline answers."
        ) from exc
