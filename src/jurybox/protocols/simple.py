"""Pointwise protocols: score on a rubric, classify into labels, correctness against references."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Any

from jurybox.errors import InputError, OptionError
from jurybox.protocols.base import JudgeProtocol
from jurybox.types import BackendResult, OptionsRequest, Request, Verdict

__all__ = ["DEFAULT_RUBRIC_5", "Classify", "Correctness", "Score"]

DEFAULT_RUBRIC_5 = {
    1: "very poor: fails the criteria or is wrong or irrelevant",
    2: "poor: major problems, only partly meets the criteria",
    3: "acceptable: meets the criteria with noticeable flaws",
    4: "good: meets the criteria with minor flaws",
    5: "excellent: fully meets the criteria, no flaws",
}


class Score(JudgeProtocol):
    """Score a response on an integer rubric (default 1-5).

    The verdict's label is the most probable score; ``score`` is the expected score under the
    judge's distribution over the scale, which is finer-grained and better calibrated than the argmax.
    """

    name = "score"
    required = ("response",)
    optional = ("instruction", "reference")
    prefill = "Score:"

    def __init__(
        self,
        *,
        criteria: str | None = None,
        template: str = "default",
        scale: tuple[int, int] = (1, 5),
        rubric: Mapping[int, str] | None = None,
        reverse_rubric: bool = False,
    ) -> None:
        super().__init__(criteria=criteria, template=template)
        lo, hi = scale
        if hi <= lo or hi - lo > 9:
            raise ValueError(f"scale must be two integers lo < hi with at most 10 points, got {scale}")
        self.scale = tuple(range(lo, hi + 1))
        if rubric is None:
            rubric = DEFAULT_RUBRIC_5 if self.scale == (1, 2, 3, 4, 5) else {s: "" for s in self.scale}
        missing = [s for s in self.scale if s not in rubric]
        if missing:
            raise ValueError(f"rubric has no description for score(s) {missing}")
        self.rubric = {s: rubric[s] for s in self.scale}
        self.reverse_rubric = reverse_rubric

    @classmethod
    def parse_option(cls, key: str, value: Any) -> Any:
        """``scale`` from text is ``LO-HI`` (``1-5``)."""
        if key == "scale" and isinstance(value, str):
            try:
                lo, hi = (int(x) for x in value.split("-"))
            except ValueError as exc:
                raise OptionError(f"scale expects LO-HI such as 1-5, got {value!r}", option="scale") from exc
            if hi <= lo:
                raise OptionError(f"scale expects LO-HI with LO below HI, such as 1-5, got {value!r}",
                                  option="scale")
            return (lo, hi)
        return super().parse_option(key, value)

    def labels(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.scale)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "scale": list(self.scale), "rubric": self.rubric, "reverse": self.reverse_rubric}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        order = sorted(self.rubric, reverse=self.reverse_rubric)
        text = self.render(
            scale=self.scale,
            rubric=[{"score": s, "description": self.rubric[s]} for s in order],
            instruction=item.get("instruction"),
            reference=item.get("reference"),
            response=item["response"],
        )
        return [("", OptionsRequest(self.prompt(text), self.labels()))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        return graded_verdict(self.option_verdict(result, self.labels()))

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        grade = grade_of(value, self.scale)
        if grade is not None:
            return grade
        raise InputError(f"score {value!r} is not on the scale {self.scale[0]}-{self.scale[-1]}",
                         file=file, row=row, field=field)


def expected_grade(probs: Mapping[str, float]) -> float:
    """sum_g g * p(g) over numeric grades (probabilities normalised over the options)."""
    total = sum(probs.values())
    return sum(int(g) * p for g, p in probs.items()) / total if total else float("nan")


def graded_verdict(v: Verdict) -> Verdict:
    """A numeric grade's verdict with its ``score``: the expected grade under the option
    probabilities, else (an answer read from text) the grade itself."""
    if v.probs:
        v.score = expected_grade(v.probs)
    elif v.label is not None:
        v.score = float(v.label)
    return v


def grade_of(value: Any, grades: Container[int]) -> str | None:
    """``value`` as one of the integer ``grades`` in text (``2``, ``2.0`` and ``"2"`` give ``"2"``),
    or None when it is not one of them."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return str(int(f)) if f.is_integer() and int(f) in grades else None


class Classify(JudgeProtocol):
    """Classify a text into one of a user-given set of labels (optionally described, with examples)."""

    name = "classify"
    required = ("text",)
    prefill = "Label:"

    def __init__(
        self,
        *,
        labels: Sequence[str],
        descriptions: Mapping[str, str] | None = None,
        examples: Sequence[Mapping[str, str]] = (),
        criteria: str | None = None,
        template: str = "default",
    ) -> None:
        super().__init__(criteria=criteria, template=template)
        labels = tuple(str(x).strip() for x in labels)
        if len(labels) < 2 or len(set(labels)) != len(labels) or any(not x for x in labels):
            raise ValueError(f"classify needs at least two distinct, non-empty labels, got {list(labels)}")
        self._labels = labels
        self.descriptions = dict(descriptions or {})
        unknown = [k for k in self.descriptions if k not in labels]
        if unknown:
            raise ValueError(f"descriptions given for unknown labels {unknown}")
        self.examples = [dict(e) for e in examples]
        for e in self.examples:
            if e.get("label") not in labels:
                raise ValueError(f"few-shot example label {e.get('label')!r} is not in the label set")

    @classmethod
    def parse_option(cls, key: str, value: Any) -> Any:
        """``labels`` from text is comma-separated (``positive,negative``); ``descriptions`` from
        text is ``LABEL=DESCRIPTION`` (one string, or a list of them)."""
        if key == "labels" and isinstance(value, str) and not value.lstrip().startswith("["):
            return [x.strip() for x in value.split(",") if x.strip()]
        if key == "descriptions" and (isinstance(value, str) and not value.lstrip().startswith("{")
                                      or isinstance(value, list | tuple)):
            desc: dict[str, str] = {}
            for d in [value] if isinstance(value, str) else value:
                k, sep, v = str(d).partition("=")
                if not sep:
                    raise OptionError(f"descriptions expects LABEL=DESCRIPTION, got {d!r}", option="descriptions")
                desc[k.strip()] = v.strip()
            return desc
        return super().parse_option(key, value)

    def labels(self) -> tuple[str, ...]:
        return self._labels

    def params(self) -> dict[str, Any]:
        return {**super().params(), "labels": list(self._labels), "descriptions": self.descriptions,
                "examples": self.examples}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        text = self.render(labels=self._labels, descriptions=self.descriptions, examples=self.examples,
                           text=item["text"])
        return [("", OptionsRequest(self.prompt(text), self._labels))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        return self.option_verdict(result, self._labels)


_TRUE = {"correct", "true", "yes", "1", "1.0", "right"}
_FALSE = {"incorrect", "false", "no", "0", "0.0", "wrong"}


class Correctness(JudgeProtocol):
    """Is a candidate answer to a question correct, given optional reference answer(s)?

    Reference answers come from the ``reference`` field: a string, or a list of strings (several
    acceptable answers). The verdict's ``score`` is the probability of "correct".
    """

    name = "correctness"
    required = ("question", "answer")
    optional = ("reference",)
    prefill = "Answer:"
    options = ("yes", "no")
    to_label = {"yes": "correct", "no": "incorrect"}

    def labels(self) -> tuple[str, ...]:
        return ("correct", "incorrect")

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        ref = item.get("reference")
        if ref is None or (isinstance(ref, float) and ref != ref) or ref == "":
            refs: list[str] = []
        elif isinstance(ref, list | tuple):
            refs = [str(r) for r in ref]
        else:
            refs = [str(ref)]
        text = self.render(question=item["question"], answer=item["answer"], references=refs)
        return [("", OptionsRequest(self.prompt(text), self.options))]

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        v = self.option_verdict(result, self.options, self.to_label)
        if v.probs:
            v.score = v.probs["correct"]
        return v

    def normalise_label(self, value: Any, *, file: str | None, row: int, field: str) -> str:
        t = str(value).strip().lower()
        if t in _TRUE:
            return "correct"
        if t in _FALSE:
            return "incorrect"
        raise InputError(f"label {value!r} is not correct/incorrect (or true/false, yes/no, 1/0)",
                         file=file, row=row, field=field)
