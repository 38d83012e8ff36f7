from __future__ import annotations

import pytest
from nbutil import make_notebook

from sopkit.errors import NotebookError, ParameterError
from sopkit.params import input_files, load_parameters_file, notebook_parameters, parse_override, validate

PARAMS = (
    'office = "Diskominfo"  # office name\n'
    "threshold: float = 2.5  # a float\n"
    "count = 3\n"
    "flag = True\n"
    'captures = []  # input: capture files\n'
    'log = ""  # input: one log file\n'
    "anything = None\n"
)


@pytest.fixture
def specs(tmp_path):
    return notebook_parameters(make_notebook(tmp_path / "nb.ipynb", PARAMS))


def test_specs_types_and_inputs(specs):
    assert {k: s.type_name for k, s in specs.items()} == {
        "office": "str", "threshold": "float", "count": "int", "flag": "bool", "captures": "list",
        "log": "str", "anything": "any"}
    assert [k for k, s in specs.items() if s.is_input] == ["captures", "log"]
    assert specs["threshold"].default == 2.5


def test_validate_accepts_and_resolves_inputs(specs, tmp_path):
    (tmp_path / "a.pcap").write_bytes(b"x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.pcap").write_bytes(b"y")
    out = validate(specs, {"threshold": 3, "captures": ["a.pcap", "d"], "anything": [1]}, source="p.yaml",
                   base_dir=tmp_path)
    assert out["threshold"] == 3
    assert out["captures"] == [str(tmp_path / "a.pcap"), str(tmp_path / "d")]
    files = input_files(specs, out)
    assert [f.name for f in files] == ["a.pcap", "b.pcap"]


def test_single_path_for_list_parameter(specs, tmp_path):
    (tmp_path / "a.pcap").write_bytes(b"x")
    assert validate(specs, {"captures": "a.pcap"}, source="-p", base_dir=tmp_path)["captures"] == [
        str(tmp_path / "a.pcap")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ofice": "x"}, "p.yaml: unknown parameter 'ofice'"),
        ({"count": "three"}, "p.yaml: parameter 'count' must be int, got str"),
        ({"count": True}, "parameter 'count' must be int, got bool"),
        ({"flag": 1}, "parameter 'flag' must be bool"),
        ({"captures": ["missing.pcap"]}, "parameter 'captures': input file not found: missing.pcap"),
        ({"captures": ["*.nothing"]}, "parameter 'captures': no file matches '*.nothing'"),
    ],
)
def test_validate_rejects(specs, tmp_path, params, message):
    with pytest.raises(ParameterError, match=message.replace("*", r"\*").replace("(", r"\(")):
        validate(specs, params, source="p.yaml", base_dir=tmp_path)


def test_yaml_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("office: x\n  threshold: [1, 2\n")
    with pytest.raises(ParameterError, match=r"bad.yaml: malformed YAML at line \d+"):
        load_parameters_file(bad)
    seq = tmp_path / "seq.yaml"
    seq.write_text("- a\n- b\n")
    with pytest.raises(ParameterError, match="seq.yaml: expected a mapping"):
        load_parameters_file(seq)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("office: Dinas Komunikasi \xe9\n".encode("latin-1"))
    with pytest.raises(ParameterError, match="latin.yaml: not UTF-8"):
        load_parameters_file(latin)
    with pytest.raises(ParameterError, match="nothing.yaml: parameters file not found"):
        load_parameters_file(tmp_path / "nothing.yaml")


def test_overrides_are_yaml_scalars():
    assert parse_override("count", "5") == ("count", 5)
    assert parse_override("flag", "false") == ("flag", False)
    assert parse_override("office", "Dinas: [x") == ("office", "Dinas: [x")


def test_notebook_without_parameters_cell(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, str(tmp_path / "plain.ipynb"))
    with pytest.raises(NotebookError, match="plain.ipynb: no cell tagged 'parameters'"):
        notebook_parameters(tmp_path / "plain.ipynb")
    with pytest.raises(NotebookError, match="absent.ipynb: notebook not found"):
        notebook_parameters(tmp_path / "absent.ipynb")
    (tmp_path / "junk.ipynb").write_text("{not json")
    with pytest.raises(NotebookError, match="junk.ipynb: cannot read notebook"):
        notebook_parameters(tmp_path / "junk.ipynb")
