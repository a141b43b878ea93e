"""Our stdlib BLEU and ROUGE-L give what sacreBLEU and Google's rouge_score give."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

from pipelines.scripts.text_metrics import bleu, bleu_tokens, rouge_l

WORDS = st.sampled_from(["the", "cat", "sat", "on", "mat", "a", "dog", "Red", "red", ",", ".", "is", "42"])
SENTENCES = st.lists(WORDS, min_size=0, max_size=12).map(" ".join)
PAIRS = st.lists(st.tuples(SENTENCES, SENTENCES), min_size=1, max_size=6)


def reference_bleu(hypotheses: list[str], references: list[str]) -> float:
    pretokenized = [" ".join(bleu_tokens(text)) for text in hypotheses]
    targets = [[" ".join(bleu_tokens(text)) for text in references]]
    return BLEU(tokenize="none", smooth_method="exp").corpus_score(pretokenized, targets).score / 100


def reference_rouge_l(hypotheses: list[str], references: list[str]) -> float:
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    scores = [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hypotheses, references, strict=True)]
    return sum(scores) / len(scores)


@settings(max_examples=200, deadline=None)
@given(PAIRS)
def test_bleu_matches_sacrebleu(pairs: list[tuple[str, str]]) -> None:
    hypotheses, references = [h for h, _ in pairs], [r for _, r in pairs]
    assert bleu(hypotheses, references) == pytest.approx(reference_bleu(hypotheses, references), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(PAIRS)
def test_rouge_l_matches_rouge_score(pairs: list[tuple[str, str]]) -> None:
    hypotheses, references = [h for h, _ in pairs], [r for _, r in pairs]
    assert rouge_l(hypotheses, references) == pytest.approx(reference_rouge_l(hypotheses, references), abs=1e-9)


def test_known_values() -> None:
    assert bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(1.0)
    assert rouge_l(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(1.0)
    assert rouge_l(["cat the"], ["the cat"]) == pytest.approx(0.5)
    assert bleu(["dog"], ["the cat sat"]) == 0.0


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        rouge_l(["a", "b"], ["a"])
