"""providers.toml: what a deployment offers; secrets only by reference; a bad entry never stops the backend."""

from __future__ import annotations

import logging

import pytest

from shotbridge.models import ProviderKind
from shotbridge_backend.operations import CATALOGUE
from shotbridge_backend.providers import ConfigError, ProviderAdapter, ProviderFacts, Registry
from shotbridge_backend.providers import registry as reg
from shotbridge_backend.providers.base import Task


class Keyed(ProviderAdapter):
    type = "keyed"
    kind = ProviderKind.cloud
    facts = ProviderFacts(trains_on_inputs=False, retention_days=30, data_location="us")
    tasks = frozenset({Task.text_to_image, Task.inpaint})
    secret_keys = ("api_key",)
    checks = 0

    def health(self) -> str:
        Keyed.checks += 1
        return "" if self.secrets.get("api_key") else "no key"


@pytest.fixture(autouse=True)
def keyed_type(monkeypatch):
    monkeypatch.setitem(reg.TYPES, "keyed", f"{__name__}:Keyed")
    Keyed.checks = 0


def load(tmp_path, text: str) -> Registry:
    path = tmp_path / "providers.toml"
    path.write_text(text)
    return Registry.load(path)


def test_no_file_means_the_local_provider_alone(tmp_path):
    registry = Registry.load(tmp_path / "absent.toml")
    assert list(registry.adapters) == ["local"] and registry.errors == []
    local = registry.describe(CATALOGUE)[0]
    assert local.kind == ProviderKind.local and "inpaint" in local.operations and "detect_shots" in local.operations


def test_secrets_come_from_the_environment_and_facts_follow_the_contract(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYED_API_KEY", "sk-very-secret")
    registry = load(tmp_path, """
[providers.vendor]
type = "keyed"
api_key = "env:KEYED_API_KEY"
retention_days = 0              # Zero Data Retention in our contract
data_location = "eu-west-1"
title = "Vendor (ZDR)"
""")
    vendor = registry.get("vendor")
    assert vendor.secrets == {"api_key": "sk-very-secret"} and "api_key" in vendor.config
    (described,) = [p for p in registry.describe(CATALOGUE) if p.name == "vendor"]
    assert (described.retention_days, described.data_location, described.title) == (0, "eu-west-1", "Vendor (ZDR)")
    assert described.available and described.operations == ["generate_image", "inpaint"]
    assert "sk-very-secret" not in described.model_dump_json()


def test_a_secret_written_into_the_file_is_refused_and_the_provider_is_off(tmp_path, caplog):
    registry = load(tmp_path, '[providers.vendor]\ntype = "keyed"\napi_key = "sk-live-123"\n')
    vendor = registry.get("vendor")
    assert vendor.secrets == {}
    assert "never hold the secret itself" in vendor.problem
    (described,) = [p for p in registry.describe(CATALOGUE) if p.name == "vendor"]
    assert not described.available and "env:VARIABLE" in described.reason
    assert "sk-live-123" not in caplog.text and "sk-live-123" not in described.model_dump_json()


def test_a_missing_environment_variable_says_which(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    registry = load(tmp_path, '[providers.vendor]\ntype = "keyed"\napi_key = "env:NOPE_KEY"\n')
    assert "set NOPE_KEY in the backend's environment" in registry.get("vendor").problem


def test_bad_entries_are_listed_and_skipped(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    registry = load(tmp_path, """
[providers.local]
type = "keyed"
[providers.odd]
type = "teleport"
[providers.weird]
type = "keyed"
kind = "orbital"
""")
    assert list(registry.adapters) == ["local"]
    text = " | ".join(registry.errors)
    assert "[providers.local] is reserved" in text and "unknown provider type 'teleport'" in text
    assert "kind must be local, onprem or cloud" in text
    assert "teleport" in caplog.text


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load(tmp_path, "[providers.vendor\ntype=")


def test_keyring_references_resolve_through_the_os_keyring(monkeypatch):
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            return {"shotbridge": {"openai": "from-keyring"}}.get(service, {}).get(username)

        def set_password(self, *a):
            raise NotImplementedError

        def delete_password(self, *a):
            raise NotImplementedError

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        assert reg.resolve_secret("keyring:shotbridge:openai", "x") == "from-keyring"
        with pytest.raises(ConfigError, match="no secret for service 'shotbridge', user 'bedrock'"):
            reg.resolve_secret("keyring:shotbridge:bedrock", "x")
    finally:
        keyring.set_keyring(previous)
    with pytest.raises(ConfigError, match="unknown secret source 'vault:'"):
        reg.resolve_secret("vault:kv/openai", "x")


def test_health_is_cached_so_listings_stay_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYED_API_KEY", "k")
    registry = load(tmp_path, '[providers.vendor]\ntype = "keyed"\napi_key = "env:KEYED_API_KEY"\n')
    registry.describe(CATALOGUE)
    registry.describe(CATALOGUE)
    assert Keyed.checks == 1
    registry.forget_health("vendor")
    registry.describe(CATALOGUE)
    assert Keyed.checks == 2
