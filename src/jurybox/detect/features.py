"""Features of a group of judgments: the scores' distribution, the candidates' properties, and how
the scores follow those properties (J-Detector's F_base, F_linguistic and F_LLM).

Pure functions over arrays. A group is ``g`` judgments by one judge (``idx``: an ``(n_groups, g)``
matrix of row numbers into the judgment arrays); :class:`GroupFeaturizer` is fitted on the
training rows (the score levels, the global means and spreads it standardises with) and then turns
any groups into one feature row each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: feature families, for ablation: the scores alone; the candidates' properties alone; how the
#: scores follow the properties
FAMILIES = ("scores", "properties", "interactions")

_WORD = re.compile(r"[A-Za-z0-9']+")
_SENTENCE = re.compile(r"[.!?]+")
_VOWELS = re.compile(r"[aeiouy]+")

TEXT_PROPERTIES = ("log_words", "flesch_reading_ease", "type_token_ratio", "mean_word_length")


def _syllables(word: str) -> int:
    w = word.lower()
    n = len(_VOWELS.findall(w))
    if w.endswith("e") and n > 1 and not w.endswith("le"):
        n -= 1
    return max(n, 1)


def text_properties(texts: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Simple linguistic properties of each text: log(1 + words), Flesch reading ease
    (206.835 - 1.015 words/sentence - 84.6 syllables/word, syllables counted by vowel groups),
    type-token ratio (distinct lower-cased words / words) and mean word length in characters.
    An empty text gives 0 words, reading ease and ratio NaN (left to the featuriser's imputation)."""
    out = np.full((len(texts), len(TEXT_PROPERTIES)), np.nan)
    for i, t in enumerate(texts):
        words = _WORD.findall(t or "")
        out[i, 0] = np.log1p(len(words))
        if not words:
            continue
        sentences = max(len([s for s in _SENTENCE.split(t) if s.strip()]), 1)
        syl = sum(_syllables(w) for w in words)
        out[i, 1] = 206.835 - 1.015 * len(words) / sentences - 84.6 * syl / len(words)
        out[i, 2] = len({w.lower() for w in words}) / len(words)
        out[i, 3] = float(np.mean([len(w) for w in words]))
    return out, TEXT_PROPERTIES


@dataclass
class GroupFeaturizer:
    """Turns groups of judgments into feature rows.

    ``levels``: the distinct score values seen in training when there are at most ``max_levels``
    of them (then the share of each level in a group is a feature), else none. Properties are
    standardised by the training mean and spread; a missing property (NaN, e.g. an unparsed LLM
    answer) is replaced by the training mean."""

    max_levels: int = 11
    levels: np.ndarray | None = None
    score_mean: float = 0.0
    score_sd: float = 1.0
    prop_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    prop_sd: np.ndarray = field(default_factory=lambda: np.ones(0))
    prop_names: tuple[str, ...] = ()

    def fit(self, scores: np.ndarray, properties: np.ndarray | None = None,
            prop_names: Sequence[str] = ()) -> GroupFeaturizer:
        s = np.asarray(scores, dtype=float)
        u = np.unique(s)
        self.levels = u if len(u) <= self.max_levels else None
        self.score_mean = float(s.mean())
        self.score_sd = float(s.std()) or 1.0
        if properties is not None and properties.shape[1]:
            self.prop_mean = np.nanmean(properties, axis=0)
            self.prop_mean = np.where(np.isnan(self.prop_mean), 0.0, self.prop_mean)
            sd = np.nanstd(properties, axis=0)
            self.prop_sd = np.where(~np.isfinite(sd) | (sd == 0), 1.0, sd)
            self.prop_names = tuple(prop_names) or tuple(f"p{j}" for j in range(properties.shape[1]))
        else:
            self.prop_mean, self.prop_sd, self.prop_names = np.zeros(0), np.ones(0), ()
        return self

    def names(self) -> tuple[list[str], list[str]]:
        """Feature names and the family of each."""
        names = ["score_mean", "score_sd", "score_min", "score_max", "score_median", "score_distinct_share"]
        fams = ["scores"] * len(names)
        if self.levels is not None:
            names += [f"share_score_{v:g}" for v in self.levels] + ["score_entropy"]
            fams += ["scores"] * (len(self.levels) + 1)
        for p in self.prop_names:
            names.append(f"{p}_mean")
            fams.append("properties")
        for p in self.prop_names:
            names += [f"score_x_{p}", f"score_minus_{p}_abs", f"score_{p}_corr"]
            fams += ["interactions"] * 3
        return names, fams

    def transform(self, idx: np.ndarray, scores: np.ndarray, properties: np.ndarray | None = None) -> np.ndarray:
        """One row per group: ``idx`` is ``(n_groups, g)`` row numbers into ``scores``/``properties``."""
        s = np.asarray(scores, dtype=float)[idx]  # (G, g)
        g = s.shape[1]
        cols = [s.mean(1), s.std(1), s.min(1), s.max(1), np.median(s, 1)]
        srt = np.sort(s, axis=1)
        distinct = 1 + (np.diff(srt, axis=1) != 0).sum(1) if g > 1 else np.ones(len(s))
        cols.append(distinct / g)
        if self.levels is not None:
            shares = np.stack([(s == v).mean(1) for v in self.levels], axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = -np.where(shares > 0, shares * np.log(shares), 0.0).sum(1)
            cols += list(shares.T) + [ent]
        if self.prop_names:
            if properties is None:
                raise ValueError("the featuriser was fitted with properties; transform needs them too")
            p = np.asarray(properties, dtype=float)[idx]  # (G, g, P)
            p = np.where(np.isnan(p), self.prop_mean, p)
            z = (p - self.prop_mean) / self.prop_sd
            zs = ((s - self.score_mean) / self.score_sd)[:, :, None]
            cols += list(z.mean(1).T)
            inter = (zs * z).mean(1)
            dist = np.abs(zs - z).mean(1)
            if g > 2:
                a = zs - zs.mean(1, keepdims=True)
                b = z - z.mean(1, keepdims=True)
                den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
                with np.errstate(divide="ignore", invalid="ignore"):
                    corr = np.where(den > 0, (a * b).sum(1) / den, 0.0)
            else:
                corr = np.zeros_like(inter)
            for j in range(len(self.prop_names)):
                cols += [inter[:, j], dist[:, j], corr[:, j]]
        return np.column_stack(cols).astype(float)
