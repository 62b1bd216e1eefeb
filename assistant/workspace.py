"""Everything one library needs, built once from settings: embedding model, library, LLM,
answerer, and the work database (question sets, batch runs, reviews)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from .answering.answerer import Answerer
from .answering.llms import MAIN_LLM, build_llm
from .answering.prompts import TemplateStore
from .config import Settings, describe_llm, load_settings
from .database import Database
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
        return BatchRunner(self.library, self.settings, self.batches, self.templates, {MAIN_LLM: self.answerer.llm})


def open_workspace(
    settings: Settings | None = None,
    data_dir: str | Path | None = None,
    embed_model: BaseEmbedding | None = None,
) -> Workspace:
    settings = settings or load_settings(data_dir)
    embed = embed_model or load_embedding(settings.embedding)
    library = Library(settings, embed)
    templates = TemplateStore(settings.data_dir)
    llm = build_llm(settings.llm)
    answerer = Answerer(library, settings, llm, describe_llm(settings.llm), templates)
    return Workspace(settings, library, templates, answerer, Database.in_folder(settings.data_dir))
