"""The kinds of fact a question about a paper's methods asks for, and whether a sentence
states one: a link, a dataset, a number with its hyperparameter, a hardware model, a
framework, a metric...

A generic question ("Which hardware resources are used for training?") is answered only
by a sentence that names the thing asked for (a GPU model, a cluster), not by one that
merely shares its words ("deep networks are trained on large data"). Each kind has two
patterns: what a question asking for it says (``asks``), and what a sentence stating it
holds (``states``). They are written from the vocabulary of methods sections, never from
one paper's wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .normalize import display, question_for_matching


def _words(*terms: str) -> re.Pattern[str]:
    """Terms that start at a word boundary (they may end inside a word: "augment" finds "augmented")."""
    return re.compile(r"(?<![^\W\d_])(?:" + "|".join(terms) + ")", re.IGNORECASE)


# A web address, DOI or repository host, found anywhere (a footnote mark glued to it, "1http://", hides nothing).
_LINK = (r"(?:https?://|www\.|doi\.org/|\bdoi:\s*10\.\d|\b10\.\d{4,}/|github\.com|gitlab\.|bitbucket\.org|"
         r"zenodo\.org|figshare\.com|datadryad\.org|kaggle\.com|huggingface\.co)")
_NUMBER = r"\d"
_CITATIONS = re.compile(r"\[\d{1,3}(?:\s*[,\u2013-]\s*\d{1,3})*\]")
# A whole web address or DOI as written (a line break inside it already folded away).
LINK = re.compile(r"(?:https?://|www\.|doi\.org/|doi:\s*)[^\s,;)\]]+[^\s,;.)\]]|\b10\.\d{4,}/[^\s,;)\]]+[^\s,;.)\]]")


# What a sentence says of this paper's own work ("we", "our", "this study"), or of a step
# done in it ("augmentation was applied"): a method named with neither may be another
# paper's ("PPF owes its results to its data augmentation strategy").
OWN_WORK = re.compile(r"\b(?:we|our|ours|us)\b|\bthis (?:paper|study|work|article|research)\b|\bhere\b",
                      re.IGNORECASE)
# Where a paper says what it itself sets out to do or did ("we propose an attention-aided
# CNN", "this study builds a classifier", "in this study, we used time-lapse photos"): the
# statements of its aim and contribution, which name its model, task and data first-hand.
CONTRIBUTION = re.compile(
    r"\b(?:we|this (?:paper|study|work|article|research))\s+(?:\w+\s+){0,2}?(?:propose|present|introduce|develop|"
    r"build|design|construct|devise|create)\w*\s+(?:\w+[\s,-]+){0,6}?(?:model|network|method|approach|framework|"
    r"pipeline|system|classifier|detector|architecture|algorithm|dataset|data ?set|tool)s?\b|"
    r"\b(?:in|for) this (?:paper|study|work|article|research),?\s+we\b",
    re.IGNORECASE)
# What the paper says it did not do ("we do not address class imbalance"): the answer when
# nothing else is said, but said beside a step it did ("we oversample rare species"), that
# step answers first.
NOT_DONE = re.compile(
    r"\b(?:we|the authors?|this (?:paper|study|work))\s+(?:\w+\s+)?(?:do|did|does|could|can|were|was)"
    r"(?:\s+not|n['’]t)\b|\b(?:was|were|is|are)\s+not\s+(?:\w+\s+)?(?:used|applied|addressed|performed|"
    r"considered)\b", re.IGNORECASE)
# Numbers that are no value of the paper's method: a citation, a figure, table, section or
# equation number, a year, a footnote mark opening the sentence.
_NOT_VALUES = re.compile(
    _CITATIONS.pattern + r"|"
    r"\b(?:fig(?:ure)?s?|tables?|tab|sec(?:tion)?s?|sect|eqs?|equations?|chapters?|appendix|ref)\.?\s*\(?[\dIVX]+|"
    r"\b(?:19|20)\d\d\b|^\W*\d{1,2}(?=\s*[A-Z])", re.IGNORECASE)
# A value stated: a number left once those are gone ("a coarse 3 by 3 grid", "a window of
# 4096", "[-20, 20] dB"). Of two sentences naming the same kind of fact, the one giving its
# value is the detailed account a reader quotes.
_VALUE = re.compile(r"\d")


def states_value(text: str) -> bool:
    """Whether a sentence gives a number of the paper's own (not a citation, figure, year)."""
    return bool(_VALUE.search(_NOT_VALUES.sub(" ", display(text))))


_DONE = re.compile(r"\b(?:was|were|is|are|been|being)\s+(?:\w+\s+){0,2}(?:applied|used|performed|employed|adopted|"
                   r"implemented|conducted|carried out|augmented)\b", re.IGNORECASE)


# Thanks and funding: a section of their own ("Acknowledgments"), or a sentence that opens
# like one. They name people, grants and facilities, not the paper's methods; only a named
# piece of hardware there ("an NVIDIA Titan X donated by ...") says what the work ran on.
ACKNOWLEDGEMENT_HEADING = re.compile(r"^\W*(?:[\dIVX]+\.?\s*)?(?:acknowledg|thanks\b|funding\b)", re.IGNORECASE)
ACKNOWLEDGEMENT = re.compile(
    r"^\W*(?:thanks? (?:to|go)|(?:we|the authors?) (?:\w+ ){0,2}(?:thank|acknowledge|are grateful|gratefully)|"
    r"(?:this|the) (?:work|research|study|project) (?:was|is|has been) (?:\w+ ){0,2}(?:supported|funded)|"
    r"funding (?:was|for)|supported by (?:the )?(?:grant|project))", re.IGNORECASE)
NAMED_HARDWARE = re.compile(
    r"\b(?:nvidia|tesla|geforce|gtx|rtx|titan|quadro|radeon|xeon|epyc|[avh]100|[pkt]\d0|tpu ?v\d|apple m\d)\b",
    re.IGNORECASE)

_DOING = re.compile(r"\b(?:appl|us|perform|employ|adopt|implement|conduct|introduc)\w*\W+(?:[\w-]+\W+){0,4}$",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # what it is, for people: "a link", "a hardware model"
    asks: re.Pattern[str]
    states: re.Pattern[str]
    needs_number: bool = False  # stated only together with a number (a value of a setting)
    # Stated only with words saying what it is about (a link to code, not to a data page).
    about: re.Pattern[str] | None = None
    # Stated by these words too, but only of this paper's own work (see OWN_WORK).
    own: re.Pattern[str] | None = None
    # Stated by these words too, but only together with ``about`` (which then leaves
    # ``states`` alone): words that say where something is, not what it is.
    loose: re.Pattern[str] | None = None

    def stated_in(self, text: str) -> bool:
        about = self.about is None or bool(self.about.search(text))
        if self.loose is not None:
            found = bool(self.states.search(text) or self._done_here(text) or (about and self.loose.search(text)))
        else:
            found = bool(self.states.search(text) or self._done_here(text)) and about
        return found and (not self.needs_number or bool(re.search(_NUMBER, text)))

    def _done_here(self, text: str) -> bool:
        """Whether the ``own`` words are said of something done in this paper: with "we",
        "our"..., in the passive ("was applied"), or as the object of a doing verb ("layers
        perform further augmentation")."""
        if self.own is None or not self.own.search(text):
            return False
        if OWN_WORK.search(text) or _DONE.search(text):
            return True
        return any(_DOING.search(text[max(0, m.start() - 60):m.start()]) for m in self.own.finditer(text))


def _kind(name: str, label: str, asks: Iterable[str], states: Iterable[str], needs_number: bool = False,
          raw_states: str = "", about: Iterable[str] = (), own: Iterable[str] = (), loose: Iterable[str] = ()) -> Kind:
    states = list(states)
    if raw_states and not states:
        states_pattern = re.compile(raw_states, re.IGNORECASE)
    elif raw_states:
        states_pattern = re.compile(f"{raw_states}|{_words(*states).pattern}", re.IGNORECASE)
    else:
        states_pattern = _words(*states)
    about = list(about)
    own, loose = list(own), list(loose)
    return Kind(name, label, _words(*asks), states_pattern, needs_number, _words(*about) if about else None,
                _words(*own) if own else None, re.compile("|".join(loose), re.IGNORECASE) if loose else None)


# How a text says where something can be had.
_OBTAINABLE = r"(?:available|provided|downloaded|obtained|released|published|accessible|distributed|hosted)"
# Words saying that what a sentence points to is data.
_DATA_WORDS = [r"data\b", r"datasets?", r"data ?sets?", r"database", r"corpus", r"images", r"photos", r"recordings",
               r"archive", r"challenge", r"benchmark", r"portal", r"download", r"zenodo", r"figshare", r"dryad",
               r"gbif", r"pangaea", r"kaggle", r"doi"]

KINDS: dict[str, Kind] = {k.name: k for k in [
    _kind("link", "a web address or DOI",
          [r"links?\b", r"urls?\b", r"web ?(?:page|site|address)", r"\bdoi\b"],
          [],
          raw_states=_LINK),
    _kind("code_link", "a web address of the code",
          [r"code repository links?", r"links? to (?:the )?code", r"code (?:url|links?)"],
          [], raw_states=_LINK,
          # A link about a model or network is the paper's own only when said to be released
          # ("the trained networks are available at"): a cited model's entry carries its link too.
          about=[r"code\b", r"implementation", r"software", r"package", r"librar", r"toolbox", r"toolkit",
                 r"scripts?\b", r"source code", r"repositor", r"github", r"gitlab", r"bitbucket", r"sourceforge",
                 r"demo", r"(?:models?|networks?|weights)\b[^.]{0,60}\b(?:available|released|published|provided|"
                 r"shared|download)"]),
    _kind("data_link", "a web address or DOI of the data",
          [r"data repository links?", r"links? to (?:the )?data", r"data (?:url|links?|doi)"],
          [], raw_states=_LINK,
          about=_DATA_WORDS),
    _kind("code", "where the code is published",
          [r"code\b", r"source code", r"implementation", r"software (?:is|was) (?:available|released)",
           r"where\b[^?]{0,60}\b(?:available|released|published|hosted|found)", r"repositor(?:y|ies) of the code",
           r"code repositor", r"released", r"install"],
          [r"github", r"gitlab", r"bitbucket",
           r"(?:code|implementation|software|scripts?|package|toolkit|library|models?|weights|"
           r"networks?)\b[^.]{0,80}\b(?:available|released|published|provided|hosted|shared|accessible|downloaded|installed)",
           r"(?:available|released|published|open-?sourced?)\b[^.]{0,60}\b(?:code|implementation|software|package)",
           r"upon (?:reasonable )?request", r"pip install", r"open[- ]source"]),
    _kind("data_source", "where the data can be obtained",
          [r"data (?:repositor|availab|access)", r"where[^?]{0,40}\bdata\b",
           r"data\b[^?]{0,30}\b(?:available|accessed|obtained|downloaded|published)"],
          [r"zenodo", r"figshare", r"dryad", r"gbif", r"pangaea", r"kaggle", r"data portal",
           # "is available", "made public", "obtained from": never the adjective of "the available images".
           rf"(?:data|dataset|data ?set|images|recordings|corpus)\b[^.]{{0,80}}\b(?:(?:is|are|was|were|be|been|made|"
           rf"publicly|freely|openly)\s+(?:\w+\s+)?{_OBTAINABLE}|{_OBTAINABLE}\s+(?:at|from|on|in|via|through|by|"
           rf"upon|online|under|for download)\b)",
           r"provided by", r"challenge", r"benchmark"],
          # A link, a repository or "available at" says where something is, not that it is
          # data: "all source codes are available via GitHub (https://...)" is no data source.
          loose=[r"repositor", r"(?:available|obtained|downloaded) (?:from|at|via)", r"upon (?:reasonable )?request",
                 _LINK],
          about=_DATA_WORDS),
    _kind("collection", "how the data were collected",
          [r"collect", r"acquisition", r"acquired", r"raw data", r"gather"],
          [r"surveys?\b", r"sensors?\b", r"cameras?\b", r"camera traps?", r"recorders?\b", r"satellites?\b",
           r"aerial", r"drones?\b", r"uavs?\b", r"microscop", r"collected", r"acquired", r"recorded", r"captured",
           r"photograph", r"field (?:work|campaign|survey|site|data)", r"sampled", r"scanned", r"crawled",
           r"scraped", r"public(?:ly)? (?:available )?(?:data|dataset)", r"challenge", r"downloaded",
           r"obtained from", r"provided by", r"citizen", r"data ?sets?\b", r"database", r"archive", r"simulat"]),
    _kind("format", "the form of the data",
          [r"data formats?", r"formats?\b", r"modalit", r"type of (?:input )?data", r"kind of data"],
          [r"images?\b", r"photos?\b", r"audio", r"video", r"\bcsv\b", r"text\b", r"pixels?\b", r"bands?\b",
           r"channels?\b", r"spectrograms?", r"recordings?", r"time[- ]series", r"point clouds?", r"tiff?\b",
           r"jpe?g\b", r"png\b", r"wav\b", r"mp3\b", r"raster", r"cubes?\b", r"tables?\b", r"sequences?\b",
           r"graphs?\b", r"json\b", r"xml\b", r"\d+\s*[x×]\s*\d+"]),
    _kind("annotation", "how the data were labelled",
          [r"annotat", r"label"],
          [r"annotat", r"labell?(?:ed|ing|er)", r"(?:labels?|ground[- ]?truth)\b[^.]{0,60}\b(?:by (?:hand|experts?|"
           r"volunteers?|specialists?)|manual|assigned|provided|prepared|created|made|drawn|obtained|generated|"
           r"derived|collected|surveyed|digiti[sz]ed|delineated)", r"(?:manual(?:ly)?|expert|human|field|visual)\w* "
           r"(?:\w+ ){0,2}(?:labels?|ground[- ]?truth|masks?|interpretation|identification)",
           r"bounding box", r"delineat", r"digiti[sz]", r"tagged", r"crowd-?sourc", r"mechanical turk"]),
    _kind("augmentation", "data augmentation",
          [r"augment"],
          [r"flip", r"mirror", r"jitter", r"mixup", r"cutout", r"cutmix", r"elastic",
           r"deformations?\b", r"time[- ]stretch", r"pitch[- ]shift", r"specaugment",
           r"random(?:ly)? (?:\w+ )?(?:crop|rotat|scal|shift|translat|zoom|noise|"
           r"brightness|contrast|erasing|resiz|transform)",
           r"(?:crop|rotat|scal|shift|translat|zoom|nois|brightness|contrast)\w* (?:\w+ ){0,3}(?:randomly|at random)"],
          own=[r"augment"]),
    _kind("preprocessing", "a preprocessing step",
          [r"pre-?process", r"clean", r"prepar(?:e|ation) (?:of )?(?:the )?data"],
          # Batch normalization is a layer of the network, not a step applied to the data.
          [r"(?<!batch )(?<!batch-)normali[sz]", r"standardi[sz]", r"rescal", r"resiz", r"crop", r"patch",
           r"tiles?\b", r"tiling", r"filter", r"denois", r"spectrogram", r"pre-?process", r"pre-?comput",
           r"bands?\b", r"mean subtract",
           r"whiten", r"down-?sampl", r"re-?sampl", r"clean", r"remov", r"extract", r"convert", r"weight maps?",
           r"segment", r"tokeni[sz]", r"lower-?cas", r"align", r"register", r"orthorectif", r"interpolat",
           r"smooth", r"clip", r"scaled", r"encod", r"cubes?\b", r"windows?\b"]),
    _kind("dataset", "a dataset",
          [r"data ?sets?\b", r"databases?\b", r"corpus", r"corpora", r"benchmarks?\b", r"training data",
           # "What data augmentation" asks for augmentation, not for data.
           r"(?:what|which) data\b(?!\s+(?:augment|format|split|partition|pre-?process|annotat|label|clean|bias))",
           r"data (?:were|was) used"],
          [r"data ?sets?\b", r"databases?\b", r"benchmarks?\b", r"corpus", r"corpora", r"challenge", r"collection",
           r"archive",
           r"(?:\d[\d,.]*|two|three|four|five|six|seven|eight|nine|ten|twelve|dozens|hundreds|thousands)\s*"
           r"(?:k\b|m\b|million|thousand)?\s*(?:\w+\s+){0,2}(?:images|photos|recordings|samples|pixels|scenes|clips|"
           r"examples|sentences|documents|papers|tokens|records|observations|instances|patients|cases|logs|queries|"
           r"pairs)",
           # This paper's own data, described rather than named: "we used time-lapse photos of ...".
           r"(?:we|were|was)\s+(?:\w+\s+)?(?:used?|collected|acquired|obtained|selected|took|taken|recorded|gathered)\b"
           r"[^.]{0,40}\b(?:images|photos|photographs|recordings|scans|videos|observations|samples|records)\b"]),
    _kind("split", "how the data were split",
          [r"split", r"partition", r"train(?:ing)?[/ ,]+(?:test|validation)", r"validation scheme", r"folds?\b",
           r"cross-?validation", r"held-?out"],
          [r"train(?:ing)? (?:set|split|data|images|samples|pixels|portion|partition)\w*\b[^.]{0,120}\b"
           r"(?:test|validation|evaluation|held-?out)",
           r"(?:test|validation|evaluation|held-?out)\w*\b[^.]{0,120}\btrain(?:ing)? (?:set|split|data|images|"
           r"samples|pixels|portion|partition)",
           r"test(?:ing)? (?:set|split)", r"validation (?:set|split)",
           r"dev(?:elopment)? set", r"split", r"folds?\b", r"cross-?validation", r"held-?out", r"\d+\s*%",
           r"partition", r"used (?:as|for) (?:the )?(?:training|test|testing|validation)", r"\d+/\d+(?:/\d+)?\b"]),
    _kind("architecture", "the kind of model",
          [r"type of (?:deep learning )?model", r"kind of (?:deep learning )?model", r"architectures?\b",
           r"which (?:deep learning )?models?\b", r"what (?:deep learning )?models?\b", r"networks?\b",
           r"base model", r"built on"],
          [r"cnns?\b", r"convolutional", r"recurrent", r"rnns?\b", r"lstms?\b", r"grus?\b", r"transformers?\b",
           r"auto-?encoders?", r"resnet", r"u-?net", r"vgg", r"inception", r"yolo", r"networks?\b", r"layers\b",
           r"perceptron", r"mlps?\b", r"attention", r"bert", r"gans?\b", r"efficientnet", r"densenet", r"mobilenet",
           r"vision transformer", r"\bvit\b", r"random forest", r"svms?\b", r"support vector", r"gpt", r"llama",
           r"qwen", r"language models?", r"encoders?\b", r"decoders?\b"]),
    _kind("hyperparameter", "the value of a training setting",
          [r"hyper-?parameters?", r"learning rate", r"batch size", r"epochs?\b", r"momentum", r"weight decay",
           r"dropout rate", r"(?:training|optimi[sz]er|model) settings", r"configuration"],
          [r"learning rates?", r"batch(?:es)? (?:size|of)", r"mini-?batch", r"epochs?\b", r"iterations?\b",
           r"momentum", r"weight decay", r"drop-?out", r"decay", r"kernel size", r"filters?\b",
           r"hidden (?:units|size)", r"neurons", r"units\b", r"layers\b", r"optimi[sz]er", r"\badam", r"\bsgd\b",
           r"warm-?up", r"steps\b", r"lambda", r"λ", r"α", r"β", r"γ", r"temperature", r"patch size", r"input size",
           r"tiles?\b", r"sequence length", r"context length", r"embedding (?:size|dimension)", r"\blr\b",
           r"set to"],
          needs_number=True),
    _kind("tuning", "how hyperparameters were chosen",
          [r"hyper-?parameters?[^?]{0,30}\b(?:optimi[sz]|tun|select|chos|search)", r"(?:grid|random) search",
           r"tuned", r"tuning"],
          [r"grid search", r"random search", r"bayesian optimi[sz]ation",
           r"hyper-?parameter (?:search|tuning|optimi[sz]ation|sweep)", r"(?<!fine-)(?<!fine )tuned",
           r"(?<!fine-)(?<!fine )tuning", r"optuna", r"hyperopt", r"ray tune", r"sweep",
           r"(?:chosen|selected|determined|optimi[sz]ed) (?:by|on|using|with|via|"
           r"through) (?:the )?(?:validation|cross|grid|random|a search|search|experiment)",
           r"best (?:performing )?(?:value|setting|configuration)s? (?:on|for) the validation"]),
    _kind("optimizer", "the optimisation algorithm",
          [r"optimi[sz]ers?\b", r"optimi[sz]ation (?:techniques?|algorithms?|methods?)", r"training algorithm",
           r"\bsgd\b", r"\badam\b"],
          [r"\bsgd\b", r"stochastic gradient", r"gradient descent", r"\badam\w*", r"rmsprop", r"adagrad",
           r"adadelta", r"nadam", r"l-?bfgs", r"momentum", r"back-?propagation", r"optimi[sz]er", r"lamb\b",
           r"lars\b"]),
    _kind("stopping", "when training stopped",
          [r"training (?:is|was) complete", r"stop(?:ped|ping)? training", r"when training", r"early stopping",
           r"criteria[^?]{0,40}\bcomplete", r"how long (?:was|were|is)[^?]{0,30}train", r"convergence"],
          [r"epochs?\b", r"iterations?\b", r"early stopping", r"converge", r"patience", r"plateau", r"stopped",
           r"stop training", r"terminated", r"until", r"steps\b"]),
    _kind("regularization", "a regularisation method",
          [r"regulari[sz]", r"overfitting", r"over-fitting"],
          [r"drop-?out", r"weight decay", r"\bl[12]\b", r"regulari[sz]", r"batch normali[sz]ation",
           r"early stopping", r"overfitting", r"over-fitting", r"label smoothing", r"penalt"]),
    _kind("monitoring", "how training was monitored",
          [r"monitor"],
          [r"validation (?:loss|accuracy|error|set|curve|performance|score)", r"learning curves?", r"tensorboard",
           r"checkpoints?", r"monitor", r"(?:each|every|per|after) epoch", r"training curves?", r"loss curves?",
           r"wandb", r"weights (?:and|&) biases", r"logged"]),
    _kind("framework", "a software framework",
          [r"frameworks?\b", r"librar(?:y|ies)", r"toolkits?\b", r"software", r"programming language",
           r"implemented (?:in|with)", r"tools?\b"],
          [r"tensorflow", r"keras", r"pytorch", r"torch\b", r"caffe", r"theano", r"mxnet", r"\bjax\b", r"flax",
           r"scikit-?learn", r"sklearn", r"matlab", r"fastai", r"darknet", r"paddle", r"chainer", r"lasagne",
           r"cntk", r"detectron", r"mmdetection", r"hugging ?face", r"transformers library", r"opencv",
           r"\br package", r"python", r"\br\b (?:software|language|package)", r"java\b", r"c\+\+", r"deepspeed",
           r"megatron", r"lightning", r"xgboost", r"lightgbm", r"weka", r"gdal", r"numpy", r"scipy", r"grobid",
           r"spacy", r"nltk", r"thundersvm", r"librosa"]),
    _kind("hardware", "the hardware used",
          [r"hardware", r"gpus?\b", r"cpus?\b", r"tpus?\b", r"machines?\b",
           r"comput(?:e|ing) (?:resources|infrastructure)", r"on what", r"cluster"],
          [r"gpus?\b", r"cpus?\b", r"tpus?\b", r"nvidia", r"tesla", r"geforce", r"gtx", r"rtx", r"titan", r"quadro",
           r"[avh]100", r"[pkt]\d0\b", r"xeon", r"intel", r"\bamd\b", r"\d+\s*gb\b", r"\bram\b", r"cluster",
           r"workstation", r"graphics? cards?", r"cuda", r"supercomputer", r"cores\b", r"apple m\d", r"nodes\b",
           r"gpu[- ]hours"]),
    _kind("postprocessing", "a post-processing step",
          [r"post-?process", r"after (?:the )?(?:model )?training"],
          [r"threshold", r"averag", r"ensembl", r"smooth", r"\bcrf\b", r"conditional random field", r"morpholog",
           r"saliency", r"grad-?cam", r"confusion matri", r"post-?process", r"test-?time", r"majority vot",
           r"non-?maximum suppression", r"classification maps?", r"probability maps?", r"merg", r"filter",
           r"calibrat", r"visuali[sz]", r"interpret"]),
    _kind("metric", "an evaluation metric",
          [r"metrics?\b", r"evaluat", r"measures?\b", r"scores?\b", r"performance"],
          [r"accuracy", r"precision", r"recall", r"\bf1", r"f-?(?:score|measure)", r"kappa", r"\biou\b",
           r"intersection over union", r"dice", r"\bmap\b", r"average precision", r"\bauc\b", r"\broc\b", r"rmse",
           r"\bmae\b", r"\bmse\b", r"error", r"\br2\b", r"r²", r"specificity", r"sensitivity", r"bleu", r"rouge",
           r"meteor", r"perplexity", r"correlation", r"top-\d", r"recall@", r"\bem\b", r"exact match", r"loss\b"]),
    _kind("generalisation", "a test of generalisation",
          [r"generali[sz]", r"robust"],
          [r"cross-?validation", r"independent", r"external", r"unseen",
           r"different (?:data ?sets|datasets|sites|regions|years|tasks|domains|locations|conditions)",
           r"(?:two|three|four|five|several|multiple|various) (?:\w+ ){0,2}(?:data ?sets|"
           r"datasets|benchmarks|tasks|sites|regions|domains)",
           r"transfer", r"generali[sz]", r"diverse", r"robust", r"held-?out", r"out-of-distribution", r"test set"]),
    _kind("randomness", "how randomness was handled",
          [r"random"],
          [r"seeds?\b", r"random initiali[sz]ation",
           r"(?:repeated|repeatedly|run|trained|performed|implemented|conducted)\b[^.]{0,40}\b\d+ "
           r"(?:times|runs|trials)",
           r"(?:experiments?|training|runs?|trials?)\b[^.]{0,30}\brepeated", r"repeated (?:\w+ ){0,2}(?:experiments?|"
           r"training|runs?|trials?)",
           r"\d+ (?:runs|trials|repetitions)",
           r"(?:independent|different|multiple|several|five|ten|three) (?:random )?(?:runs|trials|seeds|repetitions)",
           r"mean and standard deviation", r"±", r"averaged over \d+ (?:\w+ )?(?:runs|trials|seeds|repetitions|"
           r"experiments|folds|splits)", r"deterministic"]),
    _kind("purpose", "the task of the model",
          [r"purpose", r"task", r"what (?:is|was) the (?:deep learning )?model (?:used )?for", r"aim"],
          [r"classif", r"segment", r"detect", r"regress", r"predict", r"recogni", r"count", r"track", r"estimat",
           r"identif", r"locali[sz]", r"mapping", r"generat", r"retriev", r"forecast", r"translat", r"summari[sz]"]),
    _kind("imbalance", "how imbalance or bias was handled",
          [r"bias", r"imbalanc"],
          [r"imbalanc", r"balanc", r"over-?sampl", r"under-?sampl", r"class weights?", r"weighted (?:loss|cross)",
           r"stratif", r"frequenc", r"minority", r"rare class", r"\bbias", r"smote", r"focal loss", r"re-?weight"]),
    _kind("deployment", "how the model was deployed",
          [r"deploy"],
          [r"deploy", r"serializ", r"onnx", r"tflite", r"tensorflow lite", r"torchscript", r"mobile app",
           r"smartphone", r"web (?:service|application|app|interface|server)", r"\bapi\b", r"raspberry", r"jetson",
           r"edge device", r"embedded", r"in production", r"docker", r"exported"]),
    _kind("platform", "the platform it runs on",
          [r"platform"],
          [r"\baws\b", r"amazon web services", r"azure", r"google cloud", r"\bgcp\b", r"cloud", r"heroku",
           r"android", r"\bios\b", r"raspberry", r"jetson", r"smartphone", r"web server", r"deployed (?:on|to|in)",
           r"colab"]),
]}


def kinds_asked(question: str) -> tuple[str, ...]:
    """The kinds of fact a question asks for, read from its wording (a question may name none)."""
    text = question_for_matching(question)
    return tuple(name for name, kind in KINDS.items() if kind.asks.search(text))


def stated(kinds: Iterable[str], text: str) -> set[str]:
    """Which of ``kinds`` the text states (read with ligatures expanded and lines unwrapped)."""
    text = _CITATIONS.sub(" ", display(text))  # "[7, 3]" is no figure
    return {k for k in kinds if k in KINDS and KINDS[k].stated_in(text)}


def named(kinds: Iterable[str], text: str) -> frozenset[str]:
    """The distinct facts of ``kinds`` the text names ("random gain, noise and pitch shift":
    three augmentations), as their patterns find them, casefolded and without a plural's
    "s" ("spectrograms" names what "spectrogram" does)."""
    text = _CITATIONS.sub(" ", display(text))
    return frozenset(m.group().casefold().removesuffix("s") for k in kinds if k in KINDS
                     for m in KINDS[k].states.finditer(text))


def describe(kinds: Iterable[str]) -> str:
    """The kinds for people: "a hardware model or a software framework"."""
    labels = [KINDS[k].label for k in kinds if k in KINDS]
    return " or ".join(labels)
