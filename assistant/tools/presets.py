"""Named bundles of settings, for comparing ways of retrieving (``evaluate --preset``)."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..errors import ConfigurationError

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # The application's own defaults.
    "default": {},
    # Earlier defaults: 1000-character chunks of sentences (150 of overlap) shown as they
    # are, each matched on its own words and vector only.
    "chunks": {
        "chunking": {"method": "sentences", "size": 1000, "overlap": 150},
        "retrieval": {"window": 0, "context_weight": 0.0, "rerank": 1},
    },
    # The default with the encoder quantized to int8 (faster ingestion; vectors very close).
    "int8": {"embedding": {"backend": "int8"}},
    # The competency-question pipeline this project grew from: 1000-character chunks with
    # 50 of overlap, top-4 dense retrieval with MiniLM, the prompt's question block embedded.
    "seed": {
        "chunking": {"method": "characters", "size": 1000, "overlap": 50},
        "retrieval": {"mode": "dense", "query": "template", "top_k": 4, "window": 0, "context_weight": 0.0,
                      "rerank": 1},
    },
}


def apply_preset(settings: Settings, name: str) -> Settings:
    """``settings`` with the preset's values, and a library folder of its own under
    ``<data dir>/presets/<name>`` (chunks cut differently must not share a catalog)."""
    if name not in PRESETS:
        raise ConfigurationError(f"No preset named {name!r}. Known presets: {', '.join(PRESETS)}.")
    values = settings.model_dump()
    for group, fields in PRESETS[name].items():
        values[group] = {**values[group], **fields}
    values["data_dir"] = settings.data_dir / "presets" / name
    return Settings.model_validate(values)
