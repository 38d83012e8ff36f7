from __future__ import annotations

import hashlib
import re

import pytest
from nbutil import make_notebook

from sopkit.errors import RenderError
from sopkit.report.render import render_html, render_pdf
from sopkit.runner import run_notebook

PARAMS = ('office = "Diskominfo Kota Contoh"\nlang = "id"\ntimezone = "WITA"\n'
          'period_start = "2026-11-24"\nperiod_end = "2026-11-25"\nreport_number = ""\n')
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render")
    nb = make_notebook(
        tmp / "r.ipynb", PARAMS,
        f"import pandas as pd\npd.set_option('display.max_colwidth', None)\npd.DataFrame({{'url': [{HOSTILE!r}], 'n': [1]}})",
        "import ipywidgets as w\nw.IntSlider(value=3)",
        "print('analyst-only drill-down')",
        "from IPython.display import Javascript, display\ndisplay(Javascript('document.title = \"pwned\"'))",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
        "import sys\nprint('noisy warning', file=sys.stderr)",
        tags={2: ["interactive"]},
    )
    result = run_notebook(nb, {"report_number": "001/LHMTD/XI/2026"}, outputs=tmp / "out", render=False)
    return result.notebook


def test_report_is_self_contained_and_script_free(executed, tmp_path):
    html = render_html(executed, tmp_path / "r.html").read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no remote resources"
    assert "require.js" not in html and "mathjax" not in html.lower()
    assert re.search(r'<img [^>]*src="data:image/png;base64,', html), "plot embedded as data URI"


def test_hostile_strings_are_escaped(executed, tmp_path):
    html = render_html(executed, tmp_path / "r.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "onerror=alert(2)>" not in html


def test_interactive_cells_widgets_js_and_stderr_are_dropped(executed, tmp_path):
    html = render_html(executed, tmp_path / "r.html").read_text()
    assert "analyst-only drill-down" not in html
    assert "IntSlider" not in html and "pwned" not in html
    assert "noisy warning" not in html
    assert "import pandas" not in html, "code hidden by default"
    with_code = render_html(executed, tmp_path / "c.html", with_code=True).read_text()
    assert 'class="highlight' in with_code and "set_option" in with_code
    assert "<script" not in with_code.lower()


def test_header_and_footer(executed, tmp_path):
    html = render_html(executed, tmp_path / "r.html").read_text()
    digest = hashlib.sha256(executed.read_bytes()).hexdigest()
    for text in ("Diskominfo Kota Contoh", "Monitoring Traffic Data", "001/LHMTD/XI/2026",
                 "2026-11-24 – 2026-11-25", "WITA (Asia/Makassar)", digest, "Instansi", "Nomor laporan"):
        assert text in html, text
    assert 'lang="id"' in html


def test_unreadable_notebook(tmp_path):
    with pytest.raises(RenderError, match="absent.ipynb: executed notebook not found"):
        render_html(tmp_path / "absent.ipynb")
    (tmp_path / "junk.ipynb").write_text("not a notebook")
    with pytest.raises(RenderError, match="junk.ipynb: not a readable notebook"):
        render_html(tmp_path / "junk.ipynb")


@pytest.mark.browser
def test_pdf_through_chromium(executed, tmp_path, chromium_path):
    html = render_html(executed, tmp_path / "r.html")
    pdf = render_pdf(html)
    data = pdf.read_bytes()
    assert pdf == tmp_path / "r.pdf" and data.startswith(b"%PDF-")
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 1
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    assert boxes and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes), "A4 pages"
