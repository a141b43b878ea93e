"""Reference-based text metrics of the evaluation job, in the standard library.

The evaluation job runs with network isolation in a stock container, so these cannot be
installed at run time. Each matches its reference implementation (tests compare them):
``bleu`` is sacreBLEU's corpus BLEU-4 with exponential smoothing over pre-tokenized text,
``rouge_l`` is the mean ROUGE-L F-measure of Google's ``rouge_score`` without stemming.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

BLEU_ORDER = 4


def bleu_tokens(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text)


def rouge_tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _ngrams(tokens: Sequence[str], order: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[index : index + order]) for index in range(len(tokens) - order + 1))


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU in [0, 1]: one reference per hypothesis."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    matches, totals = [0] * BLEU_ORDER, [0] * BLEU_ORDER
    hypothesis_length = reference_length = 0
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        hypothesis_tokens, reference_tokens = bleu_tokens(hypothesis), bleu_tokens(reference)
        hypothesis_length += len(hypothesis_tokens)
        reference_length += len(reference_tokens)
        for order in range(1, BLEU_ORDER + 1):
            hypothesis_ngrams = _ngrams(hypothesis_tokens, order)
            matches[order - 1] += sum((hypothesis_ngrams & _ngrams(reference_tokens, order)).values())
            totals[order - 1] += max(len(hypothesis_tokens) - order + 1, 0)
    if hypothesis_length == 0 or 0 in totals or not any(matches):
        return 0.0
    log_precision, smoothing = 0.0, 1.0
    for matched, total in zip(matches, totals, strict=True):
        if matched == 0:
            smoothing *= 2
            log_precision += math.log(1 / (smoothing * total))
        else:
            log_precision += math.log(matched / total)
    brevity = 1.0 if hypothesis_length >= reference_length else math.exp(1 - reference_length / hypothesis_length)
    return brevity * math.exp(log_precision / BLEU_ORDER)


def _lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    previous = [0] * (len(second) + 1)
    for item in first:
        current = [0]
        for index, other in enumerate(second):
            current.append(previous[index] + 1 if item == other else max(previous[index + 1], current[index]))
        previous = current
    return previous[-1]


def rouge_l(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure in [0, 1]."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        return 0.0
    scores = []
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        hypothesis_tokens, reference_tokens = rouge_tokens(hypothesis), rouge_tokens(reference)
        common = _lcs_length(reference_tokens, hypothesis_tokens)
        if not common:
            scores.append(0.0)
            continue
        precision, recall = common / len(hypothesis_tokens), common / len(reference_tokens)
        scores.append(2 * precision * recall / (precision + recall))
    return sum(scores) / len(scores)
