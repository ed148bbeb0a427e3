"""Provider batch files and cost: a batch written, answered by the real llama.cpp server as a
provider would (in the Batch API's output format), imported into the store under the live keys."""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_openai_backend import MODEL, items

from jurybox.api import run_judge
from jurybox.cli import main
from jurybox.cost import load_prices, parse_prices, run_costs, total_cost
from jurybox.errors import InputError
from jurybox.store import Store


def answer_batch(infile, outfile, base_url: str, *, fail: int, skip: int) -> list[str]:
    """Play the provider: answer each line's body; line ``fail`` gets an error, line ``skip`` none."""
    out, ids = [], []
    for i, line in enumerate(infile.read_text().splitlines()):
        req = json.loads(line)
        ids.append(req["custom_id"])
        assert req["method"] == "POST" and req["url"] == "/v1/chat/completions"
        if i == skip:
            continue
        if i == fail:
            out.append({"id": f"r{i}", "custom_id": req["custom_id"], "response": None,
                        "error": {"code": "server_error", "message": "the model is overloaded"}})
            continue
        data = urllib.request.Request(base_url + "/chat/completions", data=json.dumps(req["body"]).encode(),
                                      headers={"Content-Type": "application/json"})
        body = json.loads(urllib.request.urlopen(data, timeout=300).read())
        out.append({"id": f"r{i}", "custom_id": req["custom_id"],
                    "response": {"status_code": 200, "request_id": f"q{i}", "body": body}, "error": None})
    outfile.write_text("".join(json.dumps(o) + "\n" for o in out))
    return ids


def test_batch_roundtrip_lands_under_the_live_keys(proxy, tmp_path, capsys):
    data = tmp_path / "items.jsonl"
    items(4).to_json(data, orient="records", lines=True)
    model = f"openai:{MODEL}@{proxy.url}"
    store = tmp_path / "s.sqlite"
    main(["batch", "write", str(data), "--model", model, "--store", str(store), "--out", str(tmp_path / "in.jsonl")])
    assert "wrote 4 requests" in capsys.readouterr().out
    ids = answer_batch(tmp_path / "in.jsonl", tmp_path / "out.jsonl", proxy.url, fail=1, skip=2)
    main(["batch", "import", str(data), "--model", model, "--store", str(store),
          "--results", str(tmp_path / "out.jsonl")])
    assert "2 imported, 2 failed" in capsys.readouterr().out
    with Store(store) as st:
        assert st.count() == 2
        errors = {f["key"]: f["error"] for f in st.failures()}
    assert "the model is overloaded" in errors[ids[1]] and "no answer in the batch output" in errors[ids[2]]
    # a new batch holds only what is missing; a live run finds the imported verdicts under its own keys
    main(["batch", "write", str(data), "--model", model, "--store", str(store), "--out", str(tmp_path / "in2.jsonl")])
    assert [json.loads(x)["custom_id"] for x in (tmp_path / "in2.jsonl").read_text().splitlines()] == ids[1:3]
    live = run_judge(data, "score", model=model, store=store)
    assert live.stats.n_cached == 2 and live.stats.model_calls == 2
    fresh = run_judge(data, "score", model=model, store=tmp_path / "fresh.sqlite")
    for a, b in zip(live.verdicts, fresh.verdicts, strict=True):
        assert a.label == b.label and a.probs == pytest.approx(b.probs)


def test_cost_per_run_from_tokens_and_prices(proxy, tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    res = run_judge(items(2), "score", model=f"openai:{MODEL}@{proxy.url}", store=store)
    prices = tmp_path / "prices.yaml"
    prices.write_text("gemma-3-270m: {input: 2.0, output: 10.0, batch_input: 1.0, batch_output: 5.0}\n")
    table = load_prices(prices)
    with Store(store) as st:
        (c,) = run_costs(st, table)
        (cb,) = run_costs(st, table, batch=True)
    assert c.prompt_tokens == res.stats.prompt_tokens > 0 and c.completion_tokens == res.stats.completion_tokens
    assert c.cost == pytest.approx((c.prompt_tokens * 2.0 + c.completion_tokens * 10.0) / 1e6)
    assert cb.cost == pytest.approx(c.cost / 2) and total_cost([c]) == c.cost
    main(["cost", "--store", str(store), "--prices", str(prices), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["total_cost"] == pytest.approx(c.cost)
    rerun = run_judge(items(2), "score", model=f"openai:{MODEL}@{proxy.url}", store=store)
    assert rerun.stats.model_calls == 0
    with Store(store) as st:
        assert len(run_costs(st, table)) == 1  # a rerun from the store costs nothing


def test_bad_price_tables_name_the_problem(tmp_path):
    with pytest.raises(InputError, match="needs input and output"):
        parse_prices({"m": {"input": 1}})
    with pytest.raises(InputError, match=r"price output must be a number >= 0"):
        parse_prices({"m": {"input": 1, "output": "cheap"}})
    with pytest.raises(InputError, match="not found"):
        load_prices(tmp_path / "missing.yaml")
