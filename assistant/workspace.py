"""Everything one library needs, built once from settings: embedding model, library, LLM, answerer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from .answering import Answerer
from .config import Settings, load_settings
from .embeddings import load_embedding
from .index import Library
from .llms import build_llm, describe_llm
from .prompts import TemplateStore


@dataclass
class Workspace:
    settings: Settings
    library: Library
    templates: TemplateStore
    answerer: Answerer

    @property
    def llm_name(self) -> str:
        return self.answerer.llm_name


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
    return Workspace(settings, library, templates, answerer)
