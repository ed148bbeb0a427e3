"""The multiple-choice protocol (``mcqa``): one question with its options, answered three ways.

* ``scoring="letter"``: the options are listed with letters (A., B., ...) and the prompt ends at
  "Answer:"; one forward pass reads the next-token distribution over the letters (each letter's
  variants "A" and " A" summed), normalised over the letters.
* ``scoring="likelihood"``: the options are not listed; the prompt is "Question: ...\\nAnswer:"
  (lm-evaluation-harness's MMLU *continuation* format) and each option's text, after one space
  (the harness's ``target_delimiter``), is scored as a continuation: its summed log-likelihood
  and token count, one forward pass of the prompt reused for every option. Which option wins
  under which normalisation (``acc``, ``acc_norm``...) is decided afterwards by
  :mod:`jurybox.mcqa.metrics`, from the stored numbers, at no model cost.
* ``scoring="generate"``: for servers without logprobs; the model is asked to reply
  ``ANSWER: X`` and the reply is read strictly (:func:`parse_answer`): anything else is
  recorded as unparsed, never guessed.

``shuffle=K`` asks letter and generate scoring in K option orders: order 0 is the original, the
others are permutations drawn from a seed derived from the item's content, so they are the same
on every run (and their tasks come from the store). Each per-order verdict is mapped back to the
original options (its ``label`` is the original option's letter; ``extra["shown"]`` the letter
it had on screen). Few-shot examples (``item["examples"]``, taken from a dev split by the
runner) come first in the prompt, so items of one subject share their evaluated prefix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jurybox.errors import InputError
from jurybox.protocols.base import JudgeProtocol, mean_over_orders
from jurybox.protocols.registry import register_protocol
from jurybox.types import (
    BackendResult,
    ContinuationRequest,
    ContinuationScores,
    GenerateRequest,
    Message,
    OptionsRequest,
    Prompt,
    Request,
    Verdict,
    stable_hash,
)

__all__ = ["LETTERS", "SCORINGS", "MultipleChoice", "parse_answer", "permutation"]

LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
SCORINGS = ("letter", "likelihood", "generate")
UNCONDITIONAL = "unconditional"
_ANSWER = re.compile(r"ANSWER:\s*\(?([A-Z])\)?(?![A-Za-z])")


def parse_answer(text: str, n_options: int) -> str | None:
    """The letter in a reply of the form ``ANSWER: X`` (X one of the first ``n_options`` letters,
    optionally in parentheses, followed by anything that is not a letter). None when there is no
    such line, when the letter is out of range, or when the reply gives two different letters:
    the reply is then unparsed, never guessed."""
    hits = {m.group(1) for m in _ANSWER.finditer(text)}
    if len(hits) != 1:
        return None
    (letter,) = hits
    return letter if letter in LETTERS[:n_options] else None


def permutation(item: Mapping[str, Any], k: int, seed: int = 0) -> tuple[int, ...]:
    """Option order ``k`` of an item: the identity for k = 0, else a permutation drawn from a seed
    derived from the question, its options, k and ``seed`` (the same on every run)."""
    n = len(item["choices"])
    if k == 0:
        return tuple(range(n))
    h = stable_hash({"question": item["question"], "choices": list(item["choices"]), "k": k, "seed": seed})
    rng = np.random.default_rng(int(h[:15], 16))
    return tuple(int(i) for i in rng.permutation(n))


def _variant(k: int, perm: Sequence[int]) -> str:
    return f"p{k}:" + ",".join(map(str, perm))


def _perm_of(variant: str) -> tuple[int, ...]:
    return tuple(int(i) for i in variant.split(":", 1)[1].split(","))


def _choices(item: Mapping[str, Any]) -> list[str]:
    return [str(c) for c in item["choices"]]


@register_protocol
class MultipleChoice(JudgeProtocol):
    """Multiple-choice questions (see the module docstring). Fields: ``question``, ``choices`` (a
    list of 2 to 26 option texts), optional ``subject`` (named in the description) and
    ``examples`` (few-shot examples: dicts with ``question``, ``choices``, ``answer`` as a 0-based
    index)."""

    name = "mcqa"
    required = ("question", "choices")
    optional = ("subject", "examples")
    prefill = "Answer:"

    def __init__(
        self,
        *,
        criteria: str | None = None,
        template: str = "default",
        scoring: str = "letter",
        shuffle: int = 1,
        seed: int = 0,
        mutual_info: bool = False,
        max_tokens: int = 16,
    ) -> None:
        super().__init__(criteria=criteria, template=template)
        if scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
        if shuffle < 1:
            raise ValueError(f"shuffle must be at least 1 (1: the original order only), got {shuffle}")
        if shuffle > 1 and scoring == "likelihood":
            raise ValueError("shuffle applies to letter and generate scoring; likelihood scoring does not show the "
                             "options, so their order cannot change its answer")
        if mutual_info and scoring != "likelihood":
            raise ValueError("mutual_info applies to likelihood scoring only")
        self.scoring = scoring
        self.shuffle = int(shuffle)
        self.seed = int(seed)
        self.mutual_info = bool(mutual_info)
        self.max_tokens = int(max_tokens)

    def labels(self) -> tuple[str, ...]:
        return LETTERS

    def params(self) -> dict[str, Any]:
        p = {**super().params(), "scoring": self.scoring}
        if self.scoring == "generate":
            p["max_tokens"] = self.max_tokens
        return p  # shuffle and seed change the variants (their names), not the answer to one variant

    # -- prompts
    @property
    def style(self) -> str:
        return "continuation" if self.scoring == "likelihood" else ("generate" if self.scoring == "generate"
                                                                    else "letters")

    def description(self, subject: Any) -> str:
        what = "questions" if self.scoring == "likelihood" else "multiple choice questions"
        about = f" about {str(subject).replace('_', ' ')}" if subject else ""
        return f"The following are {what} (with answers){about}."

    def text(self, item: Mapping[str, Any], order: Sequence[int]) -> str:
        choices = _choices(item)
        examples = []
        for ex in item.get("examples") or ():
            ex_choices = [str(c) for c in ex["choices"]]
            answer = int(ex["answer"])
            examples.append({
                "question": str(ex["question"]).strip(),
                "options": [{"letter": LETTERS[i], "text": c} for i, c in enumerate(ex_choices)],
                "answer": ex_choices[answer] if self.scoring == "likelihood" else LETTERS[answer],
            })
        return self.render(
            style=self.style,
            description=self.description(item.get("subject")),
            examples=examples,
            question=str(item["question"]).strip(),
            options=[{"letter": LETTERS[j], "text": choices[i]} for j, i in enumerate(order)],
        )

    def check(self, item: Mapping[str, Any]) -> None:
        choices = item.get("choices")
        if not isinstance(choices, list | tuple) or not 2 <= len(choices) <= len(LETTERS):
            n = len(choices) if isinstance(choices, list | tuple) else "no list of"
            raise InputError(f"a question needs 2 to {len(LETTERS)} choices, got {n}", field="choices")

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        self.check(item)
        n = len(item["choices"])
        if self.scoring == "likelihood":
            conts = tuple(" " + c for c in _choices(item))
            out: list[tuple[str, Request]] = [("", ContinuationRequest(self.prompt(self.text(item, range(n))), conts))]
            if self.mutual_info:
                bare = Prompt(messages=(Message("user", ""),), prefill=self.prefill)
                out.append((UNCONDITIONAL, ContinuationRequest(bare, conts)))
            return out
        out = []
        for k in range(self.shuffle):
            perm = permutation(item, k, self.seed)
            text = self.text(item, perm)
            if self.scoring == "letter":
                req: Request = OptionsRequest(self.prompt(text), LETTERS[:n])
            else:
                req = GenerateRequest(Prompt(messages=(Message("user", text),)), max_tokens=self.max_tokens)
            out.append((_variant(k, perm), req))
        return out

    # -- answers
    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        if isinstance(result, ContinuationScores):
            return self._likelihood_verdict(result)
        perm = _perm_of(variant)
        n = len(perm)
        if self.scoring == "letter":
            v = self.option_verdict(result, LETTERS[:n])
        else:
            shown = parse_answer(result.text, n)
            v = Verdict(label=shown, status="ok" if shown else "unparsed", raw=result.text,
                        extra={"method": "generate-answer-line"},
                        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        if v.label is None:
            return v
        # back to the original options: shown position j holds original option perm[j]
        shown_label = v.label
        v.extra["shown"] = shown_label
        v.extra["order"] = list(perm)
        v.label = LETTERS[perm[LETTERS.index(shown_label)]]
        if v.probs:
            v.probs = {LETTERS[perm[LETTERS.index(k)]]: p for k, p in v.probs.items()}
            v.extra.pop("logprobs", None)
        return v

    def _likelihood_verdict(self, r: ContinuationScores) -> Verdict:
        lls = np.asarray(r.loglikelihoods, dtype=float)
        m = lls.max()
        p = np.exp(lls - m)
        p /= p.sum()
        letters = LETTERS[:len(lls)]
        label = letters[int(np.argmax(lls))]
        return Verdict(label=label, probs={k: float(x) for k, x in zip(letters, p, strict=True)}, raw=r.text,
                       extra={"method": r.method, "loglikelihoods": [float(x) for x in lls],
                              "token_counts": list(r.token_counts), "greedy": list(r.greedy)},
                       prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens)

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        """Likelihood: the question's verdict (with the unconditional log-likelihoods added under
        ``extra["unconditional"]`` when asked). Letter and generate: the mean over the option
        orders of each original option's probability (generate: the share of orders choosing it);
        orders whose answer was unparsed are left out, and when every order is unparsed the item
        is unparsed."""
        if self.scoring == "likelihood":
            v = verdicts[""]
            u = verdicts.get(UNCONDITIONAL)
            if u is not None and v.status == "ok" and u.status == "ok":
                v = Verdict(**{**v.to_dict(), "extra": {**v.extra, "unconditional": u.extra.get("loglikelihoods")}})
            return v
        return mean_over_orders(verdicts, LETTERS[:len(item["choices"])])

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        """An answer key as a letter: a letter A-Z (any case) or a 0-based option index."""
        text = str(value).strip()
        if text.upper() in LETTERS and len(text) == 1:
            return text.upper()
        try:
            f = float(text)
        except ValueError:
            f = math.nan
        if f == f and f == int(f) and 0 <= int(f) < len(LETTERS):
            return LETTERS[int(f)]
        raise InputError(f"answer {text!r} is neither an option letter (A, B, ...) nor a 0-based option index",
                         file=file, row=row, field=field)
