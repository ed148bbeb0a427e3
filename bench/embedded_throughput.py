"""Embedded backend throughput: prefix reuse, engine overhead, warm rerun.

200 pointwise score items with a shared instruction prefix of about 300 tokens and items of about
60 tokens, judged with qwen2.5-coder-1.5b. Measured side by side in one run:

1. jurybox with KV prefix reuse (fresh store): judgments/s;
2. the same prompts evaluated from scratch (no reuse), on ``--scratch`` of the items: judgments/s;
3. raw llama.cpp evaluating exactly the suffix tokens jurybox evaluates after the cached prefix,
   with no jurybox code around it: wall time, so jurybox's overhead = (1) / (3) - 1;
4. a warm rerun of (1): model calls and wall time.

The three are interleaved in blocks of ``--block`` items so that load changes on a shared machine
affect them alike.

Usage: python bench/embedded_throughput.py [--items 200] [--scratch 20] [--model qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import jurybox
from jurybox.backends.embedded import EmbeddedBackend
from jurybox.engine import Judge, build_tasks
from jurybox.protocols import Score

CRITERIA = (
    "Rate how well the response answers the user's question for a customer-support knowledge base. "
    "Consider factual accuracy first: a response that states something false about the product, its price, "
    "its warranty or its compatibility must receive a low score even when it is polite and well written. "
    "Then consider completeness: the response should address every part of the question, including follow-up "
    "steps the customer will need, such as where to find a setting or whom to contact. Then consider clarity: "
    "short sentences, no jargon unless the customer used it, and steps in the order the customer will perform "
    "them. Do not reward length for its own sake; a two-sentence answer that is correct and complete deserves "
    "the top score. Penalise responses that promise refunds, discounts or timelines that the company does not "
    "offer, that ask for passwords or full card numbers, or that blame the customer. A response that politely "
    "declines an out-of-scope request and points to the right channel is a good response."
)

TOPICS = ["reset the router", "change the billing address", "pair the headphones", "update the firmware",
          "cancel the subscription", "export the contacts", "enable two-factor login", "return a damaged item",
          "find the serial number", "extend the warranty"]
STYLES = ["Open Settings, choose {t} from the menu and confirm; the change applies within a minute.",
          "You can {t} from the account page. If the option is greyed out, sign out and back in, then try again.",
          "To {t}, hold the power button for ten seconds until the light blinks blue, then follow the app's prompt.",
          "I'm afraid we can't {t} by chat. Please call support on the number printed on your invoice.",
          "Sure! Just {t} whenever you like, and we will refund you double the price as a thank-you."]


def make_items(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        t = rng.choice(TOPICS)
        rows.append({"instruction": f"Customer #{i}: how do I {t}? My device is model X{rng.randint(100, 999)}.",
                     "response": rng.choice(STYLES).format(t=t)})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--scratch", type=int, default=20)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--block", type=int, default=20, help="items per interleaved block")
    args = ap.parse_args()
    df = make_items(args.items)
    proto = Score(criteria=CRITERIA)
    backend = EmbeddedBackend(args.model)
    judge = Judge(proto, backend)
    tasks, _ = build_tasks(judge, df.to_dict("records"))
    toks = [backend.tokens(t.request.prompt) for t in tasks]
    prefix = len(toks[0])
    for t in toks[1:]:
        n = 0
        for a, b in zip(toks[0], t):
            if a != b:
                break
            n += 1
        prefix = min(prefix, n)
    suffix_lens = [len(t) - prefix for t in toks]
    print(f"model {args.model}; {args.items} items; shared prefix {prefix} tokens; "
          f"item suffix mean {np.mean(suffix_lens):.0f} tokens (min {min(suffix_lens)}, max {max(suffix_lens)})")

    # The three ways are interleaved block by block over the same items, so that a change in the
    # machine's load during the run hits all of them alike (these machines are shared).
    llm = backend.llm
    n_s = min(args.scratch, len(toks))
    blocks = [list(range(i, min(i + args.block, len(toks)))) for i in range(0, len(toks), args.block)]
    t_reuse = t_raw = t_scratch = 0.0
    scratch_done = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.sqlite"
        outs = []
        for b, idx in enumerate(blocks):
            part = df.iloc[idx]
            t0 = time.perf_counter()
            outs.append(jurybox.judge(part, proto, model=backend, store=store))
            t_reuse += time.perf_counter() - t0

            # raw llama.cpp on the same suffix tokens, the prefix kept in the KV cache as jurybox keeps it
            t0 = time.perf_counter()
            if b == 0:
                llm.n_tokens = 0
                llm.eval(toks[0][:prefix])
            for i in idx:
                llm.n_tokens = prefix
                llm.eval(toks[i][prefix:])
                _ = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).argmax()
            t_raw += time.perf_counter() - t0

            # from scratch: the full prompt of one item per block, no reuse, until n_s items are done
            k = min(len(idx), max(0, n_s - scratch_done), max(1, n_s // len(blocks) + 1))
            t0 = time.perf_counter()
            for i in idx[:k]:
                llm.n_tokens = 0
                llm.eval(toks[i])
                _ = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).argmax()
            t_scratch += time.perf_counter() - t0
            scratch_done += k
            # the KV cache now holds a full prompt that starts with the shared prefix: the next jurybox
            # block and the next raw block both find the prefix cached, as in an uninterrupted run
        out = pd.concat(outs)
        assert (out["verdict_status"] == "ok").all()
        calls_before = backend.calls
        t0 = time.perf_counter()
        out2 = jurybox.judge(df, proto, model=backend, store=store)
        t_warm = time.perf_counter() - t0
        warm_calls = backend.calls - calls_before
        assert out2["verdict"].tolist() == out["verdict"].tolist()
    n_s = scratch_done

    rate_reuse = args.items / t_reuse
    rate_scratch = n_s / t_scratch
    print(f"jurybox with prefix reuse : {t_reuse:7.1f} s  {rate_reuse:6.2f} judgments/s")
    print(f"from scratch ({n_s} items)  : {t_scratch:7.1f} s  {rate_scratch:6.2f} judgments/s")
    print(f"speed-up from prefix reuse: {rate_reuse / rate_scratch:5.2f}x   (target >= 3x)")
    print(f"raw llama.cpp, same suffix: {t_raw:7.1f} s  -> jurybox overhead {100 * (t_reuse / t_raw - 1):+.1f}% "
          f"(target <= 10%)")
    print(f"warm rerun                : {t_warm:7.2f} s, {warm_calls} model calls (target: 0 calls, < 2 s)")


if __name__ == "__main__":
    main()
