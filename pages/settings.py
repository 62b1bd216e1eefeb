"""Settings: the LLM, the answer defaults, reading PDFs, and the prompt templates.

This page needs neither the library nor the LLM: it is where a setting that keeps either
from working is mended, so it must open whatever the settings file holds.
"""

import os

import streamlit as st

from assistant.answering.prompts import BUILTIN_TEMPLATES, TemplateStore, offered_first
from assistant.config import (
    OLLAMA_URL,
    PROVIDERS,
    LLMSettings,
    describe_llm,
    env_fixed,
    llm_problem,
    load_settings_checked,
    read_settings_file,
    save_settings_file,
)
from assistant.errors import AssistantError
from assistant.library.embeddings import embedding_name
from ui.resources import settings

s = settings()
problems = load_settings_checked(s.data_dir)[1]
store = TemplateStore(s.data_dir)

st.title("Settings")
st.caption(
    f"Saved in `{s.data_dir / 'settings.json'}`. Environment variables (ASSISTANT_…) take precedence; "
    "a field they set is shown greyed out."
)
for problem in problems:
    st.error(problem, icon=":material/error:")
if llm_problem(s.llm):
    st.error(f"The language model set now cannot be used: {llm_problem(s.llm)} Until it is mended, answers are "
             "offline (quotes of the papers' sentences).", icon=":material/error:")


def saved(groups: dict) -> None:
    try:
        save_settings_file(s, groups)
    except Exception as exc:  # pydantic, or the LLM check, names the field and the problem
        st.error(f"Not saved: {exc}")
        return
    st.toast("Saved.")
    st.rerun()


st.subheader("Language model")
providers = list(PROVIDERS)
# Outside the form: each provider has fields of its own, redrawn when another is chosen.
provider = st.selectbox("Provider", providers, index=providers.index(s.llm.provider), format_func=PROVIDERS.get,
                        disabled=env_fixed("llm", "provider"), key="llm_provider")
same = provider == s.llm.provider  # the stored fields belong to the stored provider
HELP = {
    "openai": "Any server that speaks the OpenAI API: vLLM (`vllm serve MODEL`, port 8000), the llama.cpp server "
              "(`llama-server -m FILE.gguf`, port 8080), LM Studio (port 1234) or a hosted API. The base URL "
              "usually ends in /v1.",
    "ollama": f"An Ollama server (`ollama serve`; `ollama pull MODEL` first). Its address is {OLLAMA_URL} unless "
              "you changed it.",
    "llamacpp": "A GGUF model file run inside the app's process (needs the optional llama-cpp-python install). "
                "Answers one question at a time.",
    "none": "No LLM: answers quote the papers' sentences that answer the question, each cited.",
}
st.caption(HELP[provider])
with st.form("llm"):
    values: dict = {"provider": provider}
    if provider == "openai":
        values["base_url"] = st.text_input(
            "Base URL", s.llm.base_url if same else "", placeholder="required: e.g. http://127.0.0.1:8000/v1",
            disabled=env_fixed("llm", "base_url"), help="The server's address with its API path, e.g. "
            "http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:8080/v1 (llama.cpp server), http://127.0.0.1:1234/v1 "
            "(LM Studio).")
        values["model"] = st.text_input(
            "Model", s.llm.model if same else "", placeholder="required: the name the server gives it",
            disabled=env_fixed("llm", "model"), help="As the server lists it: Test connection shows the list.")
        api_key = st.text_input("API key", type="password", disabled=env_fixed("llm", "api_key"),
                                placeholder="unchanged" if s.llm.api_key.get_secret_value() else "only if the server "
                                "asks for one", help="Sent as a Bearer token; local servers usually need none.")
        if api_key:
            values["api_key"] = api_key
    elif provider == "ollama":
        values["base_url"] = st.text_input(
            "Address", (s.llm.base_url if same else "") or OLLAMA_URL, disabled=env_fixed("llm", "base_url"),
            help=f"Where Ollama listens: {OLLAMA_URL} by default (no /v1).")
        values["model"] = st.text_input("Model", s.llm.model if same else "", placeholder="required: e.g. llama3.2",
                                        disabled=env_fixed("llm", "model"), help="A model pulled into Ollama.")
    elif provider == "llamacpp":
        values["gguf_path"] = st.text_input(
            "GGUF file", s.llm.gguf_path if same else "", placeholder="required: e.g. /models/llama-3.2-3b.Q4_K_M.gguf",
            disabled=env_fixed("llm", "gguf_path"), help="The path of the model file on the app's machine.")
    judge = s.batch.judge
    if provider != "none":
        c1, c2, c3 = st.columns(3)
        values["temperature"] = c1.number_input("Temperature", 0.0, 2.0, s.llm.temperature, 0.05)
        values["max_tokens"] = int(c2.number_input("Max answer tokens", 16, 8192, s.llm.max_tokens, 16))
        values["timeout"] = c3.number_input("Timeout (s)", 1.0, 3600.0, s.llm.timeout, 10.0)
        c4, c5, c6 = st.columns(3)
        if provider != "llamacpp":
            values["max_parallel"] = int(c4.number_input(
                "Parallel requests (batch)", 1, 256, s.llm.max_parallel, 1, disabled=env_fixed("llm", "max_parallel"),
                help="The most requests a batch keeps in flight to this LLM. A vLLM or Ollama server answers several "
                "together about as fast as one; raise it until the server is busy, lower it when it answers 429 or "
                "503."))
            values["retries"] = int(c5.number_input(
                "Retries when busy (batch)", 0, 20, s.llm.retries, 1, disabled=env_fixed("llm", "retries"),
                help="Times a batch's request is tried again after 429, 502-504, a timeout or a dropped connection, "
                "waiting as the server asks. The Ask page tries once more."))
        judges = ["local", "llm", "both"]
        judge = c6.selectbox(
            "Answered? decided by (batch)", judges, index=judges.index(s.batch.judge),
            disabled=env_fixed("batch", "judge"),
            format_func={"local": "local judge (no request)", "llm": "the LLM (a second request)",
                         "both": "both, shown where they differ"}.get,
            help="Whether each answer gives specific information from the paper. The local judge needs no LLM "
            "request; asking the LLM doubles a batch's requests.")
    b1, b2 = st.columns([1, 4])
    save_llm = b1.form_submit_button("Save language model", type="primary")
    test = b2.form_submit_button("Test connection", disabled=provider == "none",
                                 help="One small request (the server's list of models), nothing saved.")
values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items() if not env_fixed("llm", k)}
if test:
    from assistant.answering.server_check import check_server

    trial = LLMSettings(**{**s.llm.model_dump(), **values})
    with st.spinner(f"Asking {describe_llm(trial)}…"):
        found = check_server(trial)
    (st.success if found.ok else st.error)(found.message, icon=":material/lan:")
if save_llm:
    groups = {"llm": values}
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
templates = store.all()
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
        store.save(new_name, text, style)
    except AssistantError as exc:
        st.error(str(exc))
    else:
        st.toast(f"Template {new_name} saved.")
        st.rerun()
if name in BUILTIN_TEMPLATES and not tpl.builtin:
    if st.button(f"Reset {name} to the built-in version"):
        store.reset(name)
        st.rerun()
elif name not in BUILTIN_TEMPLATES and st.button(f"Delete template {name}"):
    store.reset(name)
    st.rerun()

st.subheader("Library")
st.markdown(
    f"- Folder: `{s.data_dir}` (set with `ASSISTANT_DATA_DIR`)\n"
    f"- Embedding model: {embedding_name(s.embedding)}, batch {s.embedding.batch_size}, on {s.embedding.device}\n"
    f"- Passages: up to {s.chunking.size} characters, {s.chunking.overlap} of overlap "
    "(applies to papers added from now on)"
)
