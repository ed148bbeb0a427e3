"""The ``stance`` protocol: one questionnaire statement asked in every language and paraphrase.

An item is one statement (``id``, ``texts``: language -> paraphrases); each (language,
paraphrase) is a variant ``LANG/K`` and one task. The prompt is the language's instruction and
the statement, the answer starts after the language's prefill ("Answer:"), and one forward pass
reads the probability of each answer word of that language ("agree", "neutral", "disagree";
multi-token words are scored by their full token sequences), mapped back to the scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jurybox.protocols.base import JudgeProtocol
from jurybox.protocols.registry import register_protocol
from jurybox.survey.questionnaire import Questionnaire
from jurybox.types import BackendResult, Message, OptionsRequest, Prompt, Request, Verdict

__all__ = ["Stance", "variant_language"]


def variant_language(variant: str) -> str:
    return variant.split("/", 1)[0]


@register_protocol
class Stance(JudgeProtocol):
    """Ask a statement's stance (module docstring); built from a :class:`Questionnaire`."""

    name = "stance"
    required = ("id", "texts")

    def __init__(self, *, questionnaire: Questionnaire, criteria: str | None = None, template: str = "default",
                 languages: list[str] | None = None, paraphrases: int | None = None) -> None:
        super().__init__(criteria=criteria, template=template)
        self.q = questionnaire
        self.languages = list(languages) if languages else list(questionnaire.languages)
        unknown = [c for c in self.languages if c not in questionnaire.languages]
        if unknown:
            raise ValueError(f"languages {unknown} are not in the questionnaire ({', '.join(questionnaire.languages)})")
        if paraphrases is not None and paraphrases < 1:
            raise ValueError("paraphrases must be at least 1")
        self.paraphrases = paraphrases

    def labels(self) -> tuple[str, ...]:
        return tuple(self.q.scale)

    def params(self) -> dict[str, Any]:
        langs = {c: {"instruction": lang.instruction, "label": lang.statement_label, "prefill": lang.answer_prefill,
                     "options": lang.options} for c, lang in self.q.languages.items()}
        return {**super().params(), "scale": self.q.scale, "languages": langs}

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        out: list[tuple[str, Request]] = []
        for code in self.languages:
            lang = self.q.languages[code]
            texts = item["texts"][code][: self.paraphrases] if self.paraphrases else item["texts"][code]
            words = tuple(lang.options[s] for s in self.q.scale)
            for k, text in enumerate(texts):
                body = self.render(instruction=lang.instruction, statement_label=lang.statement_label, statement=text)
                prompt = Prompt(messages=(Message("user", body),), prefill=lang.answer_prefill)
                out.append((f"{code}/{k}", OptionsRequest(prompt, words)))
        return out

    def interpret(self, variant: str, result: BackendResult) -> Verdict:
        lang = self.q.languages[variant_language(variant)]
        to_scale = {w: s for s, w in lang.options.items()}
        return self.option_verdict(result, tuple(to_scale), to_scale)

    def combine(self, item: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Verdict:
        """The mean answer distribution over every language and paraphrase read; its argmax."""
        read = [v for v in verdicts.values() if v.probs]
        if not read:
            return Verdict(label=None, status="unparsed", extra={"variants": len(verdicts)})
        mean = {s: sum((v.probs or {}).get(s, 0.0) for v in read) / len(read) for s in self.q.scale}
        return Verdict(label=max(self.q.scale, key=lambda s: mean[s]), probs=mean,
                       extra={"variants": len(verdicts), "read": len(read)})
