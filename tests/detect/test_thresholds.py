"""Thresholds: defaults with meanings, strict YAML loading."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from sopkit.detect.thresholds import Thresholds, load_thresholds, meaning
from sopkit.errors import ParameterError

REPO = Path(__file__).resolve().parents[2]


def test_every_threshold_has_a_meaning_and_the_shipped_file_loads():
    assert all(meaning(f.name) for f in fields(Thresholds))
    th = load_thresholds(REPO / "parameters" / "thresholds.yaml")
    assert th.scan_min_ports == 6 and th.local_nets[0] == "10.0.0.0/8"
    assert load_thresholds(None) == Thresholds()


@pytest.mark.parametrize(("text", "match"), [
    ("scan_min_prots: 5\n", "unknown key 'scan_min_prots'"),
    ("scan_min_ports: many\n", "key 'scan_min_ports' must be int"),
    ("beacon_ignore_ports: [53, x]\n", "key 'beacon_ignore_ports' must be a list of int"),
    ("local_nets: [10.0.0.0/33]\n", "local_nets"),
    ("flood_min_rate: -1\n", "must not be negative"),
    ("- a\n- b\n", "expected a mapping"),
])
def test_bad_files_name_file_and_key(tmp_path, text, match):
    path = tmp_path / "th.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=match) as info:
        load_thresholds(path)
    assert str(path) in str(info.value)


def test_int_accepted_for_float_and_missing_file(tmp_path):
    path = tmp_path / "th.yaml"
    path.write_text("flood_min_rate: 50\n")
    assert load_thresholds(path).flood_min_rate == 50.0
    with pytest.raises(ParameterError, match="cannot read"):
        load_thresholds(tmp_path / "missing.yaml")
