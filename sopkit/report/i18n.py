"""Report wording in Bahasa Indonesia (the default) and English.

One declarative table, keyed by a stable message id, so notebooks and templates never hard-code a
language. Missing translations fail loudly in tests rather than showing a key to a reader.

Numbers follow the language too: Bahasa Indonesia writes ``1.234.567`` and ``40,1 MB`` (point for
thousands, comma for decimals), English ``1,234,567`` and ``40.1 MB``. An Indonesian reader takes
``1.234`` for one thousand two hundred thirty-four, so a number in the wrong style is a wrong number.
:func:`number` and :func:`size` are a few lines of our own rather than Babel: Babel is not a
dependency, and the two fixed styles need no locale data — Python's own ``format`` groups the digits
and only the two separator characters are swapped for Indonesian.
"""

from __future__ import annotations

import math
import numbers

from sopkit.errors import ParameterError

LANGUAGES = ("id", "en")

#: message id → (Bahasa Indonesia, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "office": ("Instansi", "Office"),
    "sop": ("SOP", "SOP"),
    "report_number": ("Nomor laporan", "Report number"),
    "period": ("Periode", "Period"),
    "timezone": ("Zona waktu", "Time zone"),
    "generated": ("Dibuat", "Generated"),
    "run_id": ("ID eksekusi", "Run id"),
    "version": ("Versi sopkit", "sopkit version"),
    "notebook_sha256": ("SHA-256 notebook tereksekusi", "SHA-256 of the executed notebook"),
    "page": ("Halaman", "Page"),
    "sop_traffic": ("Monitoring Traffic Data", "Traffic Data Monitoring"),
    "sop_system": ("Monitoring Sistem Elektronik", "Electronic System Monitoring"),
    "overview_title": ("Ringkasan Data Monitoring Harian", "Daily Monitoring Data Overview"),
    "data_sources": ("Sumber data", "Data sources"),
    "file": ("Berkas", "File"),
    "kind": ("Jenis", "Kind"),
    "size_bytes": ("Ukuran (byte)", "Size (bytes)"),
    "sha256": ("SHA-256", "SHA-256"),
    "records": ("Jumlah rekaman", "Records"),
    "first_seen": ("Awal", "First"),
    "last_seen": ("Akhir", "Last"),
    "rejected": ("Ditolak", "Rejected"),
    "packets_over_time": ("Paket per 10 menit", "Packets per 10 minutes"),
    "time_local": ("Waktu", "Time"),
    "packets": ("Paket", "Packets"),
    "requests": ("Permintaan", "Requests"),
    "web_requests": ("Akses web server", "Web server access"),
    "top_urls": ("URL terbanyak diakses", "Most requested URLs"),
    "status_mix": ("Kode status HTTP", "HTTP status codes"),
    "top_clients": ("Klien terbanyak", "Top clients"),
    "client": ("Klien", "Client"),
    "url": ("URL", "URL"),
    "status": ("Status", "Status"),
    "count": ("Jumlah", "Count"),
    "rejected_lines": ("Baris yang ditolak", "Rejected lines"),
    "line": ("Baris", "Line"),
    "reason": ("Alasan", "Reason"),
    "none": ("Tidak ada", "None"),
    "web_attack_patterns": ("Permintaan yang cocok dengan pola serangan web",
                            "Requests matching web-attack patterns"),
    "web_attack_examples": ("Contoh permintaan (ditampilkan apa adanya, sebagai teks)",
                            "Example requests (shown verbatim, as text)"),
    "category": ("Kategori", "Category"),
    "distinct_urls": ("URL berbeda", "Distinct URLs"),
    "user_agent": ("User agent", "User agent"),
    "bandwidth_title": ("Volume traffic sepanjang hari", "Traffic volume over the day"),
    "bytes_per_interval": ("Byte per interval", "Bytes per interval"),
    "bytes_sent": ("Byte dikirim", "Bytes sent"),
    "bytes_received": ("Byte diterima", "Bytes received"),
    "bytes": ("Byte", "Bytes"),
    "local_host": ("Host lokal", "Local host"),
    "approvals": ("Persetujuan", "Approvals"),
    "events_over_time": ("Kejadian log per jam menurut sumber", "Log events per hour by source"),
    "traffic_title": ("Laporan Hasil Monitoring Traffic Data", "Traffic Data Monitoring Report"),
    "summary": ("Ringkasan", "Summary"),
    "statistics": ("Statistik traffic", "Traffic statistics"),
    "findings": ("Temuan", "Findings"),
    "finding": ("Temuan", "Finding"),
    "findings_detail": ("Rincian temuan", "Findings in detail"),
    "severity": ("Tingkat", "Severity"),
    "number": ("No.", "No."),
    "detector": ("Detektor", "Detector"),
    "explanation": ("Penjelasan", "Explanation"),
    "recommendation": ("Rekomendasi", "Recommendation"),
    "entities": ("Entitas", "Entities"),
    "figures": ("Angka", "Figures"),
    "evidence": ("Bukti", "Evidence"),
    "history": ("Perbandingan dengan riwayat", "Comparison with history"),
    "history_none": ("Belum ada riwayat sebelum hari ini: perbandingan dimulai pada pemantauan berikutnya.",
                     "No history before this day yet: comparisons start with the next monitoring run."),
    "window_days": ("Jendela (hari)", "Window (days)"),
    "days_on_record": ("Hari tercatat", "Days on record"),
    "new_hosts": ("Host baru", "New hosts"),
    "new_destinations": ("Tujuan eksternal baru", "New external destinations"),
    "volume_jumps": ("Host dengan volume ≥ 3× median", "Hosts with volume ≥ 3× median"),
    "host_summary": ("Ringkasan per host lokal", "Per local host"),
    "host": ("Host", "Host"),
    "metric": ("Ukuran", "Measure"),
    "value": ("Nilai", "Value"),
    "flows": ("Koneksi", "Connections"),
    "external_destinations": ("Tujuan eksternal", "External destinations"),
    "decoder_skipped": ("Bagian capture yang tidak dapat diproses", "Capture parts that could not be used"),
    "flows_opened": ("Koneksi dibuka", "Connections opened"),
    "flows_received": ("Koneksi diterima", "Connections received"),
    "external_peers": ("Lawan eksternal", "External peers"),
    "dst_ports": ("Port tujuan", "Destination ports"),
    "port": ("Port", "Port"),
    "protocol": ("Protokol", "Protocol"),
    "share": ("Porsi", "Share"),
    "direction": ("Arah", "Direction"),
    "peers": ("Lawan bicara", "Peers"),
    "role": ("Jabatan", "Role"),
    "approval_kind": ("Bentuk", "Form"),
    "name": ("Nama", "Name"),
    "signature_box": ("Paraf / tanda tangan", "Initials / signature"),
    "approval_prepared": ("Disusun oleh", "Prepared by"),
    "approval_paraf": ("Paraf", "Initials (paraf)"),
    "approval_tanda_tangan": ("Tanda tangan", "Signature"),
    "approved_at": ("Disetujui", "Approved"),
    "prepared": ("Disusun", "Prepared"),
    "pending": ("Menunggu persetujuan", "Pending approval"),
    "external_host": ("Host eksternal", "External host"),
    "connections": ("Koneksi", "Connections"),
    "top_talkers": ("Host dengan traffic terbesar", "Top talkers"),
    "service_mix": ("Komposisi protokol dan port", "Protocol and port mix"),
    "direction_mix": ("Traffic internal dan eksternal", "Internal and external traffic"),
    "dir_internal": ("Internal", "Internal"),
    "dir_outbound": ("Keluar", "Outbound"),
    "dir_inbound": ("Masuk", "Inbound"),
    "dir_external": ("Eksternal", "External"),
    "log_title": ("Laporan Analisis Log Keamanan (Daftar Security Log Analysis)", "Security Log Analysis Report"),
    "log_format": ("Format", "Format"),
    "events": ("Peristiwa", "Events"),
    "failures": ("Gagal", "Failures"),
    "sigma_alerts": ("Peringatan aturan Sigma", "Sigma rule alerts"),
    "sigma_loaded": ("Aturan dimuat", "Rules loaded"),
    "sigma_skipped": ("Aturan dilewati", "Rules skipped"),
    "sigma_evaluated": ("Aturan dievaluasi", "Rules evaluated"),
    "sigma_fired": ("Aturan terpicu", "Rules fired"),
    "sigma_alert_count": ("Jumlah peringatan", "Alerts"),
    "level": ("Tingkat", "Level"),
    "rule": ("Aturan", "Rule"),
    "pivot_src_ip": ("Alamat IP sumber teratas", "Top source IPs"),
    "pivot_user": ("Akun teratas", "Top users"),
    "pivot_host": ("Host teratas", "Top hosts"),
    "triage_list": ("Daftar anomali untuk triase", "Anomaly list for triage"),
    "finding_id": ("ID temuan", "Finding id"),
}


def check_language(lang: str) -> str:
    """Validate a report language code (``id`` or ``en``) and return it."""
    if lang not in LANGUAGES:
        raise ParameterError(f"unknown report language {lang!r}: use 'id' (Bahasa Indonesia) or 'en' (English)")
    return lang


def t(key: str, lang: str = "id") -> str:
    """The message ``key`` in ``lang``; ``KeyError`` for an unknown key (a bug, not user input)."""
    indo, eng = MESSAGES[key]
    return indo if check_language(lang) == "id" else eng


#: (thousands separator, decimal separator) per report language
SEPARATORS = {"id": (".", ","), "en": (",", ".")}
#: decimal byte units (1 KB = 1000 bytes), as the traffic reports count them
SIZE_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def number(value: object, lang: str = "id", decimals: int | None = None) -> str:
    """``value`` written the way a reader of ``lang`` expects: ``1.234.567`` / ``1,5`` (id), ``1,234,567`` / ``1.5`` (en).

    Integers are grouped by thousands and never get decimals. Floats get ``decimals`` places (rounded,
    trailing zeros kept); with ``decimals=None`` a whole float is written as an integer and any other
    float with at most two decimals, trailing zeros dropped (``2,5`` rather than ``2,50``), which suits
    counts stored as floats. ``None``, NaN and ``pd.NA`` give ``"-"`` (the reports' sign for "no value");
    infinities give ``∞``. Anything that is not a number (text, booleans) is returned as ``str(value)``.
    """
    thousands, point = SEPARATORS[check_language(lang)]
    if value is None or value is _pd_na():
        return "-"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral) and decimals is None:
        text = f"{int(value):,}"
    else:
        x = float(value)
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return "∞" if x > 0 else "-∞"
        if decimals is None:
            text = f"{x:,.0f}" if x == round(x) else f"{x:,.2f}".rstrip("0").rstrip(".")
        else:
            text = f"{x:,.{max(int(decimals), 0)}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # -0.0 rounded is just 0
    return text.translate(str.maketrans({",": thousands, ".": point}))


def size(n_bytes: object, lang: str = "id", decimals: int = 1) -> str:
    """A byte count in the largest decimal unit below 1000 of it: ``40,1 MB`` (id), ``40.1 MB`` (en), ``512 B``.

    Plain bytes are whole numbers; larger units get ``decimals`` places. ``None``/NaN give ``"-"``.
    """
    check_language(lang)
    if n_bytes is None or n_bytes is _pd_na() or not isinstance(n_bytes, numbers.Real) or math.isnan(float(n_bytes)):
        return "-"
    value = float(n_bytes)
    for unit in SIZE_UNITS:
        if abs(value) < 999.95 or unit == SIZE_UNITS[-1]:
            break
        value /= 1000
    return f"{number(value, lang, 0 if unit == 'B' else decimals)} {unit}"


def _pd_na() -> object:
    """``pandas.NA`` when pandas is loaded (it always is in a report), so it reads as "no value"."""
    import sys

    pd = sys.modules.get("pandas")
    return getattr(pd, "NA", None) if pd is not None else None
