from __future__ import annotations

import stat

from shotbridge import config


def test_secret_is_written_0600(tmp_path):
    path = tmp_path / "cfg" / "token"
    config.write_secret(path, "sbt_x\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_token_from_config_dir_and_env(monkeypatch):
    config.write_secret(config.token_path(), "sbt_file\n")
    assert config.read_token() == "sbt_file"
    monkeypatch.setenv("SHOTBRIDGE_TOKEN", "sbt_env")
    assert config.read_token() == "sbt_env"


def test_settings_persist(monkeypatch):
    config.save_settings(url="http://127.0.0.1:9999", project="show")
    settings = config.load_settings()
    assert settings.url == "http://127.0.0.1:9999" and settings.project == "show"
    monkeypatch.setenv("SHOTBRIDGE_URL", "http://127.0.0.1:1234")
    assert config.load_settings().url == "http://127.0.0.1:1234"
