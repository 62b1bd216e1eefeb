"""Settings: the LLM, the answer defaults, reading PDFs, and the prompt templates."""

import os

import streamlit as st

from assistant.answering.prompts import BUILTIN_TEMPLATES, offered_first
from assistant.config import (
    PROVIDERS,
    describe_llm,
    env_fixed,
    read_settings_file,
    save_settings_file,
)
from assistant.errors import AssistantError
from assistant.library.embeddings import embedding_name
from ui.resources import workspace

ws = workspace()
s = ws.settings

st.title("Settings")
st.caption(
    f"Saved in `{s.data_dir / 'settings.json'}`. Environment variables (ASSISTANT_…) take precedence; "
    "a field they set is shown greyed out."
)


def saved(groups: dict) -> None:
    try:
        save_settings_file(s, groups)
    except Exception as exc:  # pydantic names the field and the problem
        st.error(f"Not saved: {exc}")
        return
    st.toast("Saved.")
    st.rerun()


st.subheader("Language model")
providers = list(PROVIDERS)
with st.form("llm"):
    provider = st.selectbox("Provider", providers, index=providers.index(s.llm.provider),
                            format_func=PROVIDERS.get, disabled=env_fixed("llm", "provider"))
    model = st.text_input("Model", s.llm.model, disabled=env_fixed("llm", "model"))
    base_url = st.text_input("Base URL", s.llm.base_url, placeholder="http://127.0.0.1:8000/v1",
                             disabled=env_fixed("llm", "base_url"))
    api_key = st.text_input("API key", type="password", placeholder="unchanged" if s.llm.api_key.get_secret_value() else "",
                            disabled=env_fixed("llm", "api_key"))
    gguf_path = st.text_input("GGUF file", s.llm.gguf_path, disabled=env_fixed("llm", "gguf_path"))
    c1, c2, c3 = st.columns(3)
    temperature = c1.number_input("Temperature", 0.0, 2.0, s.llm.temperature, 0.05)
    max_tokens = c2.number_input("Max answer tokens", 16, 8192, s.llm.max_tokens, 16)
    timeout = c3.number_input("Timeout (s)", 1.0, 3600.0, s.llm.timeout, 10.0)
    c4, c5, c6 = st.columns(3)
    max_parallel = c4.number_input(
        "Parallel requests (batch)", 1, 256, s.llm.max_parallel, 1, disabled=env_fixed("llm", "max_parallel"),
        help="The most requests a batch keeps in flight to this LLM. A vLLM or Ollama server answers several "
        "together about as fast as one; raise it until the server is busy, lower it when it answers 429 or 503.")
    retries = c5.number_input("Retries when busy (batch)", 0, 20, s.llm.retries, 1,
                              disabled=env_fixed("llm", "retries"),
                              help="Times a batch's request is tried again after 429, 502-504, a timeout or a "
                              "dropped connection, waiting as the server asks. The Ask page tries once more.")
    judges = ["local", "llm", "both"]
    judge = c6.selectbox(
        "Answered? decided by (batch)", judges, index=judges.index(s.batch.judge), disabled=env_fixed("batch", "judge"),
        format_func={"local": "local judge (no request)", "llm": "the LLM (a second request)",
                     "both": "both, shown where they differ"}.get,
        help="Whether each answer gives specific information from the paper. The local judge needs no LLM request; "
        "asking the LLM doubles a batch's requests.")
    if st.form_submit_button("Save language model"):
        values = {"provider": provider, "model": model.strip(), "base_url": base_url.strip(),
                  "gguf_path": gguf_path.strip(), "temperature": temperature, "max_tokens": int(max_tokens),
                  "timeout": timeout, "max_parallel": int(max_parallel), "retries": int(retries)}
        if api_key:
            values["api_key"] = api_key
        groups = {"llm": {k: v for k, v in values.items() if not env_fixed("llm", k)}}
        if not env_fixed("batch", "judge"):
            groups["batch"] = {"judge": judge}
        saved(groups)

if s.extra_llms:
    st.subheader("Further LLMs of a batch")
    from_env = any(k.upper() == "ASSISTANT_EXTRA_LLMS" for k in os.environ)
    st.caption("Named in extra_llms" + (" by the environment (ASSISTANT_EXTRA_LLMS), so fixed here." if from_env
                                        else " in the settings file; their other fields are edited there."))
    with st.form("extra_llms"):
        chosen = {name: st.number_input(f"{name}: {describe_llm(llm)}: parallel requests", 1, 256, llm.max_parallel,
                                        1, disabled=from_env, key=f"parallel_{name}")
                  for name, llm in s.extra_llms.items()}
        if st.form_submit_button("Save parallel requests", disabled=from_env):
            stored = read_settings_file(s.data_dir).get("extra_llms") or {}
            saved({"extra_llms": {name: {**(stored.get(name) or {}), "max_parallel": int(n)}
                                  for name, n in chosen.items() if name in stored}})

st.subheader("Answers")
templates = ws.templates.all()
with st.form("answers"):
    names = list(templates)
    default_template = st.selectbox("Default prompt template", names, index=offered_first(names, s.answer.template))
    top_k = st.slider("Passages per question", 1, 20, s.retrieval.top_k)
    modes = {"hybrid": "Hybrid: meaning (embeddings) and keywords (BM25)", "dense": "Meaning only (embeddings)"}
    mode = st.radio("Search", list(modes), index=list(modes).index(s.retrieval.mode), format_func=modes.get,
                    horizontal=True)
    min_rel = st.slider("Offline answers: least relevance before saying \"I don't know\"", 0.0, 1.0,
                        s.answer.min_relevance, 0.01)
    if st.form_submit_button("Save answer settings"):
        saved({"answer": {"template": default_template, "min_relevance": min_rel},
               "retrieval": {"top_k": top_k, "mode": mode}})

st.subheader("Reading PDFs")
with st.form("pdf"):
    ocr_on = st.checkbox("Read scanned pages and garbage text with OCR (Tesseract)", s.pdf.ocr,
                         disabled=env_fixed("pdf", "ocr"),
                         help="Off: such pages are left out, and a file with no other text is refused.")
    languages = st.text_input("OCR language(s) for Latin-script pages", s.pdf.ocr_language,
                              disabled=env_fixed("pdf", "ocr_language"),
                              help="Tesseract codes joined by +, e.g. eng+fra+deu. Other scripts are detected.")
    c1, c2 = st.columns(2)
    max_pages = c1.number_input("Longest PDF, pages", 1, 100_000, s.pdf.max_pages, 100,
                                disabled=env_fixed("pdf", "max_pages"))
    c2.number_input("Largest PDF, MB", 1, 100_000, s.max_file_mb, disabled=True,
                    help="Set with ASSISTANT_MAX_FILE_MB.")
    if st.form_submit_button("Save PDF settings"):
        values = {"ocr": ocr_on, "ocr_language": languages.strip() or "eng", "max_pages": int(max_pages)}
        saved({"pdf": {k: v for k, v in values.items() if not env_fixed("pdf", k)}})

st.subheader("Prompt templates")
st.caption("A template must contain {context} (the passages) and {question}. "
           "Numbered context gives each passage as [n] (file, page) between <passage> and </passage>, so the "
           "model can cite it and tell the papers' text from instructions; plain context (the seed pipeline's) "
           "joins the passages without marks.")
name = st.selectbox("Template", list(templates), key="template_name")
tpl = templates[name]
st.caption(tpl.description)
with st.form("template"):
    new_name = st.text_input("Save as", name)
    style = st.radio("Passages in the prompt", ["numbered", "plain"],
                     index=["numbered", "plain"].index(tpl.context_style), horizontal=True)
    text = st.text_area("Template text", tpl.text, height=420, key=f"template_text_{name}")
    save = st.form_submit_button("Save template")
if save:
    try:
        ws.templates.save(new_name, text, style)
    except AssistantError as exc:
        st.error(str(exc))
    else:
        st.toast(f"Template {new_name} saved.")
        st.rerun()
if name in BUILTIN_TEMPLATES and not tpl.builtin:
    if st.button(f"Reset {name} to the built-in version"):
        ws.templates.reset(name)
        st.rerun()
elif name not in BUILTIN_TEMPLATES and st.button(f"Delete template {name}"):
    ws.templates.reset(name)
    st.rerun()

st.subheader("Library")
st.markdown(
    f"- Folder: `{s.data_dir}` (set with `ASSISTANT_DATA_DIR`)\n"
    f"- Embedding model: {embedding_name(s.embedding)}, batch {s.embedding.batch_size}, on {s.embedding.device}\n"
    f"- Passages: up to {s.chunking.size} characters, {s.chunking.overlap} of overlap "
    "(applies to papers added from now on)"
)
