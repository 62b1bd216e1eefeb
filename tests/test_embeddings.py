"""The encoder backends: the bundled MiniLM as published, and quantized to int8."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import EmbeddingSettings
from assistant.errors import ConfigurationError
from assistant.library.embeddings import embedding_name, load_embedding, unit_rows

pytestmark = pytest.mark.integration

SENTENCES = [
    "We trained the network with stochastic gradient descent and a momentum of 0.99.",
    "Images of seabird colonies were collected with drones flying at 30 metres.",
    "The code is available at https://example.org/seabirds.",
    "Random flips and rotations augmented the training data.",
    "Accuracy on the held-out islands reached 91 percent.",
]
QUESTIONS = [
    ("Which optimizer was used for training?", 0),
    ("How were the images collected?", 1),
    ("Where can the source code be found?", 2),
    ("Which data augmentation techniques were applied?", 3),
]


def test_int8_backend_quantizes_the_encoder_and_keeps_its_vectors_and_rankings(real_embedding):
    int8 = load_embedding(EmbeddingSettings(backend="int8"))
    linear = [type(m).__module__ for m in int8._model.modules() if type(m).__name__ == "Linear"]
    assert linear and all(m.startswith("torch.ao.nn.quantized.dynamic") for m in linear), set(linear)

    full = unit_rows(real_embedding.get_text_embedding_batch(SENTENCES))
    small = unit_rows(int8.get_text_embedding_batch(SENTENCES))
    agreement = np.sum(full * small, axis=1)
    assert agreement.min() > 0.9, agreement  # close (measured 0.94-0.96), not equal
    assert agreement.max() < 0.99999
    for question, expected in QUESTIONS:
        scores = small @ unit_rows(int8.get_query_embedding(question))[0]
        assert int(np.argmax(scores)) == expected, (question, scores)


def test_int8_backend_is_named_and_refused_off_the_cpu():
    assert embedding_name(EmbeddingSettings(backend="int8")) == "all-MiniLM-L6-v2 (bundled), int8"
    with pytest.raises(ConfigurationError, match="CPU only"):
        load_embedding(EmbeddingSettings(backend="int8", device="cuda"))
