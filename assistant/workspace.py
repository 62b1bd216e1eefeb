"""Everything one library needs, built once from settings: embedding model, library, LLM,
answerer, and the work database (question sets, batch runs, reviews)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from .answering.answerer import Answerer
from .answering.llms import MAIN_LLM, build_llm
from .answering.prompts import TemplateStore
from .answering.sentence_vectors import encode_sentences_when_added
from .config import LLMSettings, Settings, describe_llm, load_settings
from .database import Database
from .errors import ConfigurationError, LLMUnavailableError
from .library.embeddings import load_embedding
from .library.imports import Importer, Imports
from .library.library import Library
from .work.chats import Chats
from .work.questions import QuestionSets
from .work.review import Reviews
from .work.run_store import RunStore
from .work.runner import BatchRunner


@dataclass
class Workspace:
    settings: Settings
    library: Library
    templates: TemplateStore
    answerer: Answerer
    database: Database
    # Why the configured LLM could not be built ("" when it was, or none is configured):
    # the workspace then answers offline, and the pages that use the LLM say so.
    llm_problem: str = ""

    @property
    def llm_name(self) -> str:
        return self.answerer.llm_name

    @property
    def question_sets(self) -> QuestionSets:
        return QuestionSets(self.database)

    @property
    def batches(self) -> RunStore:
        return RunStore(self.database)

    @property
    def chats(self) -> Chats:
        return Chats(self.database)

    @property
    def reviews(self) -> Reviews:
        return Reviews(self.database)

    @property
    def imports(self) -> Imports:
        return Imports.of(self.settings, self.database)

    def importer(self) -> Importer:
        return Importer(self.library, self.imports, self.settings.imports.workers)

    def batch_runner(self) -> BatchRunner:
        """Asks with the main LLM already built here; further LLMs are built from settings."""
        # An LLM that could not be built is not handed on as "no LLM": the run would store offline
        # answers under the LLM's name. The runner builds it again and says what is wrong.
        built = {} if self.llm_problem else {MAIN_LLM: self.answerer.llm}
        return BatchRunner(self.library, self.settings, self.batches, self.templates, built)


def open_workspace(
    settings: Settings | None = None,
    data_dir: str | Path | None = None,
    embed_model: BaseEmbedding | None = None,
    library: Library | None = None,
    offline_if_llm_fails: bool = False,
) -> Workspace:
    """Everything one library needs. ``library``: one already open on the same folder and
    library settings, reused (an LLM setting changed: nothing of the library is built
    again). ``offline_if_llm_fails``: an LLM that cannot be built leaves the workspace
    answering offline, its reason in ``llm_problem``, instead of raising (the app, where
    the Settings page must stay usable to mend it)."""
    settings = settings or load_settings(data_dir)
    if library is None:
        library = encode_sentences_when_added(Library(settings, embed_model or load_embedding(settings.embedding)))
    templates = TemplateStore(settings.data_dir)
    problem = ""
    try:
        llm = build_llm(settings.llm)
    except (ConfigurationError, LLMUnavailableError) as exc:
        if not offline_if_llm_fails:
            raise
        llm, problem = None, str(exc)
    # Without the LLM built, answers are offline and named so, whatever the settings say.
    answerer = Answerer(library, settings, llm, describe_llm(settings.llm if llm is not None else LLMSettings()),
                        templates)
    return Workspace(settings, library, templates, answerer, Database.in_folder(settings.data_dir), problem)


# Settings that shape the library itself (its folder, store, encoder, chunks, reading and
# search); the others (the LLMs, answer defaults, batch judge) can change under an open one.
LIBRARY_INDEPENDENT = frozenset({"llm", "extra_llms", "answer", "batch", "workspaces"})


def library_key(settings: Settings) -> str:
    """Equal for two settings under which the same open library can serve."""
    return settings.model_dump_json(exclude=set(LIBRARY_INDEPENDENT))
