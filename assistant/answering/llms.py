"""The one place that builds an LLM from settings (LlamaIndex integrations).

``provider = "none"`` gives no LLM: answers are then extractive (see answering/answerer.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llama_index.core.llms import LLM, ChatMessage, MessageRole
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ..config import OLLAMA_URL, LLMSettings, Settings, llm_problem
from ..errors import ConfigurationError, LLMUnavailableError

log = logging.getLogger(__name__)


def build_llm(settings: LLMSettings) -> LLM | None:
    if settings.provider == "none":
        return None
    problem = llm_problem(settings)
    if problem:
        raise ConfigurationError(problem)
    if settings.provider == "openai":
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=settings.model,
            api_base=settings.base_url,
            api_key=settings.api_key.get_secret_value() or "not-needed",
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            timeout=settings.timeout,
            max_retries=0,  # retried here, the same way for every provider (see complete)
            context_window=settings.context_window,
            is_chat_model=True,
        )
    if settings.provider == "ollama":
        from llama_index.llms.ollama import Ollama

        return Ollama(
            model=settings.model,
            base_url=settings.base_url or OLLAMA_URL,
            temperature=settings.temperature,
            context_window=settings.context_window,
            request_timeout=settings.timeout,
            additional_kwargs={"num_predict": settings.max_tokens},
        )
    if settings.provider == "llamacpp":
        try:
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError as exc:
            raise ConfigurationError(
                "Running a GGUF model in process needs the optional packages: "
                "pip install -r requirements-llamacpp.txt (compiles llama.cpp, several minutes)."
            ) from exc
        # LlamaCPP sends a bare prompt to the model: the model's own chat template must be
        # applied first, and it can only be read once the model is loaded.
        chat = _ChatTemplate()
        llm = LlamaCPP(
            model_path=settings.gguf_path,
            temperature=settings.temperature,
            max_new_tokens=settings.max_tokens,
            context_window=settings.context_window,
            model_kwargs={"n_threads": 2},
            messages_to_prompt=chat.messages_to_prompt,
            completion_to_prompt=chat.completion_to_prompt,
            verbose=False,
        )
        chat.load(llm._model, settings.gguf_path)
        if chat.end_of_turn:
            llm.generate_kwargs["stop"] = [chat.end_of_turn]
        return llm
    raise ConfigurationError(f"Unknown LLM provider {settings.provider!r}: use none, openai, ollama or llamacpp.")


class _ChatTemplate:
    """A GGUF model's own chat template (from its metadata), as LlamaIndex's prompt formatting."""

    def __init__(self) -> None:
        self._formatter: Any = None
        self.end_of_turn: str | None = None

    def load(self, model: Any, path: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = model.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigurationError(
                f"{Path(path).name} has no chat template in its metadata, so it cannot be asked questions: "
                "use the GGUF of an instruct (chat) model."
            )

        def token(token_id: int) -> str:
            return model._model.token_get_text(token_id) if token_id != -1 else ""

        eos, bos = token(model.token_eos()), token(model.token_bos())
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        # The text that closes an assistant turn (<|im_end|> in ChatML, <end_of_turn> in
        # Gemma...): generation must stop there, and not every model's EOS token is it.
        closing = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=False)
        turns = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A-7f3e"}]
        self.end_of_turn = closing(messages=turns).prompt.split("A-7f3e", 1)[-1].strip() or None

    def messages_to_prompt(self, messages: Sequence[ChatMessage]) -> str:
        turns = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        prompt = self._formatter(messages=turns).prompt
        # llama.cpp puts the BOS token in front itself; the template's own would double it.
        bos = self._formatter.bos_token
        return prompt[len(bos):] if bos and prompt.startswith(bos) else prompt

    def completion_to_prompt(self, completion: str) -> str:
        return self.messages_to_prompt([ChatMessage(role=MessageRole.USER, content=completion)])


MAIN_LLM = "main"


def named_llms(settings: Settings) -> dict[str, LLMSettings]:
    """The LLMs a batch can ask, by name: the main one, then ``extra_llms``."""
    return {MAIN_LLM: settings.llm, **{k: v for k, v in settings.extra_llms.items() if k != MAIN_LLM}}


# A server that is busy or restarting answers these; anything else (401, 404, 400, a server
# that is not there at all) would fail the same way again.
TRANSIENT_STATUS = frozenset({408, 425, 429, 502, 503, 504})
RETRY_AFTER_CAP_S = 60.0
# A person waiting on the Ask page gets one more try and a Try again button, not the
# batch's patience (ASSISTANT_LLM__RETRIES tries of up to the timeout each).
INTERACTIVE_RETRIES = 1


class PermanentLLMError(LLMUnavailableError):
    """The server refused the request for a reason that asking again will not change."""


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an LLM client's error carries (openai, ollama and httpx errors differ)."""
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    """A busy or overloaded server, a timeout or a dropped connection: worth asking again."""
    import httpx

    status = status_of(exc)
    if status is not None:
        return status in TRANSIENT_STATUS
    seen: BaseException | None = exc
    while seen is not None:  # clients wrap the socket's error (openai.APIConnectionError(httpx.ReadError))
        if isinstance(seen, (TimeoutError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                             httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return True
        if type(seen).__name__ in {"APITimeoutError", "ReadTimeout"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked to wait (its Retry-After header: seconds or an HTTP date), or None."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    asked = retry_after(exc) if exc else None
    if asked is not None:
        return min(asked, RETRY_AFTER_CAP_S)
    return min(2.0 ** (state.attempt_number - 1), RETRY_AFTER_CAP_S)


def complete(llm: LLM, prompt: str, name: str, on_text: Callable[[str], None] | None = None,
             retries: int = INTERACTIVE_RETRIES) -> str:
    """Run the LLM on one prompt; a server that is down, slow or failing becomes a clear error.

    With ``on_text`` the answer is streamed: it is called with the text so far as it grows.
    A busy server (see :func:`is_transient`) is asked again up to ``retries`` times.
    """
    retrying = Retrying(stop=stop_after_attempt(retries + 1), wait=_wait, retry=retry_if_exception(is_transient),
                        reraise=True,
                        before_sleep=lambda s: log.warning("LLM %s busy (%s); asking again", name,
                                                           s.outcome.exception() if s.outcome else "?"))
    try:
        return retrying(_complete_once, llm, prompt, on_text)
    except Exception as exc:
        what = f"{type(exc).__name__}: {exc}"
        if is_transient(exc):
            raise LLMUnavailableError(
                f"The LLM ({name}) did not answer: {what}, still after {retries + 1} tries: the server is busy, "
                "overloaded or hung. Wait a little and ask again; for a batch, lower the LLM's max_parallel "
                "(running the batch again resumes it)."
            ) from exc
        if status_of(exc) is not None:
            raise PermanentLLMError(
                f"The LLM ({name}) refused the request: {what}. Check its model name, URL and API key in the "
                "settings, then ask again."
            ) from exc
        raise LLMUnavailableError(
            f"The LLM ({name}) did not answer: {what}. Check that the server is running "
            "and the settings are right, then ask again. Set the provider to none for offline answers."
        ) from exc


def _complete_once(llm: LLM, prompt: str, on_text: Callable[[str], None] | None) -> str:
    if on_text is None:
        return llm.complete(prompt).text
    text = ""
    for part in llm.stream_complete(prompt):
        text = part.text if part.text is not None else text + (part.delta or "")
        on_text(text)
    return text
