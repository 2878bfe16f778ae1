"""Intent recognition: which skill a free-text question asks for.

A linear classifier over TF-IDF features, trained at first use from the
phrasings in intents.json (150 of them, a few milliseconds). Two kinds of
features: character n-grams within words (2 to 5 characters), which forgive
typos and inflections ("summarize", "summarise", "sumary"), and word
unigrams and bigrams, which catch phrasing ("remind me", "did I miss").
Logistic regression gives a probability, so that the caller can tell a
guess from a confident answer.

scikit-learn, not our own code: its TF-IDF and logistic regression are the
reference implementations, tested and maintained, and a hand-written naive
Bayes would be our code to keep right for a worse result. A pretrained
language model would need a download, which the assistant must not do.
"""
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TRAINING = Path(__file__).with_name("intents.json")
INTENTS = ("help", "summary", "find", "remind", "smalltalk")


@dataclass(frozen=True)
class Intent:
    name: str
    confidence: float


def load(path: Path = TRAINING) -> dict[str, list[str]]:
    """Return {intent: phrasings} from a JSON file of that shape (keys starting with "_" are notes)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: phrasings for name, phrasings in data.items() if not name.startswith("_")}


def build():
    """Return an untrained pipeline (a new one each time, for cross-validation)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True, sublinear_tf=True)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=True, sublinear_tf=True,
                                  token_pattern=r"(?u)\b\w+\b")),
    ])
    return make_pipeline(features, LogisticRegression(C=20, max_iter=2000))


def train(examples: dict[str, list[str]]):
    from threadpoolctl import threadpool_limits

    texts = [text for name in examples for text in examples[name]]
    labels = [name for name in examples for _ in examples[name]]
    # One BLAS thread: the problem is tiny, and on a busy machine OpenBLAS's
    # threads made the 30 ms fit take 1 to 2 s waiting for each other.
    with threadpool_limits(1):
        return build().fit(texts, labels)


@cache
def model():
    """Return the classifier trained on the shipped phrasings (trained once per process)."""
    return train(load())


def classify(text: str) -> Intent:
    """Return the most likely intent of `text` and the classifier's probability for it."""
    classifier = model()
    probabilities = classifier.predict_proba([text])[0]
    best = probabilities.argmax()
    return Intent(str(classifier.classes_[best]), float(probabilities[best]))
