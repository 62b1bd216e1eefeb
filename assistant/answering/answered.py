"""The local judge: was a question answered from the paper, decided without an LLM.

A logistic regression over what an answer says about itself (sentences that refuse,
hedge, or report what the paper mentions; names and numbers outside the refusals) and
the bundled encoder's vectors of the answer, its non-refusing sentences and the
question. Its weights are plain numbers in ``data/answered_judge.json``, written by
``scripts/fit_answered_judge.py`` from people's yes/no on LLM answers.

The hard answers are the hedged ones: "The context does not mention the data format.
However, it mentions images from camera traps..." People called about a third of them
answered; a rule that looks for "I don't know" calls nearly all of them answered.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..agreement import cohen_kappa
from ..config import BUNDLED_EMBEDDING, EmbeddingSettings
from ..errors import AssistantError, ConfigurationError
from ..library.embeddings import TextEncoder, load_embedding, unit_rows

MODEL_FILE = Path(__file__).parent.parent / "data" / "answered_judge.json"


class AnswersFileError(AssistantError):
    """A CSV of answers that cannot be judged; the message names the file and what to do."""


# --- reading an answer ------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z*\-\"(])|\n+")
_APOS = "['\u2019]"
# A sentence saying the information is not there: "does not explicitly mention", "no
# information on", "I don't know", "unfortunately"...
_REFUSAL = re.compile(
    rf"\b(do(es)? not|did not|doesn{_APOS}t|don{_APOS}t|isn{_APOS}t|is not|are not|aren{_APOS}t|was not|"
    rf"were not|cannot|can{_APOS}t|no (specific |explicit |direct |mention|information|details?)|"
    r"not (explicitly |specifically |directly |clearly )?(mention|provide|state|specif|describ|discuss|includ|"
    r"contain|availab|given|detail|address|clear|known|possible|reported)|unfortunately|unclear|"
    r"not enough information|lack)",
    re.IGNORECASE,
)
_HEDGE = re.compile(r"\b(suggests?|may|might|likely|possibl[ey]|probabl[ey]|infer|appears?|seems?|could|"
                    r"presumabl[ey]|assum|implies|implied|indicat)\w*", re.IGNORECASE)
_GENERIC = re.compile(r"\b(typically|commonly|common practice|in general|generally|usually|often|"
                      r"standard practice|it is common|such as|e\.g\.)", re.IGNORECASE)
# Names, acronyms, numbers and links: what a specific answer is made of.
_SPECIFIC = re.compile(r"\b(\d+(\.\d+)?%?|[A-Z]{2,}[A-Za-z0-9\-]*|https?://\S+|[A-Z][a-z]+[A-Z]\w*)")
_MENTION = re.compile(r"\b(does mention|do mention|it mentions|also mentions|mentions that|is mentioned|"
                      r"are mentioned|was mentioned|states? that|according to|report(s|ed)? that|describes?|"
                      r"the authors|they used|(was|were|is|are) used|used|using|trained|employ\w*)\b",
                      re.IGNORECASE)
_CANNOT = re.compile(rf"i (do not|don{_APOS}t) know|cannot (be )?(determine|provide|answer)|"
                     r"not enough information|unable to", re.IGNORECASE)
_CONCLUSION = re.compile(r"^(therefore|in summary|in conclusion|overall|thus|so)\b", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*[*\-\d]+[.)]?\s", re.MULTILINE)


def answer_sentences(text: str) -> list[str]:
    """An answer's sentences and list items (LLM answers break lines for lists)."""
    return [s.strip() for s in _SENTENCE_BREAK.split(text or "") if s and s.strip()]


def refuses(sentence: str) -> bool:
    """The sentence says something is not in the paper (or not known)."""
    return bool(_REFUSAL.search(sentence))


@dataclass(frozen=True)
class ReadAnswer:
    """An answer split for judging: its sentences, and which of them refuse."""

    question: str
    text: str
    sentences: list[str]
    refusing: list[bool]

    @classmethod
    def of(cls, question: str, text: str) -> ReadAnswer:
        sentences = answer_sentences(text)
        return cls(question, text, sentences, [refuses(s) for s in sentences])

    @property
    def encoded(self) -> list[str]:
        """The texts the judge encodes: the question, the answer, its sentences that do not refuse."""
        return [self.question, self.text, *self.others]

    @property
    def others(self) -> list[str]:
        """The sentences that do not refuse: where any answer is."""
        return [s for s, r in zip(self.sentences, self.refusing, strict=True) if not r]


FEATURE_NAMES = (
    "refuses somewhere", "first sentence refuses", "last sentence refuses", "share of refusing sentences",
    "other sentences", "log length", "log length of other sentences", "hedges per other sentence",
    "generic phrases per other sentence", "names and numbers per other sentence", "log names and numbers",
    "starts with I don't know", "says however", "best question similarity of other sentences",
    "answer-question similarity", "mentions per other sentence", "log mentions", "says it cannot answer",
    "digits in other sentences", "log quotations", "link in other sentences", "position of first refusal",
    "log length after first refusal", "refusing sentences", "ends on a refusing conclusion", "list items",
    "but ... not",
)


def text_features(read: ReadAnswer, best_similarity: float, answer_similarity: float) -> list[float]:
    """The numbers read off an answer's words (in the order of :data:`FEATURE_NAMES`)."""
    sentences, refusing, text = read.sentences, read.refusing, read.text
    others = read.others
    joined = " ".join(others)
    per = 1 + len(others)
    specific = len(_SPECIFIC.findall(joined))
    mentions = len(_MENTION.findall(joined))
    first = next((i for i, r in enumerate(refusing) if r), len(sentences))
    after = " ".join(sentences[first + 1:])
    return [
        float(any(refusing)),
        float(refusing[0]) if refusing else 0.0,
        float(refusing[-1]) if refusing else 0.0,
        float(np.mean(refusing)) if refusing else 0.0,
        float(len(others)),
        float(np.log1p(len(text))),
        float(np.log1p(len(joined))),
        len(_HEDGE.findall(joined)) / per,
        len(_GENERIC.findall(joined)) / per,
        specific / per,
        float(np.log1p(specific)),
        float(bool(re.match(rf"\s*i don{_APOS}t know", text, re.IGNORECASE))),
        float("however" in text.lower()),
        best_similarity,
        answer_similarity,
        mentions / per,
        float(np.log1p(mentions)),
        float(bool(_CANNOT.search(text))),
        float(bool(re.search(r"\d", joined))),
        float(np.log1p(len(re.findall(r'"[^"]+"', text)))),
        float(bool(re.search(r"https?://", joined))),
        first / (len(sentences) or 1),
        float(np.log1p(len(after))),
        float(sum(refusing)),
        float(bool(sentences) and refusing[-1] and bool(_CONCLUSION.match(sentences[-1]))),
        float(len(_LIST_ITEM.findall(text))),
        float(bool(re.search(r"\bbut\b[^.]*\bnot\b", text, re.IGNORECASE))),
    ]


def feature_matrix(pairs: Sequence[tuple[str, str]], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """One row per (question, answer): the text features, then the vectors of the answer,
    of its non-refusing sentences (their mean), of the question, and of the question
    again where the answer both refuses and says more (there the question decides most).
    ``encode`` gives unit vectors, one row per text."""
    reads = [ReadAnswer.of(q, a) for q, a in pairs]
    texts = [t for r in reads for t in r.encoded]
    unique = list(dict.fromkeys(texts))
    vectors = unit_rows(encode(unique)) if unique else np.zeros((0, 0), np.float32)
    row = {t: i for i, t in enumerate(unique)}
    width = vectors.shape[1]
    out = []
    for r in reads:
        q, a = vectors[row[r.question]], vectors[row[r.text]]
        others = vectors[[row[s] for s in r.others]] if r.others else np.zeros((0, width), np.float32)
        best = float((others @ q).max()) if len(others) else 0.0
        mean = others.mean(axis=0) if len(others) else np.zeros(width, np.float32)
        mixed = float(any(r.refusing) and bool(r.others))
        out.append(np.concatenate([text_features(r, best, float(a @ q)), a, mean, q, q * mixed]))
    return np.asarray(out, dtype=np.float64)


# --- the fitted model -------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeModel:
    """A logistic regression over :func:`feature_matrix` rows; the text features are
    standardised with ``mean`` and ``scale`` first."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    about: dict

    @property
    def width(self) -> int:
        """Length of the encoder's vectors the weights were fitted on (four vectors a row)."""
        return (len(self.coef) - len(FEATURE_NAMES)) // 4

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """Probability that each row's answer was answered from the paper."""
        x = rows.copy()
        k = len(self.mean)
        x[:, :k] = (x[:, :k] - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))

    def to_json(self) -> dict:
        return {"about": self.about, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept}

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> JudgeModel:
        """Plain numbers from JSON: loading it runs no code."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = cls(np.asarray(data["mean"], float), np.asarray(data["scale"], float),
                        np.asarray(data["coef"], float), float(data["intercept"]), dict(data.get("about", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"The answered judge's weights {path} could not be read ({exc}). Reinstall the package, or write "
                "them again with `python scripts/fit_answered_judge.py DATA.csv`."
            ) from exc
        if len(model.mean) != len(FEATURE_NAMES) or len(model.scale) != len(FEATURE_NAMES):
            raise ConfigurationError(f"The answered judge's weights {path} do not match this version's features; "
                                     "write them again with `python scripts/fit_answered_judge.py DATA.csv`.")
        return model


@dataclass(frozen=True)
class Verdict:
    """The local judge on one answer: answered or not, and how sure (0.5-1)."""

    answered: bool
    confidence: float


class AnsweredJudge:
    """The local judge: no LLM, tens of milliseconds per answer on the encoder at hand."""

    def __init__(self, encoder: TextEncoder, model: JudgeModel | None = None) -> None:
        self.encoder = encoder
        self.model = model or JudgeModel.load()

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.encoder.get_text_embedding_batch(texts), dtype=np.float32)

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0)
        return self.model.probability(feature_matrix(pairs, self._encode))

    def verdicts(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """(question, answer) pairs judged together (one encoder call)."""
        verdicts = []
        for p in self.probabilities(pairs):
            answered = bool(p >= 0.5)
            verdicts.append(Verdict(answered, round(float(p if answered else 1 - p), 3)))
        return verdicts

    def verdict(self, question: str, answer: str) -> Verdict:
        if not (answer or "").strip():
            return Verdict(False, 1.0)
        return self.verdicts([(question, answer)])[0]


_shared: dict[str, object] = {}
_shared_lock = threading.Lock()


def shared_judge(encoder: TextEncoder, settings: EmbeddingSettings) -> AnsweredJudge:
    """The judge for a library whose encoder is ``encoder`` (built from ``settings``): on
    that encoder when it is the bundled model the judge was fitted with, else on a bundled
    encoder of its own (loaded once per process). The weights are read once per process."""
    with _shared_lock:
        model = _shared.get("model")
        if model is None:
            model = _shared["model"] = JudgeModel.load()
        assert isinstance(model, JudgeModel)
        # A library's encoder remembers what it encoded (CachedEncoder): this costs nothing twice.
        fits = settings.model == BUNDLED_EMBEDDING and len(encoder.get_query_embedding("width")) == model.width
        if not fits:
            own = _shared.get("encoder")
            if own is None:
                own = _shared["encoder"] = load_embedding(EmbeddingSettings())
            encoder = own  # type: ignore[assignment]
    return AnsweredJudge(encoder, model)


# --- a CSV of answers, from a terminal --------------------------------------------------

REQUIRED_COLUMNS = ("question", "answer")


def read_answers_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and rows of a CSV of answers (every value kept as written); a clear
    error naming the file when it is missing, empty, not CSV or lacks a column."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswersFileError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswersFileError(f"{path}: not a CSV text file (not UTF-8 text). Save it as CSV (UTF-8).") from exc
    if "\0" in text:
        raise AnswersFileError(f"{path}: not a CSV text file (it holds binary data). Save it as CSV (UTF-8).")
    if not text.strip():
        raise AnswersFileError(f"{path}: the file is empty; it needs a header with question and answer, then rows.")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    except csv.Error as exc:
        raise AnswersFileError(f"{path}: not readable as CSV ({exc}).") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in fields]
    if missing:
        raise AnswersFileError(f"{path}: no column named {' or '.join(missing)} (columns: "
                               f"{', '.join(fields) or 'none'}). The header must name question and answer.")
    if not rows:
        raise AnswersFileError(f"{path}: a header but no rows to judge.")
    for n, row in enumerate(rows, start=2):
        if None in row or any(row.get(c) is None for c in REQUIRED_COLUMNS):
            raise AnswersFileError(f"{path}: line {n} does not have as many values as the header has columns.")
    return fields, rows


def write_judged_csv(path: Path, fields: list[str], rows: list[dict[str, str]], verdicts: Sequence[Verdict]) -> None:
    """``rows`` as read, in order, with ``answered`` and ``confidence`` (replaced if present)."""
    out_fields = [f for f in fields if f not in ("answered", "confidence")] + ["answered", "confidence"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=out_fields, lineterminator="\n")
    writer.writeheader()
    for row, v in zip(rows, verdicts, strict=True):
        writer.writerow({**row, "answered": "yes" if v.answered else "no", "confidence": f"{v.confidence:.3f}"})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(buf.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise AnswersFileError(f"{path}: cannot be written ({exc.strerror or exc}).") from exc


@dataclass(frozen=True)
class Agreement:
    """The judge against people's yes/no: rows compared, agreement, Cohen's kappa, and the
    confusion table ``[people yes, people no] x [judge yes, judge no]``."""

    compared: int
    skipped: int
    agreement: float
    kappa: float | None  # None: undefined (one answer throughout, or a single row)
    confusion: tuple[tuple[int, int], tuple[int, int]]

    def describe(self) -> str:
        (yy, yn), (ny, nn) = self.confusion
        skipped = f" ({self.skipped} rows without a yes/no decision left out)" if self.skipped else ""
        return "\n".join([
            f"agreement with decision: {self.agreement:.3f} over {self.compared} answers{skipped}",
            "Cohen's kappa: " + ("undefined" if self.kappa is None else f"{self.kappa:.3f}"),
            "",
            f"{'':>16}{'judge yes':>11}{'judge no':>10}",
            f"{'decision yes':>16}{yy:>11}{yn:>10}",
            f"{'decision no':>16}{ny:>11}{nn:>10}",
        ])


def agreement(decisions: Sequence[str], verdicts: Sequence[Verdict]) -> Agreement | None:
    """Against ``decisions`` (yes/no, any case; other values left out); None when none is yes/no."""
    pairs = [(d.strip().lower() == "yes", v.answered) for d, v in zip(decisions, verdicts, strict=True)
             if d.strip().lower() in ("yes", "no")]
    if not pairs:
        return None
    count = {(p, s): 0 for p in (True, False) for s in (True, False)}
    for p, s in pairs:
        count[(p, s)] += 1
    kappa = cohen_kappa([p for p, _ in pairs], [s for _, s in pairs], labels=(True, False))
    return Agreement(len(pairs), len(decisions) - len(pairs), sum(p == s for p, s in pairs) / len(pairs), kappa,
                     ((count[(True, True)], count[(True, False)]), (count[(False, True)], count[(False, False)])))
