"""How an export was made: the project's version, the models, the template and the
retrieval settings, written into every export so that two exports can be told apart and
a result can be traced to what produced it.

A run records this when it is created (the settings it was made with may have changed
by the time it is exported); an Ask page answer is described by the settings of the
process that made it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from .. import __version__
from ..answering.llms import named_llms
from ..config import Settings, describe_llm

PRODUCT = f"research-assistant {__version__}"
NOT_RECORDED = "not recorded (the run was made before runs kept their settings)"


def _compact(values: Mapping) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def describe(settings: Settings, llms: Sequence[str], template: str, top_k: int) -> dict[str, str]:
    """What made (or makes) answers of ``llms`` with ``template`` and ``top_k`` passages,
    label by label, in reading order. No secrets: API keys and tokens are left out."""
    named = named_llms(settings)
    embedding = settings.embedding.model
    if settings.embedding.backend != "torch":
        embedding += f" ({settings.embedding.backend})"
    return {
        "made by": PRODUCT,
        "LLMs": "; ".join(f"{name}: {describe_llm(named[name]) if name in named else 'not configured'}"
                          for name in llms),
        "template": template,
        "passages per question": str(top_k),
        "embedding": embedding,
        "chunking": _compact(settings.chunking.model_dump()),
        "retrieval": _compact(settings.retrieval.model_dump(exclude={"top_k"})),
        "answer": _compact(settings.answer.model_dump(exclude={"template"})),
        "answered judge": settings.batch.judge,
    }


def recorded(llms: Sequence[str], template: str, top_k: int, stored: str) -> dict[str, str]:
    """A run's description as stored with it (JSON), or, for a run made before runs kept
    one, what its own columns say and that the rest is not known."""
    if stored:
        try:
            data = json.loads(stored)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    return {"made by": NOT_RECORDED, "LLMs": ", ".join(llms), "template": template,
            "passages per question": str(top_k)}


def stamped(described: Mapping[str, str], when: datetime | None = None) -> dict[str, str]:
    """``described`` with the export's own date and the version that wrote it."""
    out = dict(described)
    out["exported"] = f"{(when or datetime.now(UTC)):%Y-%m-%d %H:%M} UTC by {PRODUCT}"
    return out


def as_lines(described: Mapping[str, str]) -> list[str]:
    return [f"{label}: {value}" for label, value in described.items()]
