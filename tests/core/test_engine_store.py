import os
import sqlite3

import pandas as pd
import pytest

import jurybox
from jurybox.backends.scripted import ScriptedBackend
from jurybox.engine import Judge, build_tasks, evaluate, task_key
from jurybox.errors import InputError, StoreError
from jurybox.protocols import Classify, Score
from jurybox.store import Store
from jurybox.types import Message, OptionsRequest, Prompt


def sentiment(text, opts):
    item = text.rsplit("Text:", 1)[-1]
    pos = 0.9 if "good" in item else 0.2
    return {"positive": pos, "negative": 1 - pos}


DF = pd.DataFrame({"text": ["good film", "bad film", "good food", "meh"], "label": ["positive", "negative",
                                                                                   "negative", "negative"]})


def test_rerun_makes_zero_model_calls_and_same_output(tmp_path):
    b = ScriptedBackend(sentiment)
    store = tmp_path / "s.sqlite"
    out1 = jurybox.judge(DF, "classify", labels=["positive", "negative"], model=b, store=store)
    assert b.calls == 4
    out2 = jurybox.judge(DF, "classify", labels=["positive", "negative"], model=b, store=store)
    assert b.calls == 4
    pd.testing.assert_frame_equal(out1, out2)
    assert list(out1["verdict"]) == ["positive", "negative", "positive", "negative"]
    assert list(out1["label"]) == list(DF["label"])  # the user's own label column is kept
    assert out1.attrs["jurybox"]["model_calls"] == 4 and out2.attrs["jurybox"]["n_cached"] == 4


def test_changing_anything_that_can_change_the_answer_makes_new_tasks(tmp_path):
    store = tmp_path / "s.sqlite"
    b = ScriptedBackend(sentiment)
    jurybox.judge(DF, "classify", labels=["positive", "negative"], model=b, store=store)
    n = b.calls
    jurybox.judge(DF, "classify", labels=["positive", "negative"], criteria="other words", model=b, store=store)
    assert b.calls == n + 4  # template input changed
    b2 = ScriptedBackend(sentiment, identity="other-model")
    jurybox.judge(DF, "classify", labels=["positive", "negative"], model=b2, store=store)
    assert b2.calls == 4  # model changed
    df2 = DF.copy()
    df2.loc[0, "text"] = "good film!"
    jurybox.judge(df2, "classify", labels=["positive", "negative"], model=b, store=store)
    assert b.calls == n + 5  # only the changed item is new


def test_task_key_covers_variant_and_request():
    p = Prompt((Message("user", "x"),), "A:")
    r1 = OptionsRequest(p, ("a", "b"))
    r2 = OptionsRequest(p, ("a", "b", "c"))
    assert task_key("m", {}, r1, "AB") != task_key("m", {}, r1, "BA")
    assert task_key("m", {}, r1, "") != task_key("m", {}, r2, "")
    assert task_key("m", {}, r1, "") != task_key("m2", {}, r1, "")
    assert task_key("m", {"t": 1}, r1, "") != task_key("m", {"t": 2}, r1, "")
    assert task_key("m", {}, r1, "") == task_key("m", {}, OptionsRequest(Prompt((Message("user", "x"),), "A:"), ("a", "b")), "")


def test_store_exactly_once_and_wal(tmp_path):
    b = ScriptedBackend(sentiment)
    st = Store(tmp_path / "s.sqlite")
    assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    j = Judge(Classify(labels=["positive", "negative"]), b)
    tasks, _ = build_tasks(j, [{"text": "good"}])
    from jurybox.types import Verdict
    assert st.put(tasks[0], Verdict("positive"), "r1") is True
    assert st.put(tasks[0], Verdict("negative"), "r2") is False
    assert st.get_many([tasks[0].key])[tasks[0].key].label == "positive"
    assert st.count() == 1


def test_failures_are_recorded_and_retried(tmp_path):
    flaky = {"on": True}
    b = ScriptedBackend(sentiment, fail=lambda t: "server said 503" if flaky["on"] and "bad" in t.rsplit("Text:", 1)[-1] else None)
    st = Store(tmp_path / "s.sqlite")
    j = Judge(Classify(labels=["positive", "negative"]), b)
    verdicts, _, stats = evaluate(j, DF.to_dict("records"), st)
    assert stats.n_failed == 1 and verdicts[1].status == "error" and "503" in verdicts[1].error
    assert st.failures()[0]["error"] == "server said 503"
    flaky["on"] = False
    verdicts, _, stats = evaluate(j, DF.to_dict("records"), st)
    assert stats.model_calls == 1 and stats.n_cached == 3 and verdicts[1].status == "ok"


def test_pairwise_end_to_end_on_scripted_backend_keeps_per_order_verdicts():
    # a judge with a strong first-position bias that still leans towards the better response
    def judge(text, opts):
        item = text.split("# Output (a):")[1]
        a_is_good = item.strip().startswith("GOOD")
        return {"a": 0.8 if a_is_good else 0.6, "b": 0.2 if a_is_good else 0.4}
    df = pd.DataFrame({"instruction": ["i1", "i2"], "output_1": ["GOOD x", "bad y"], "output_2": ["bad z", "GOOD w"]})
    out = jurybox.judge(df, "pairwise", model=ScriptedBackend(judge),
                        fields={"response_a": "output_1", "response_b": "output_2"})
    assert list(out["verdict"]) == ["A", "B"]
    vote = jurybox.judge(df, "pairwise", model=ScriptedBackend(judge), combine="vote",
                         fields={"response_a": "output_1", "response_b": "output_2"})
    assert list(vote["verdict"]) == ["tie", "tie"]  # single-order choices always say "first"
    res = jurybox.run_judge(df, "pairwise", model=ScriptedBackend(judge),
                            fields={"response_a": "output_1", "response_b": "output_2"})
    assert set(res.variants[0]) == {"AB", "BA"}
    assert res.variants[0]["AB"].label == "A" and res.variants[0]["BA"].label == "B"


def test_human_label_outside_label_set_is_an_input_error(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "good", "gold": "positive"}\n{"text": "hm", "gold": "neutral"}\n')
    with pytest.raises(InputError, match=r"d.jsonl, row 2, field 'gold': label 'neutral' is not in the label set"):
        jurybox.run_judge(p, "classify", labels=["positive", "negative"], human="gold",
                          model=ScriptedBackend(sentiment))


def test_store_on_unwritable_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the verdict store"):
        Store(blocker / "sub" / "s.sqlite")
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.geteuid() == 0:
            target = "/proc/jurybox-store/s.sqlite"  # root ignores permission bits; /proc is not writable
        else:
            target = str(ro / "s.sqlite")
        with pytest.raises(StoreError, match="cannot open the verdict store"):
            Store(target)
    finally:
        os.chmod(ro, 0o700)


def test_store_survives_reopen_and_counts(tmp_path):
    b = ScriptedBackend(sentiment)
    p = tmp_path / "s.sqlite"
    jurybox.judge(DF, "classify", labels=["positive", "negative"], model=b, store=p)
    con = sqlite3.connect(p)
    assert con.execute("select count(*) from verdicts").fetchone()[0] == 4
    row = con.execute("select latency_s, prompt_tokens, completion_tokens from verdicts").fetchone()
    assert row[0] >= 0 and row[1] > 0 and row[2] == 0
    assert con.execute("select n_tasks, n_done from runs").fetchone() == (4, 4)


def test_score_protocol_through_engine():
    def sc(text, opts):
        return {"1": 0.05, "2": 0.05, "3": 0.1, "4": 0.3, "5": 0.5} if "great" in text else \
               {"1": 0.5, "2": 0.3, "3": 0.1, "4": 0.05, "5": 0.05}
    df = pd.DataFrame({"response": ["a great answer", "poor"]})
    out = jurybox.judge(df, Score(), model=ScriptedBackend(sc))
    assert list(out["verdict"]) == ["5", "1"]
    assert out["verdict_score"][0] == pytest.approx(4.15) and out["verdict_score"][1] == pytest.approx(1.85)


def test_cached_verdicts_equal_fresh_ones_including_key_order(tmp_path):
    b = ScriptedBackend(lambda t, o: {"positive": 0.3, "negative": 0.7})
    df = pd.DataFrame({"text": ["x"]})
    fresh = jurybox.run_judge(df, "classify", labels=["positive", "negative"], model=b, store=tmp_path / "s.sqlite")
    cached = jurybox.run_judge(df, "classify", labels=["positive", "negative"], model=b, store=tmp_path / "s.sqlite")
    assert cached.stats.model_calls == 0
    assert fresh.verdicts[0].to_dict() == cached.verdicts[0].to_dict()
    assert list(fresh.verdicts[0].probs) == list(cached.verdicts[0].probs) == ["positive", "negative"]


def test_task_key_is_the_hash_of_the_canonical_json_of_its_parts():
    from jurybox.types import stable_hash
    p = Prompt((Message("user", "héllo"),), "A:")
    r = OptionsRequest(p, ("a", "b"))
    params = {"protocol": "x", "criteria": None, "rubric": {"2": "b", "1": "a"}}
    expected = stable_hash({"v": 1, "model": "m", "protocol": params, "request": r.to_dict(), "variant": "AB"})
    assert task_key("m", params, r, "AB") == expected


def test_async_backends_run_concurrently_and_each_task_once(tmp_path):
    import asyncio
    import threading

    class SlowAsync(ScriptedBackend):
        concurrency = 8

        def __init__(self):
            super().__init__(sentiment)
            self.active = 0
            self.peak = 0
            self.lock = threading.Lock()

        async def aexecute(self, request):
            self.active += 1
            self.peak = max(self.peak, self.active)
            await asyncio.sleep(0.01)
            self.active -= 1
            return self.option_logprobs(request)

    b = SlowAsync()
    df = pd.DataFrame({"text": [f"good {i}" if i % 3 else f"bad {i}" for i in range(40)]})
    res = jurybox.run_judge(df, "classify", labels=["positive", "negative"], model=b, store=tmp_path / "s.sqlite")
    assert (b.calls, res.stats.model_calls, b.peak) == (40, 40, 8)
    assert [v.label for v in res.verdicts] == ["negative" if i % 3 == 0 else "positive" for i in range(40)]
    assert Store(tmp_path / "s.sqlite").count() == 40


def _other_count(path) -> int:
    with sqlite3.connect(str(path)) as c:
        return int(c.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])


def test_group_commit_writes_once_and_in_the_background(tmp_path):
    import time as _time

    from jurybox.types import Verdict
    b = ScriptedBackend(sentiment)
    path = tmp_path / "s.sqlite"
    st = Store(path)
    j = Judge(Classify(labels=["positive", "negative"]), b)
    tasks, _ = build_tasks(j, [{"text": f"good {i}"} for i in range(5)])
    with st.group_commit(max_delay=3600, max_rows=4):  # only the row limit or the block's end commits
        for t in tasks[:3]:
            assert st.put(t, Verdict("positive"), "r1") is None
        assert _other_count(path) == 0  # waiting in the group
        st.put(tasks[0], Verdict("negative"), "r1")  # 4th row: the group is committed
        assert _other_count(path) == 3
        st.put(tasks[3], Verdict("positive"), "r1")
    assert _other_count(path) == 4  # the block's end commits the rest
    assert st.get_many([tasks[0].key])[tasks[0].key].label == "positive"  # first write wins
    with st.group_commit(max_delay=0.02):
        st.put(tasks[4], Verdict("negative"), "r1")
        st.put_failure(tasks[4], "HTTP 500", "r1")
        deadline = _time.monotonic() + 10
        while _other_count(path) < 5 and _time.monotonic() < deadline:
            _time.sleep(0.01)
        assert _other_count(path) == 5  # committed by the background thread, inside the block
    assert st.failures()[0]["error"] == "HTTP 500"


def test_group_commit_raises_a_write_error(tmp_path):
    from jurybox.types import Verdict
    path = tmp_path / "s.sqlite"
    st = Store(path)
    tasks, _ = build_tasks(Judge(Classify(labels=["positive", "negative"]), ScriptedBackend(sentiment)),
                           [{"text": "good"}])
    with pytest.raises(StoreError, match="cannot write the verdict store"):
        with st.group_commit(max_delay=3600):
            st.put(tasks[0], Verdict("positive"), "r1")
            with sqlite3.connect(str(path)) as c:
                c.execute("DROP TABLE verdicts")
