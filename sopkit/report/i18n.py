"""Report wording in Bahasa Indonesia (the default) and English.

One declarative table, keyed by a stable message id, so notebooks and templates never hard-code a
language. Missing translations fail loudly in tests rather than showing a key to a reader.
"""

from __future__ import annotations

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
