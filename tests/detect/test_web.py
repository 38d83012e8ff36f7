from __future__ import annotations

import pandas as pd
import pytest

from sopkit.detect.web import attack_summary, classify_requests, decode_url

MOZILLA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
CASES = [
    ("/produk?id=1' OR '1'='1", MOZILLA, {"sqli"}),
    ("/produk?id=1%20UNION%20ALL%20SELECT%20null,version()--", MOZILLA, {"sqli"}),
    ("/produk?id=1;WAITFOR DELAY '0:0:5'", MOZILLA, {"sqli"}),
    ("/cari?q=%253Cscript%253Ealert(1)%253C/script%253E", MOZILLA, {"xss"}),
    ("/kontak?nama=<img src=x onerror=alert(1)>", MOZILLA, {"xss"}),
    ("/unduh?file=../../../../etc/passwd", MOZILLA, {"path_traversal"}),
    ("/ping?host=127.0.0.1;cat /etc/shadow", MOZILLA, {"command_injection", "path_traversal"}),
    ("/uploads/wso.php?cmd=id", MOZILLA, {"webshell", "command_injection"}),
    ("/.env", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None)", {"scanner", "sensitive_file"}),
    ("/", "sqlmap/1.7.2#stable (https://sqlmap.org)", {"scanner"}),
]
BENIGN = [
    "/berita/2026/11/select-the-best-from-our-region",
    "/download/renstra-2025-2029.pdf",
    "/cari?q=union+budget+2026",
    "/ppid/informasi-berkala?tahun=2026&page=2",
    "/assets/js/app.min.js?v=3.1.4",
    "/galeri/foto-kegiatan-bupati",
    "/agenda?bulan=11&order=desc",
]


def frame(urls, agents):
    n = len(urls)
    return pd.DataFrame({"url": urls, "user_agent": agents, "src_ip": ["198.51.100.7"] * n,
                         "status": [200] * n, "ts": pd.date_range("2026-11-24", periods=n, freq="s", tz="UTC")})


@pytest.mark.parametrize(("url", "agent", "expected"), CASES)
def test_attack_categories(url, agent, expected):
    got = classify_requests(frame([url], [agent])).loc[0, "attack"]
    assert set(got.split(",")) == expected


def test_benign_urls_do_not_match():
    classified = classify_requests(frame(BENIGN, [MOZILLA] * len(BENIGN)))
    assert list(classified["attack"]) == [""] * len(BENIGN)


def test_double_decoding_and_summary():
    assert decode_url("%253Cscript%253E") == "<script>"
    urls = [c[0] for c in CASES] + BENIGN
    agents = [c[1] for c in CASES] + [MOZILLA] * len(BENIGN)
    summary = attack_summary(classify_requests(frame(urls, agents)))
    counts = dict(zip(summary["category"], summary["requests"], strict=True))
    assert counts == {"sqli": 3, "xss": 2, "path_traversal": 2, "command_injection": 2, "webshell": 1,
                      "scanner": 2, "sensitive_file": 1}
    assert set(summary["src_ip"]) == {"198.51.100.7"}
