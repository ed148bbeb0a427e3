"""A scripted taxonomy writer for tests: answers each TnT-LLM step from the words in its prompt."""

from __future__ import annotations

import json
import re

TOPICS = ("card", "refund", "pin", "transfer", "fee", "account")


def _topics(text: str) -> list[str]:
    body = text.split("example texts (or summaries of them):", 1)[-1]
    return [t for t in TOPICS if re.search(rf"\b{t}\b", body)]


def writer(text: str) -> str:
    if "Summarise the text below" in text:
        line = text.split("Text:", 1)[1].strip()
        return json.dumps({"summary": f"customer asks: {line}"})
    if "Propose at most" in text:
        return json.dumps({"labels": [{"name": f"{t}_issue", "description": f"about {t}s"} for t in _topics(text)]})
    if "Revise the labels" in text:
        current = re.findall(r"^- ([a-z_]+): (.*)$", text.split("The current labels:", 1)[1].split("Here are")[0], re.M)
        labels = [{"name": n, "description": d} for n, d in current]
        have = {n for n, _ in current}
        labels += [{"name": f"{t}_issue", "description": f"about {t}s"} for t in _topics(text) if f"{t}_issue" not in have]
        labels.append({"name": "Card Issue", "description": "a near-duplicate the update step made"})
        return json.dumps({"labels": labels})
    if "Clean up the list" in text:
        current = re.findall(r"^- ([a-z_]+): (.*)$", text, re.M)
        out = []
        for n, d in current:
            if n == "fee_issue":  # merged into transfer_issue
                continue
            entry = {"name": n, "description": d, "merged_from": ["fee_issue"] if n == "transfer_issue" else []}
            out.append(entry)
        out.append({"name": "card_issue", "description": "duplicate name again", "merged_from": []})
        out += [{"name": f"extra_{i}", "description": "over the limit", "merged_from": []} for i in range(5)]
        return json.dumps({"labels": out})
    raise AssertionError("unexpected prompt: " + text[:80])


TEXTS = [
    "my card has not arrived", "I want a refund", "forgot my pin", "the transfer failed", "why this fee",
    "close my account", "card is broken", "refund still missing", "pin blocked", "transfer pending", "fee charged twice",
    "account locked",
]
