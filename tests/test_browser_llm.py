"""The app in headless Chromium with a real model behind it: llama.cpp's server running
SmolLM2-135M-Instruct on localhost. The answer is written by the model and shown beside
the evidence like every other answer."""

from __future__ import annotations

import re

import pytest
from conftest import eval_paper
from playwright.sync_api import expect
from servers import llama_server_available
from test_browser import ARTIFACTS, QUESTION, ask, browser, running_app  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(llama_server_available() is not None, reason=str(llama_server_available())),
]


@pytest.fixture(scope="module")
def app_with_llm(tmp_path_factory, llm_endpoint):
    env = {"ASSISTANT_LLM__PROVIDER": "openai", "ASSISTANT_LLM__BASE_URL": llm_endpoint,
           "ASSISTANT_LLM__MODEL": "smollm2", "ASSISTANT_LLM__MAX_TOKENS": "150", "ASSISTANT_LLM__TEMPERATURE": "0"}
    with running_app(tmp_path_factory, env) as url:
        yield url


def test_a_real_model_answers_in_the_browser_beside_the_evidence(app_with_llm, browser, llm_endpoint):  # noqa: F811
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.goto(app_with_llm)
    page.get_by_role("heading", name="Library").wait_for(timeout=120_000)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("smollm2", timeout=60_000)
    expect(page.get_by_test_id("stSidebar")).to_contain_text(llm_endpoint)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(eval_paper("ronneberger2015_unet.pdf")))
    page.get_by_text("1 document").first.wait_for(timeout=180_000)

    ask(page, QUESTION)
    answer = page.locator(".answer-text").first
    answer.wait_for(timeout=180_000)
    expect(answer).to_have_text(re.compile(r"\S"), timeout=60_000)
    expect(page.get_by_text("smollm2 via OpenAI-compatible server").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Source passage").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "ask_llm.png"))
