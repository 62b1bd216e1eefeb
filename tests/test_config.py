from __future__ import annotations

from typing import get_args

import pytest
from conftest import ROOT
from pydantic import BaseModel, ValidationError

from assistant.config import PROVIDERS, LLMSettings, Provider, Settings, env_fixed, load_settings, save_settings_file


def env_names() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            names += [f"ASSISTANT_{name}__{sub}".upper() for sub in field.annotation.model_fields]
        else:
            names.append(f"ASSISTANT_{name}".upper())
    return names


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n for n in env_names() if f"`{n}`" not in readme]
    assert not missing, f"README lacks {missing}"


def test_every_provider_the_settings_accept_is_offered_with_a_label():
    assert list(PROVIDERS) == list(get_args(Provider))
    for name, label in PROVIDERS.items():
        assert LLMSettings(provider=name).provider == name and label
        assert f"{name}: {label}" in LLMSettings.model_fields["provider"].description
    with pytest.raises(ValidationError):
        LLMSettings(provider="gpt")


def test_environment_beats_settings_file_beats_defaults(tmp_path, monkeypatch, settings):
    folder = settings.data_dir
    save_settings_file(settings, {"llm": {"provider": "ollama", "model": "from-file"}, "retrieval": {"top_k": 7}})
    loaded = load_settings(folder)
    assert (loaded.llm.provider, loaded.llm.model, loaded.retrieval.top_k) == ("ollama", "from-file", 7)
    monkeypatch.setenv("ASSISTANT_LLM__MODEL", "from-env")
    loaded = load_settings(folder)
    assert loaded.llm.model == "from-env" and loaded.llm.provider == "ollama"
    assert env_fixed("llm", "model") and not env_fixed("llm", "provider")
    assert loaded.data_dir == folder


def test_a_bad_value_is_never_written(settings):
    with pytest.raises(ValidationError):
        save_settings_file(settings, {"retrieval": {"top_k": 0}})
    assert not (settings.data_dir / "settings.json").exists()


def test_data_dir_comes_from_argument_then_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "env"))
    assert load_settings().data_dir == tmp_path / "env"
    assert load_settings(tmp_path / "arg").data_dir == tmp_path / "arg"


def test_an_llm_that_cannot_work_is_never_saved(settings):
    from assistant.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="needs a base URL"):
        save_settings_file(settings, {"llm": {"provider": "openai", "model": "qwen", "base_url": ""}})
    with pytest.raises(ConfigurationError, match="needs a model name"):
        save_settings_file(settings, {"llm": {"provider": "ollama"}})
    with pytest.raises(ConfigurationError, match="there is no file at"):
        save_settings_file(settings, {"llm": {"provider": "llamacpp", "gguf_path": "/nowhere/model.gguf"}})
    with pytest.raises(ConfigurationError, match="must start with http"):
        save_settings_file(settings, {"llm": {"provider": "openai", "model": "m", "base_url": "127.0.0.1:8000"}})
    assert not (settings.data_dir / "settings.json").exists()
    # Other groups save while a stored LLM is broken: the page must stay usable to mend it.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "settings.json").write_text('{"llm": {"provider": "openai", "model": "qwen"}}')
    save_settings_file(settings, {"retrieval": {"top_k": 6}})
    assert load_settings(settings.data_dir).retrieval.top_k == 6


def test_an_invalid_settings_file_loads_what_it_can_and_says_what_it_left_out(settings):
    from assistant.config import llm_problem, load_settings_checked

    folder = settings.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(
        '{"llm": {"provider": "gpt", "model": "m", "max_parallel": 8}, "retrieval": {"top_k": 0, "mode": "dense"},'
        ' "pdf": "yes", "answer": {"template": "seed"}}')
    loaded, problems = load_settings_checked(folder)
    assert (loaded.llm.provider, loaded.llm.model, loaded.llm.max_parallel) == ("none", "m", 8)
    assert (loaded.retrieval.top_k, loaded.retrieval.mode, loaded.answer.template) == (4, "dense", "seed")
    said = "\n".join(problems)
    assert all(f in said for f in ("llm.provider", "retrieval.top_k", "pdf")), said
    assert len(problems) == 3
    # A half-filled LLM is valid as data and loads; what keeps it from working is said apart.
    (folder / "settings.json").write_text('{"llm": {"provider": "openai", "model": "qwen"}}')
    loaded, problems = load_settings_checked(folder)
    assert problems == [] and "needs a base URL" in llm_problem(loaded.llm)
    (folder / "settings.json").write_text("{not json")
    loaded, problems = load_settings_checked(folder)
    assert loaded.llm.provider == "none" and "could not be read" in problems[0]


def test_an_invalid_environment_variable_is_still_raised(settings, monkeypatch):
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__TOP_K", "0")
    with pytest.raises(ValidationError):
        load_settings(settings.data_dir)
