"""`shotbridge doctor`: what works here, what does not, and why."""

from __future__ import annotations

import importlib.util
import os
import stat
from dataclasses import dataclass

from . import config
from .errors import ApiError, BackendUnreachable


@dataclass
class Check:
    name: str
    level: str  # ok | warn | fail
    detail: str


OPTIONAL = {
    "panel (Qt)": ("qtpy", "pip install 'shotbridge[panel]'"),
    "backend": ("fastapi", "pip install 'shotbridge[backend]'"),
}


def models_line(models: list) -> str:
    """'needs vae/a.safetensors (have), checkpoints/b.safetensors (MISSING: download <url>)'."""
    parts = []
    for m in models:
        state = "have" if m.present else ("not checked" if m.present is None else
                                          "MISSING" + (f": download {m.url}" if m.url else ""))
        parts.append(f"{m.folder + '/' if m.folder else ''}{m.name} ({state})")
    return "needs " + ", ".join(parts) if parts else "needs no model files"


def template_checks(provider) -> list[Check]:
    """One check per workflow template of a provider: its task, whether it can run there, its model files.
    A template that cannot run is a warning on that template alone."""
    checks = []
    for t in provider.templates:
        size = f" ({t.size_gb:g} GB of models)" if t.size_gb else ""
        state = "runs" if t.available else t.reason
        missing = any(m.present is False for m in t.models)
        level = "ok" if t.available and not missing else "warn"
        checks.append(Check(f"template {provider.name}/{t.name}", level,
                            f"{t.task}: {state}; {models_line(t.models)}{size}"))
    return checks


def run_checks(url: str | None = None) -> list[Check]:
    from .client import Client

    checks: list[Check] = []
    settings = config.load_settings()
    url = url or settings.url
    token_file = config.token_path()
    if os.environ.get("SHOTBRIDGE_TOKEN"):
        checks.append(Check("token", "ok", "from $SHOTBRIDGE_TOKEN"))
    elif token_file.exists():
        mode = stat.S_IMODE(token_file.stat().st_mode)
        if mode & 0o077:
            checks.append(Check("token", "warn", f"{token_file} is readable by others (mode {mode:o}); "
                                                 f"run: chmod 600 {token_file}"))
        else:
            checks.append(Check("token", "ok", f"{token_file} (mode 600)"))
    else:
        checks.append(Check("token", "fail", f"no token: {token_file} is missing. Start the backend once with "
                                             "`shotbridge serve` (it creates one) or set SHOTBRIDGE_TOKEN."))
    for name, (module, how) in OPTIONAL.items():
        if importlib.util.find_spec(module):
            checks.append(Check(name, "ok", f"{module} importable"))
        else:
            checks.append(Check(name, "warn", f"{module} not installed here: {how}"))
    client = Client(url, settings.token, retries=0, timeout=5)
    try:
        health = client.health()
    except BackendUnreachable as exc:
        checks.append(Check("backend", "fail", str(exc)))
        return checks
    checks.append(Check("backend", "ok", f"{url} answers (version {health.version})"))
    try:
        operations = client.operations()
        providers = client.providers()
    except ApiError as exc:
        checks.append(Check("token accepted", "fail", str(exc)))
        return checks
    checks.append(Check("token accepted", "ok", "the backend knows this token"))
    up = {p.name for p in providers if p.available}
    for op in operations:
        if op.routes:  # generative: per provider, whether it can run this operation now (its templates)
            able = [r for r in op.routes if r.available and r.provider in up]
            if op.available and able:
                shown = [r.provider + (f" ({', '.join(r.templates)})" if r.templates else "") for r in able]
                cannot = [f"{r.provider}: {r.reason}" for r in op.routes if r not in able]
                checks.append(Check(f"operation {op.name}", "ok", f"via {', '.join(shown)}"
                                    + (f"; cannot: {'; '.join(cannot)}" if cannot else "")))
            else:
                reason = op.reason or "; ".join(f"{r.provider}: {r.reason}" for r in op.routes)
                checks.append(Check(f"operation {op.name}", "warn", reason))
            continue
        usable = [name for name in op.providers if name in up]
        if op.available and usable:
            down = [name for name in op.providers if name not in up]
            checks.append(Check(f"operation {op.name}", "ok", f"via {', '.join(usable)}"
                                + (f" ({', '.join(down)} unavailable)" if down else "")))
        else:
            reason = op.reason or (f"its providers ({', '.join(op.providers)}) are unavailable; see below"
                                   if op.providers else "no provider implements it")
            checks.append(Check(f"operation {op.name}", "warn", reason))
    for p in providers:
        level = "ok" if p.available else "warn"
        promise = (f"trains on inputs: {'yes' if p.trains_on_inputs else 'no'}; keeps data {p.retention_days} d; "
                   f"data in {p.data_location}")
        checks.append(Check(f"provider {p.name}", level, promise if p.available else p.reason))
        checks.extend(template_checks(p))
    return checks
