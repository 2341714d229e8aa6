"""benchmarks/answer_prior_shift.py: the conditional text prior, which items it scores, and the balance."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.benchmark_scripts import load_script, script_path

SCRIPT = script_path("answer_prior_shift")


def _script():
    return load_script("answer_prior_shift")


def _fit(n: int, correct: str, other: str, *, category: str = "chair", k: int = 0) -> dict:
    """A problem_solving multiple-choice record whose correct option is `correct`."""
    return {
        "id": f"r{k}-{correct}-{n}",
        "task": "problem_solving",
        "level": 3,
        "capture_id": f"c{k}",
        "format": "mcq",
        "template_id": "problem_solving/mcq/q1+a1@1",
        "objects": [{"role": "target", "category": category}],
        "choices": [{"label": "A", "text": correct}, {"label": "B", "text": other}],
        "answer_value": "A",
        "unit": None,
    }


def test_prior_picks_the_option_most_often_correct_under_the_most_specific_key():
    script = _script()
    yes, no = "Yes, it would fit", "No, it would not fit"
    records = [_fit(i, yes, no, k=i) for i in range(3)] + [_fit(9, no, yes, category="sofa", k=9)]
    prior = script.TextPrior(records)
    chair = {**_fit(0, no, yes), "choices": [{"label": "A", "text": no}, {"label": "B", "text": yes}]}
    assert prior.choose(chair, script.item_candidates(chair)) == f"option:{yes.lower()}"
    sofa = {**_fit(0, yes, no, category="sofa")}
    assert prior.choose(sofa, script.item_candidates(sofa)) == f"option:{no.lower()}"  # the sofa's own key
    lamp = _fit(0, no, yes, category="lamp")  # unseen categories back off to (task, format)
    assert prior.choose(lamp, script.item_candidates(lamp)) == f"option:{yes.lower()}"
    # On a balanced pair of items the always-"yes" chair prior is right once: at chance.
    table = script.score(prior, [_fit(0, yes, no), _fit(1, no, yes)])
    assert table == {"problem_solving": {"n": 2, "prior": 0.5, "chance": 0.5}}


def test_only_categorical_items_are_scored():
    script = _script()
    numeric = {**_fit(0, "1.5 m", "3 m")}
    assert script.item_candidates(numeric) is None
    assert script.item_candidates({"format": "tf"}) == ["bool:True", "bool:False"]
    assert script.item_candidates({"format": "free"}) is None


def test_full_balance_takes_the_majority_away(tmp_path):
    """Training answers 9 : 1 "yes" for chairs; at balance 1 the draws are even and the prior has no majority
    to learn, so on a balanced benchmark it cannot fall below chance either way."""
    script = _script()
    yes, no = "Yes, it would fit", "No, it would not fit"
    records = [_fit(i, yes, no, k=i) for i in range(90)] + [_fit(i, no, yes, k=100 + i) for i in range(10)]
    qa = tmp_path / "data.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in records))
    index = script.QAIndex(qa)
    import numpy as np

    from spatialforge.train.mixture import MixtureConfig, MixtureSampler

    for balance, low, high in ((0.0, 0.85, 0.95), (1.0, 0.45, 0.55)):
        sampler = MixtureSampler([index], MixtureConfig(answer_balance=balance), seed=0)
        _, examples = sampler.draw_many(np.arange(20_000))
        share_yes = np.mean([index.records[int(e)]["choices"][0]["text"] == yes for e in examples])
        assert low < share_yes < high, balance


def test_missing_files_stop_with_the_path(tmp_path):
    command = [sys.executable, str(SCRIPT), "--qa", str(tmp_path / "nope.jsonl"), "--bench", str(tmp_path)]
    done = subprocess.run([*command, "--out", str(tmp_path / "o.json")], capture_output=True, text=True)
    assert done.returncode != 0 and "nope.jsonl: no such file" in done.stderr
