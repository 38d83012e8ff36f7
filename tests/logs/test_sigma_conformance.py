"""SigmaHQ regression data: each of the 16 rules fires on its own event file exactly match_count times,
for the .evtx and for its JSON export (32 checks)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from sopkit.detect.sigma import evaluate, load_rules
from sopkit.logs.winevt import read_winevt

# same location rule as tests/conftest.py (parametrization needs the list before fixtures run)
SHARED = Path(os.environ.get("SOPKIT_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
CONF = SHARED.resolve() / "conformance/logs/sigmahq-regression"
INFOS = sorted(CONF.glob("regression_data/**/info.yml"))
CASES = [(info, suffix) for info in INFOS for suffix in (".evtx", ".json")]


@pytest.fixture(scope="module")
def rules(conformance):
    loaded = load_rules([conformance / "logs/sigmahq-regression/rules"])
    return {str(r.rule.id): r for r in loaded if r.rule is not None}


def test_corpus_has_sixteen_rules(conformance):
    assert len(INFOS) == 16


@pytest.mark.parametrize("info,suffix", CASES, ids=[f"{i.parent.name}{s}" for i, s in CASES])
def test_rule_fires_on_its_file(conformance, rules, info, suffix):
    meta = yaml.safe_load(info.read_text())
    test = meta["regression_tests_info"][0]
    # SigmaHQ's runner expects one match when an info.yml gives no match_count (3 of the 16 do not).
    expected = test.get("match_count", 1)
    path = (CONF / test["path"]).with_suffix(suffix)
    events = read_winevt(path)
    assert not events.rejections
    run = evaluate([rules[meta["rule_metadata"][0]["id"]]], events.events)
    status = run.rules[0]
    assert status.status == "evaluated", status.reason
    assert status.matches == expected
    assert len(run.alerts) == expected and run.alerts["rule_id"].iloc[0] == meta["rule_metadata"][0]["id"]
