"""QK-score heads and the CLUE verifier on a multiple-choice exam (MMLU), from one stored forward
pass per question.

Each question is the ``mcqa`` protocol's letter prompt (options on separate lines, "Answer:" as
the assistant's prefill: the same prompt letter scoring reads), asked as one
:class:`~jurybox.types.InternalsRequest` with

* marks at the question's end and at each option line's last token, ``qk=True``: the QK-score of
  every head for every option;
* ``options`` = the letters: the next-token letter distribution of the same pass (letter scoring,
  as :meth:`TransformersBackend.option_logprobs` reads it);
* ``continuations`` = " A", " B", ...: the model's possible one-token answers, each from the cached
  prompt, with ``hidden=True``: every layer's hidden state where the answer starts (the prompt's
  last token) and where it ends (the letter), CLUE's delta.

The questions are split once (seeded) into a validation part (head selection, CLUE's experience)
and a test part (every reported accuracy). The model's sampled answers are one letter long, so
their distribution is the letter distribution itself: instead of generating k answers per
question, every letter is enumerated once (4 candidates, one pass) and the k samples are drawn from
the letter probabilities afterwards, many times, at no model cost (:func:`sampled_vote_accuracy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurybox.backends.base import Backend
from jurybox.engine import RunStats
from jurybox.errors import JuryboxError
from jurybox.internals import clue, qk
from jurybox.internals.runner import Features, run_internals
from jurybox.mcqa.data import McqaData
from jurybox.mcqa.protocol import LETTERS, MultipleChoice
from jurybox.stats import Interval, bootstrap_ci, wilson_interval
from jurybox.store import Store
from jurybox.types import InternalsRequest, OptionsRequest, Record

__all__ = ["ExamFeatures", "ExamReport", "exam_features", "exam_requests", "exam_report", "sampled_vote_accuracy",
           "split"]


def exam_requests(data: McqaData) -> list[InternalsRequest]:
    """One internals request per question (see the module docstring). Its marks are, in the
    order they appear in the prompt: the question's end, then for each option its letter
    (``"\nA."``) and its line's last token (the option text after the letter): both choices of
    an option's representative token from one pass."""
    proto = MultipleChoice(scoring="letter")
    out = []
    for it in data.items:
        ((_, req),) = proto.requests(it)
        assert isinstance(req, OptionsRequest)
        choices = [str(c) for c in it["choices"]]
        letters = LETTERS[:len(choices)]
        marks: list[str] = [str(it["question"]).strip()]
        for L, c in zip(letters, choices, strict=True):
            marks += [f"\n{L}.", " " + c.strip()]
        out.append(InternalsRequest(req.prompt, continuations=tuple(" " + L for L in letters), marks=tuple(marks),
                                    hidden=True, qk=True, options=letters))
    return out


@dataclass
class ExamFeatures(Record):
    """Arrays over the questions (all with the same number of options): ``qk`` [questions, layers,
    heads, options] (keys at the option line's last token; ``qk_letter`` at its letter),
    ``letter_logprobs`` [questions, options] (normalised over the letters),
    ``deltas`` [questions, options, layers, width] (hidden state at the answer letter minus at the
    prompt's end, layers 1..L: the embeddings are left out), ``answers`` [questions]."""

    qk: np.ndarray
    letter_logprobs: np.ndarray
    deltas: np.ndarray
    answers: np.ndarray
    subjects: list[str]
    prompt_tokens: np.ndarray
    qk_letter: np.ndarray | None = None


def exam_features(data: McqaData, backend: Backend, store: Store, *,
                  progress: bool = False) -> tuple[ExamFeatures, RunStats]:
    """The features of every question (computed once; a rerun reads them from the store)."""
    if any(a is None for a in data.answers):
        row = next(i for i, a in enumerate(data.answers) if a is None)
        raise JuryboxError(f"question {row + 1} has no answer key; QK head selection and CLUE need keyed questions")
    n_opts = {len(it["choices"]) for it in data.items}
    if len(n_opts) != 1:
        raise JuryboxError(f"every question needs the same number of options; got {sorted(n_opts)}")
    feats, stats = run_internals(backend, store, exam_requests(data), purpose="exam", progress=progress)
    return stack(feats, [int(a) for a in data.answers if a is not None], data.subjects), stats


def stack(feats: Sequence[Features], answers: Sequence[int], subjects: Sequence[str]) -> ExamFeatures:
    """Stack per-question :class:`Features` into :class:`ExamFeatures`."""
    qks, qls, lps, ds = [], [], [], []
    for f in feats:
        qks.append(f.arrays["qk"][:, :, 2::2])  # mark 0 is the question's end, then letter, line end per option
        qls.append(f.arrays["qk"][:, :, 1::2])
        raw = np.array([f.option_logprobs[L] for L in LETTERS[:qks[-1].shape[-1]]])
        lps.append(raw - np.logaddexp.reduce(raw))
        start = f.arrays["hidden_prompt"][1:, 0, :]  # [L, D]
        end = f.arrays["hidden_end"][1:]  # [L, C, D]
        ds.append(np.transpose(end - start[:, None, :], (1, 0, 2)))
    return ExamFeatures(qk=np.stack(qks), letter_logprobs=np.stack(lps), deltas=np.stack(ds).astype(np.float32),
                        answers=np.asarray(answers, dtype=np.int64), subjects=list(subjects),
                        prompt_tokens=np.array([f.n_prompt_tokens for f in feats]), qk_letter=np.stack(qls))


def split(n: int, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the validation and test questions (a seeded permutation, each part sorted)."""
    if not 0 < val_fraction < 1:
        raise JuryboxError(f"val_fraction must be between 0 and 1; got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(n * val_fraction))
    if k < 1 or k >= n:
        raise JuryboxError(f"{n} questions cannot be split {val_fraction:.2f} / {1 - val_fraction:.2f}")
    return np.sort(perm[:k]), np.sort(perm[k:])


def _auroc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, s))


def _acc(hit: np.ndarray) -> Interval:
    return wilson_interval(int(np.sum(hit)), int(len(hit)))


def sampled_vote_accuracy(probs: np.ndarray, answers: np.ndarray, dist_succ: np.ndarray, k: int, top: Sequence[int],
                          *, draws: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Per question, the expected accuracy of majority@k and of CLUE's top-maj@m (m in ``top``)
    over ``draws`` sets of k answers sampled from the letter probabilities ``probs`` [questions,
    options]; ``dist_succ`` [questions, options] is each letter's distance to V_succ. Returns
    ``{"majority": [questions], "top-maj@m": [questions], ...}``."""
    rng = np.random.default_rng(seed)
    n, n_opt = probs.shape
    out: dict[str, np.ndarray] = {"majority": np.zeros(n)} | {f"top-maj@{m}": np.zeros(n) for m in top}
    for q in range(n):
        p = probs[q] / probs[q].sum()
        for _ in range(draws):
            picks = rng.choice(n_opt, size=k, p=p)
            out["majority"][q] += clue.majority(list(picks)) == answers[q]
            for m in top:
                out[f"top-maj@{m}"][q] += clue.top_maj(list(picks), dist_succ[q, picks], m) == answers[q]
    return {name: v / draws for name, v in out.items()}


@dataclass
class ExamReport(Record):
    n_val: int
    n_test: int
    letter: Interval
    qk: dict[str, Any] = field(default_factory=dict)
    clue: dict[str, Any] = field(default_factory=dict)
    layer_best_head_val: list[float] = field(default_factory=list)


def _paired_diff(a: np.ndarray, b: np.ndarray) -> Interval:
    return bootstrap_ci(lambda x, y: float(np.mean(x) - np.mean(y)), a.astype(float), b.astype(float))


def exam_report(f: ExamFeatures, *, val_fraction: float = 0.3, seed: int = 0, heads: Sequence[int] = (1, 3, 10),
                k: int = 8, top: Sequence[int] = (1, 2, 4), draws: int = 200) -> ExamReport:
    """QK-score against letter scoring, and CLUE against the letter probability, on the test part
    (pure: arrays in, numbers out)."""
    val, test = split(len(f.answers), val_fraction, seed)
    y = f.answers
    letter_pred = np.argmax(f.letter_logprobs, axis=1)
    letter_hit = letter_pred[test] == y[test]
    rep = ExamReport(n_val=len(val), n_test=len(test), letter=_acc(letter_hit))
    acc_val = qk.head_accuracy(f.qk[val], y[val])
    rep.layer_best_head_val = [float(x) for x in acc_val.max(axis=1)]
    for rule in ("validation", "label-free"):
        for n_heads in heads:
            sel = (qk.select_heads(f.qk[val], y[val], n_heads) if rule == "validation"
                   else qk.select_heads_label_free(f.qk[val], letter_pred[val], n_heads))
            hit = qk.predict(f.qk[test], sel) == y[test]
            rep.qk[f"{rule} top-{n_heads}"] = {
                "heads": [list(h) for h in sel.heads[:10]], "selection_accuracy": sel.accuracy[:10],
                "test": _acc(hit).to_dict(), "minus_letter": _paired_diff(hit, letter_hit).to_dict()}
    if f.qk_letter is not None:
        for n_heads in heads:
            sel = qk.select_heads(f.qk_letter[val], y[val], n_heads)
            hit = qk.predict(f.qk_letter[test], sel) == y[test]
            rep.qk[f"letter-token keys, validation top-{n_heads}"] = {
                "heads": [list(h) for h in sel.heads[:10]], "selection_accuracy": sel.accuracy[:10],
                "test": _acc(hit).to_dict(), "minus_letter": _paired_diff(hit, letter_hit).to_dict()}
    # CLUE: experience = the validation questions' candidates, verified by the key
    d_val = f.deltas[val].reshape(-1, *f.deltas.shape[2:])
    correct_val = (np.arange(f.deltas.shape[1])[None, :] == y[val][:, None]).reshape(-1)
    cents = clue.centroids(d_val, correct_val)
    n_test, n_opt = len(test), f.deltas.shape[1]
    d_test = f.deltas[test].reshape(-1, *f.deltas.shape[2:])
    score = clue.correctness_score(d_test, cents).reshape(n_test, n_opt)
    dist_succ = clue.distance(d_test, cents.succ).reshape(n_test, n_opt)
    probs = np.exp(f.letter_logprobs[test])
    is_right = np.arange(n_opt)[None, :] == y[test][:, None]
    greedy = letter_pred[test]
    g_right = greedy == y[test]
    g_clue = score[np.arange(n_test), greedy]
    g_conf = probs[np.arange(n_test), greedy]
    rep.clue["experience"] = {"questions": len(val), "correct": cents.n_succ, "incorrect": cents.n_fail}
    rep.clue["auroc_greedy"] = {
        "clue": bootstrap_ci(_auroc, g_right, g_clue).to_dict(),
        "letter_probability": bootstrap_ci(_auroc, g_right, g_conf).to_dict(),
        "n": int(n_test), "n_correct": int(g_right.sum())}
    cand_y, cand_clue, cand_p = is_right.ravel(), score.ravel(), probs.ravel()
    groups = np.repeat(np.arange(n_test), n_opt)
    rep.clue["auroc_candidates"] = {
        "clue": bootstrap_ci(_auroc, cand_y, cand_clue, groups=groups).to_dict(),
        "letter_probability": bootstrap_ci(_auroc, cand_y, cand_p, groups=groups).to_dict(),
        "n": int(cand_y.size)}
    cls = clue.classify(d_test, cents)
    rep.clue["classification"] = {
        "accuracy_greedy": _acc(cls.reshape(n_test, n_opt)[np.arange(n_test), greedy] == g_right).to_dict(),
        "balanced_accuracy_candidates": float((cls[cand_y].mean() + (~cls[~cand_y]).mean()) / 2)}
    rep.clue["rerank_top1"] = _acc(np.argmin(dist_succ, axis=1) == y[test]).to_dict()
    votes = sampled_vote_accuracy(probs, y[test], dist_succ, k, top, draws=draws, seed=seed)
    rep.clue["votes"] = {"k": k, "draws": draws, **{
        name: bootstrap_ci(np.mean, v).to_dict() for name, v in votes.items()}}
    for m in top:
        rep.clue["votes"][f"top-maj@{m} minus majority"] = _paired_diff(votes[f"top-maj@{m}"], votes["majority"]).to_dict()
    return rep
