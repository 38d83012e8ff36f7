"""Which of our events each Sigma logsource means, and what Sigma's field names are called here.

A Sigma rule names a *logsource* (``product``/``category``/``service``) and fields in the vocabulary
of that source (``Image``, ``CommandLine`` for Windows; ``cs-uri-query`` for web servers). sopkit
keeps every event in one normalized table (:mod:`sopkit.logs.schema`), so this module says, once and
declaratively, for each supported logsource:

* which events feed it (:class:`Part`: reader ``source``, Windows ``Channel``/``EventID``, program),
  with per-part column renames (Security 4688 reports ``NewProcessName`` where Sysmon 1 has ``Image``);
* whether its columns are the format's own field names with a prefix stripped (``win.Image`` →
  ``Image``, ``zeek.query`` → ``query``) or the normalized columns (Linux, web, firewall);
* how Sigma field names map onto those columns (:attr:`Logsource.fields`), applied through a pySigma
  :class:`~sigma.processing.pipeline.ProcessingPipeline` (:func:`pipeline_for`) that also names the
  SQLite table the rule runs against.

Logsources not listed here are reported as unsupported rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation, SetStateTransformation

SYSMON = "Microsoft-Windows-Sysmon/Operational"


@dataclass(frozen=True)
class Part:
    """One slice of the event table that feeds a logsource table."""

    sources: tuple[str, ...]
    channels: tuple[str, ...] = ()  #: ``win.Channel`` values (case-insensitive); empty: any
    event_ids: tuple[int, ...] = ()  #: ``event_id`` values; empty: any
    programs: tuple[str, ...] = ()  #: ``program`` values (case-insensitive); empty: any
    zeek_paths: tuple[str, ...] = ()  #: ``zeek.path`` (log type) values; empty: any
    renames: dict[str, str] = field(default_factory=dict)  #: table column ← column of this part


@dataclass(frozen=True)
class Logsource:
    """A Sigma logsource we can evaluate: its SQLite table, the events in it, its field names."""

    name: str  #: SQLite table name
    product: str | None
    category: str | None
    service: str | None
    parts: tuple[Part, ...]
    prefix: str = ""  #: expose columns with this prefix, stripped; "" exposes the normalized columns
    fields: dict[str, str] = field(default_factory=dict)  #: Sigma field → table column

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        return (self.product, self.category, self.service)


def _win_service(name: str, *channels: str) -> Logsource:
    return Logsource(f"win_{name.replace('-', '_')}", "windows", None, name,
                     (Part(("winevt",), channels=channels),), prefix="win.")


def _sysmon(category: str, *event_ids: int) -> Logsource:
    return Logsource(f"win_{category}", "windows", category, None,
                     (Part(("winevt",), channels=(SYSMON,), event_ids=event_ids),), prefix="win.")


#: Security 4688 under Sysmon 1's names (what Sigma's process_creation rules use)
SECURITY_4688 = {"Image": "NewProcessName", "ParentImage": "ParentProcessName", "ProcessId": "NewProcessId",
                 "User": "SubjectUserName", "LogonId": "SubjectLogonId"}

WINDOWS: tuple[Logsource, ...] = (
    _win_service("security", "Security"),
    _win_service("system", "System"),
    _win_service("application", "Application"),
    _win_service("sysmon", SYSMON),
    _win_service("powershell", "Microsoft-Windows-PowerShell/Operational"),
    _win_service("powershell-classic", "Windows PowerShell"),
    _win_service("taskscheduler", "Microsoft-Windows-TaskScheduler/Operational"),
    _win_service("wmi", "Microsoft-Windows-WMI-Activity/Operational"),
    _win_service("windefend", "Microsoft-Windows-Windows Defender/Operational"),
    _win_service("bits-client", "Microsoft-Windows-Bits-Client/Operational"),
    _win_service("codeintegrity-operational", "Microsoft-Windows-CodeIntegrity/Operational"),
    _win_service("firewall-as", "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"),
    _win_service("ntlm", "Microsoft-Windows-NTLM/Operational"),
    _win_service("dns-server", "DNS Server"),
    _win_service("terminalservices-localsessionmanager",
                 "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"),
    _win_service("applocker", "Microsoft-Windows-AppLocker/EXE and DLL", "Microsoft-Windows-AppLocker/MSI and Script",
                 "Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution"),
    _win_service("openssh", "OpenSSH/Operational"),
    _win_service("driver-framework", "Microsoft-Windows-DriverFrameworks-UserMode/Operational"),
    Logsource("win_process_creation", "windows", "process_creation", None, (
        Part(("winevt",), channels=(SYSMON,), event_ids=(1,)),
        Part(("winevt",), channels=("Security",), event_ids=(4688,), renames=SECURITY_4688),
    ), prefix="win."),
    _sysmon("network_connection", 3),
    _sysmon("process_termination", 5),
    _sysmon("driver_load", 6),
    _sysmon("image_load", 7),
    _sysmon("create_remote_thread", 8),
    _sysmon("raw_access_thread", 9),
    _sysmon("process_access", 10),
    _sysmon("file_event", 11),
    _sysmon("registry_add", 12),
    _sysmon("registry_delete", 12),
    _sysmon("registry_set", 13),
    _sysmon("registry_rename", 14),
    _sysmon("registry_event", 12, 13, 14),
    _sysmon("create_stream_hash", 15),
    _sysmon("pipe_created", 17, 18),
    _sysmon("wmi_event", 19, 20, 21),
    _sysmon("dns_query", 22),
    _sysmon("file_delete", 23, 26),
    _sysmon("clipboard_capture", 24),
    _sysmon("process_tampering", 25),
    _sysmon("file_block_executable", 27),
    _sysmon("sysmon_status", 4, 16),
    _sysmon("sysmon_error", 255),
    Logsource("win_ps_module", "windows", "ps_module", None,
              (Part(("winevt",), channels=("Microsoft-Windows-PowerShell/Operational",), event_ids=(4103,)),),
              prefix="win."),
    Logsource("win_ps_script", "windows", "ps_script", None,
              (Part(("winevt",), channels=("Microsoft-Windows-PowerShell/Operational",), event_ids=(4104,)),),
              prefix="win."),
    Logsource("win_ps_classic_start", "windows", "ps_classic_start", None,
              (Part(("winevt",), channels=("Windows PowerShell",), event_ids=(400,)),), prefix="win."),
)

#: Sigma's Linux field names (and the plain names our own rules use) → normalized columns
LINUX_FIELDS = {"message": "message", "user": "user", "src_ip": "src_ip", "program": "program",
                "host": "host", "action": "action", "outcome": "outcome", "process": "process",
                "pam_user": "user", "pam_rhost": "src_ip", "ProcessName": "program", "Image": "process",
                "CommandLine": "process", "User": "user", "SourceIp": "src_ip"}
LINUX_TEXT = ("auth", "syslog")


def _linux(service: str | None, *programs: str) -> Logsource:
    name = f"linux_{service}" if service else "linux"
    return Logsource(name, "linux", None, service, (Part(LINUX_TEXT, programs=programs),), fields=LINUX_FIELDS)


#: W3C / IIS names that Sigma's webserver rules use → normalized columns
WEB_FIELDS = {
    "cs-uri-query": "url", "cs-uri-stem": "url", "c-uri": "url", "cs-uri": "url", "url": "url",
    "c-useragent": "user_agent", "cs-user-agent": "user_agent", "cs(User-Agent)": "user_agent",
    "user_agent": "user_agent", "sc-status": "http_status", "http_status": "http_status",
    "cs-method": "http_method", "http_method": "http_method", "c-ip": "src_ip", "src_ip": "src_ip",
    "cs-username": "user", "cs-host": "host", "cs-referer": "access.referrer", "cs(Referer)": "access.referrer",
}
FIREWALL_FIELDS = {"src_ip": "src_ip", "dst_ip": "dst_ip", "src_port": "src_port", "dst_port": "dst_port",
                   "action": "action", "SourceIP": "src_ip", "DestinationIP": "dst_ip", "SourcePort": "src_port",
                   "DestinationPort": "dst_port"}

OTHERS: tuple[Logsource, ...] = (
    _linux(None),
    _linux("auth"),
    _linux("syslog"),
    _linux("sshd", "sshd"),
    _linux("sudo", "sudo"),
    _linux("su", "su"),
    _linux("cron", "cron", "CRON", "crond"),
    _linux("vsftpd", "vsftpd"),
    Logsource("webserver", None, "webserver", None, (Part(("access",)),), fields=WEB_FIELDS),
    Logsource("firewall", None, "firewall", None, (Part(("fortigate", "iptables")),), fields=FIREWALL_FIELDS),
    *(Logsource(f"zeek_{svc}", "zeek", None, svc, (Part(("zeek",), zeek_paths=(svc,)),), prefix="zeek.")
      for svc in ("conn", "dns", "http", "ssl", "kerberos", "smb_files", "smb_mapping", "dce_rpc", "rdp",
                  "x509", "weird", "notice", "files", "ntlm")),
)

LOGSOURCES: dict[tuple[str | None, str | None, str | None], Logsource] = {
    ls.key: ls for ls in WINDOWS + OTHERS
}


def find_logsource(product: str | None, category: str | None, service: str | None) -> Logsource | None:
    """The :class:`Logsource` for a rule's logsource triple, or None when sopkit has no such events."""
    def low(v: str | None) -> str | None:
        return v.lower() if isinstance(v, str) else None

    return LOGSOURCES.get((low(product), low(category), low(service)))


def pipeline_for(ls: Logsource) -> ProcessingPipeline:
    """The pySigma pipeline converting rules of ``ls``: table name as state, Sigma fields → columns."""
    def cond() -> list[LogsourceCondition]:  # a condition belongs to one item only
        return [LogsourceCondition(category=ls.category, product=ls.product, service=ls.service)]

    items = [ProcessingItem(SetStateTransformation("table", ls.name), rule_conditions=cond(),
                            identifier=f"sopkit_table_{ls.name}")]
    if ls.fields:
        items.append(ProcessingItem(FieldMappingTransformation(dict(ls.fields)), rule_conditions=cond(),
                                    identifier=f"sopkit_fields_{ls.name}"))
    return ProcessingPipeline(name=f"sopkit {ls.name}", priority=20, items=items)
