"""The store-only backend: a registered model's identity without loading it, verdicts from the store,
one line for a task the store lacks."""

from __future__ import annotations

import pandas as pd
import pytest

from jurybox.api import run_judge
from jurybox.backends.embedded import EmbeddedBackend
from jurybox.backends.scripted import ScriptedBackend
from jurybox.backends.store_only import StoreOnlyBackend, embedded_fingerprint
from jurybox.errors import JuryboxError
from jurybox.models import resolve
from jurybox.spec import JudgeSpec


def test_the_embedded_identity_matches_the_embedded_backends_fingerprint():
    r = resolve("qwen2.5-coder-1.5b")
    live = object.__new__(EmbeddedBackend)  # its fingerprint without loading 1 GB of weights
    live.resolved, live.n_ctx, live.chat = r, 6144, True
    assert StoreOnlyBackend.embedded("qwen2.5-coder-1.5b", 6144).fingerprint() == live.fingerprint()
    assert StoreOnlyBackend.embedded("qwen2.5-coder-1.5b").fingerprint() == embedded_fingerprint(r.sha256, r.n_ctx, True)
    assert StoreOnlyBackend.embedded("qwen2.5-coder-1.5b", chat=False).fingerprint().endswith(":plain")


def test_stored_tasks_come_back_and_a_missing_one_is_one_line(tmp_path):
    data = pd.DataFrame({"response": ["first answer", "second answer"]})
    live = ScriptedBackend()
    store = tmp_path / "s.sqlite"
    run_judge(data.iloc[:1], JudgeSpec("score", model=live), store=store)
    replay = StoreOnlyBackend(live.fingerprint(), "scripted", hint="run the bench first")
    got = run_judge(data.iloc[:1], JudgeSpec("score", model=replay), store=store)
    assert got.stats.model_calls == 0 and got.verdicts[0].status == "ok"
    with pytest.raises(JuryboxError, match=r"^scripted: a task is not in the store \(run the bench first\)"):
        run_judge(data, JudgeSpec("score", model=replay), store=store)
