"""Run pip-audit on the installed environment and tell apart "vulnerable" from "not checked".

pip-audit asks a vulnerability database over the network: PyPI's JSON API, the
registry the project installs from, and OSV only when PIP_AUDIT_SERVICES names
it (e.g. PIP_AUDIT_SERVICES=pypi,osv), so a run contacts no other host unless
asked to. A known vulnerability always fails. When neither
database can be reached (an offline machine, or a package mirror without PyPI's
JSON API), pip-audit itself reports success with every package "skipped": this
script says so loudly instead, and fails only if REQUIRE_PIP_AUDIT=1 (set it
where the network is known to be there, so a broken audit cannot pass unseen).

    .venv/bin/python scripts/audit_dependencies.py
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

SERVICES = tuple(
    name.strip() for name in os.environ.get("PIP_AUDIT_SERVICES", "pypi").split(",") if name.strip()
)
TIMEOUT_SECONDS = "15"


@dataclass
class Audit:
    """What one vulnerability service said about the environment."""

    service: str
    vulnerable: list[str] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failure: str = ""


def run(service: str) -> Audit:
    """Ask one service about every installed package but the project itself (editable)."""
    audit = Audit(service)
    command = [
        sys.executable, "-m", "pip_audit", "--skip-editable", "--format", "json",
        "--progress-spinner", "off", "--timeout", TIMEOUT_SECONDS,
        "--vulnerability-service", service,
    ]  # fmt: skip
    # A fixed command: this interpreter and constant arguments.
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        audit.failure = f"pip-audit exited {result.returncode}: {last}"
        return audit
    for dependency in report.get("dependencies", []):
        name = f"{dependency['name']} {dependency.get('version', '')}".strip()
        if "skip_reason" in dependency:
            audit.skipped[name] = dependency["skip_reason"]
            continue
        audit.audited.append(name)
        for vulnerability in dependency.get("vulns", []):
            fixes = ", ".join(vulnerability.get("fix_versions", [])) or "none yet"
            audit.vulnerable.append(f"{name}: {vulnerability['id']} (fixed in {fixes})")
    return audit


def main() -> int:
    """Audit with the first service that can check the packages; 1 if vulnerable (or unchecked)."""
    required = os.environ.get("REQUIRE_PIP_AUDIT", "").lower() in ("1", "true", "yes")
    audits = []
    for service in SERVICES:
        audit = run(service)
        audits.append(audit)
        if audit.audited:
            break
    audit = audits[-1]

    if audit.vulnerable:
        print(f"pip-audit ({audit.service}): known vulnerabilities:")
        print("\n".join(f"  {line}" for line in audit.vulnerable))
        return 1
    if audit.audited:
        print(f"pip-audit ({audit.service}): {len(audit.audited)} packages, no known vulnerability")
        if audit.skipped:
            print(f"  not checked ({len(audit.skipped)}): " + ", ".join(sorted(audit.skipped)))
        return 1 if required and audit.skipped else 0

    print("pip-audit: NOT AUDITED - no vulnerability database could be reached:")
    for tried in audits:
        why = tried.failure or next(iter(tried.skipped.values()), "no package reported")
        print(f"  {tried.service}: {why}")
    if required:
        print("  REQUIRE_PIP_AUDIT is set: failing.")
        return 1
    print("  Set REQUIRE_PIP_AUDIT=1 where the network is available to make this fail.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
