"""The providers this deployment offers, from providers.toml; secrets from the environment or the OS keyring.

    # ~/.config/shotbridge/providers.toml (or $SHOTBRIDGE_PROVIDERS)
    [providers.gpu]
    type = "comfyui"
    url = "http://gpu01:8188"               # or urls = ["http://gpu01:8188", "http://gpu02:8188"]: a pool

    [providers.openai]
    type = "openai"
    api_key = "env:OPENAI_API_KEY"          # or "keyring:shotbridge:openai"
    retention_days = 0                      # your contract (Zero Data Retention) instead of the published 30

The embedded `local` provider is always there. An entry that cannot work (unknown type, missing secret, a
secret written into the file) is listed as unavailable with the reason; it never stops the backend.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from shotbridge import config as sb_config
from shotbridge.models import Provider, ProviderKind

from .base import ProviderAdapter, ProviderFacts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the backend runs on 3.11+, the core on 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)

TYPES = {
    "local": "shotbridge_backend.providers.local:LocalProvider",
    "comfyui": "shotbridge_backend.providers.comfyui:ComfyUIProvider",
    "openai": "shotbridge_backend.providers.openai:OpenAIProvider",
    "bedrock": "shotbridge_backend.providers.bedrock:BedrockProvider",
}
# Keys every entry may set; anything else is the adapter's own configuration.
FACT_KEYS = ("trains_on_inputs", "retention_days", "data_location")
HEALTH_TTL = 30.0  # seconds a health check is reused for


class ConfigError(ValueError):
    """providers.toml is unreadable or an entry is wrong; the message names the file and the entry."""


def config_path() -> Path:
    return Path(os.environ.get("SHOTBRIDGE_PROVIDERS") or sb_config.config_dir() / "providers.toml")


def resolve_secret(ref: Any, where: str) -> str:
    """`env:NAME` or `keyring:SERVICE:USER`; a literal secret is refused (files get copied and committed)."""
    if not isinstance(ref, str) or ":" not in ref:
        raise ConfigError(f"{where} must name where the secret lives ('env:VARIABLE' or 'keyring:SERVICE:USER'), "
                          "never hold the secret itself")
    scheme, _, rest = ref.partition(":")
    if scheme == "env":
        value = os.environ.get(rest)
        if not value:
            raise ConfigError(f"{where}: set {rest} in the backend's environment")
        return value
    if scheme == "keyring":
        service, _, user = rest.partition(":")
        try:
            import keyring
        except ImportError as exc:
            raise ConfigError(f"{where} uses the OS keyring, but the 'keyring' package is not installed") from exc
        try:
            value = keyring.get_password(service, user)
        except Exception as exc:  # keyring raises its own errors when no keyring backend exists
            raise ConfigError(f"{where}: the OS keyring cannot be read here ({exc})") from exc
        if not value:
            raise ConfigError(f"{where}: no secret for service '{service}', user '{user}' in the OS keyring "
                              f"(`keyring set {service} {user}`)")
        return value
    raise ConfigError(f"{where}: unknown secret source '{scheme}:'; use 'env:VARIABLE' or 'keyring:SERVICE:USER'")


def adapter_class(type_name: str) -> type[ProviderAdapter]:
    target = TYPES.get(type_name)
    if target is None:
        raise ConfigError(f"unknown provider type '{type_name}'; known: {', '.join(sorted(TYPES))}")
    module, _, cls = target.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise ConfigError(f"provider type '{type_name}' needs {exc.name}: pip install 'shotbridge[backend]'") from exc


def build(name: str, entry: dict[str, Any], source: str = "providers.toml") -> ProviderAdapter:
    """One adapter from its entry. Errors in the entry leave it unavailable with the reason (or raise
    ConfigError when not even the type is usable)."""
    entry = dict(entry)
    cls = adapter_class(str(entry.pop("type", "")))
    defaults = cls.facts
    facts = ProviderFacts(
        trains_on_inputs=bool(entry.pop("trains_on_inputs", defaults.trains_on_inputs)),
        retention_days=int(entry.pop("retention_days", defaults.retention_days)),
        data_location=str(entry.pop("data_location", defaults.data_location)),
    )
    kind = entry.pop("kind", None)
    try:
        kind = ProviderKind(kind) if kind is not None else None
    except ValueError:
        raise ConfigError(f"{source} [providers.{name}]: kind must be local, onprem or cloud") from None
    adapter = cls(name, entry, facts=facts, kind=kind, title=entry.pop("title", None))
    adapter.secrets = {}
    for key in getattr(cls, "secret_keys", ()):
        if key not in entry:
            continue
        try:
            adapter.secrets[key] = resolve_secret(entry[key], f"{source} [providers.{name}] {key}")
        except ConfigError as exc:
            adapter.problem = str(exc)
    return adapter


class Registry:
    def __init__(self, adapters: list[ProviderAdapter], errors: list[str] | None = None):
        self.adapters = {a.name: a for a in adapters}
        self.errors = list(errors or [])
        self._health: dict[str, tuple[float, str]] = {}
        # One check at a time per provider: requests arriving while a busy server takes its time over the
        # health check wait for that answer instead of each sending (and waiting for) one of their own.
        self._checking: dict[str, threading.Lock] = {a.name: threading.Lock() for a in adapters}

    @classmethod
    def load(cls, path: Path | None = None) -> Registry:
        path = Path(path or config_path())
        adapters: list[ProviderAdapter] = [adapter_class("local")("local")]
        errors: list[str] = []
        if path.exists():
            try:
                doc = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{path} cannot be read: {exc}") from exc
            for name, entry in (doc.get("providers") or {}).items():
                if name == "local" or not isinstance(entry, dict):
                    errors.append(f"{path}: [providers.{name}] is reserved or not a table; skipped")
                    continue
                try:
                    adapters.append(build(name, entry, str(path)))
                except ConfigError as exc:
                    errors.append(str(exc))
            for error in errors:
                log.warning("providers: %s", error)
        return cls(adapters, errors)

    def share_claims(self, broker_url: str | None) -> None:
        """Studio mode: adapters that claim shared servers (a ComfyUI pool) do it on the broker's Redis."""
        if broker_url:
            for adapter in self.adapters.values():
                if hasattr(adapter, "share_claims"):
                    adapter.share_claims(broker_url)

    def get(self, name: str) -> ProviderAdapter | None:
        return self.adapters.get(name)

    def implementing(self, op) -> list[ProviderAdapter]:
        """Providers that can run the operation: analysis runs in process (local); generation goes to any
        provider whose tasks include the operation's."""
        task = getattr(op, "task", None)
        if task is None:
            return [self.adapters["local"]] if not op.unavailable_reason() else []
        return [a for a in self.adapters.values() if a.supports(task)]

    def health(self, adapter: ProviderAdapter) -> str:
        if adapter.problem:
            return adapter.problem
        with self._checking.setdefault(adapter.name, threading.Lock()):
            now = time.monotonic()
            cached = self._health.get(adapter.name)
            if cached and now - cached[0] < HEALTH_TTL:
                return cached[1]
            try:
                reason = adapter.health()
            except Exception as exc:  # a health check must never break a listing
                reason = f"health check failed: {type(exc).__name__}: {exc}"
            self._health[adapter.name] = (time.monotonic(), reason)
            return reason

    def forget_health(self, name: str) -> None:
        self._health.pop(name, None)

    def describe(self, catalogue: dict) -> list[Provider]:
        adapters = list(self.adapters.values())
        with ThreadPoolExecutor(max_workers=max(1, len(adapters))) as pool:
            reasons = list(pool.map(self.health, adapters))
        out = []
        for adapter, reason in zip(adapters, reasons, strict=True):
            ops = sorted(name for name, op in catalogue.items() if adapter in self.implementing(op))
            out.append(adapter.describe(ops, reason))
        return out
