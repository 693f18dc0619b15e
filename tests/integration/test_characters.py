"""The character bible through the API, the client and the CLI, with real photographs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shotbridge.errors import Conflict, NotFound, ValidationFailed

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
pytestmark = pytest.mark.skipif(not FACES.exists(), reason="../shared/faces is not beside the checkout")


def test_add_list_show_update_remove(admin, project):
    obama = admin.add_character(project.id, "Obama", [FACES / "obama" / "obama.jpg", FACES / "obama" / "obama2.jpg"],
                                notes="navy suit")
    assert obama.name == "Obama" and len(obama.references) == 2
    assert obama.references[0].model.startswith("dlib")
    assert [c.name for c in admin.characters(project.id)] == ["Obama"]
    again = admin.character(project.id, "Obama")
    assert again.id == obama.id and again.notes == "navy suit"
    grown = admin.add_reference(project.id, "Obama", FACES / "obama" / "obama-720p.jpg")
    assert len(grown.references) == 3
    updated = admin.update_character(project.id, obama.id, notes="grey suit", hints={"seed": 7})
    assert updated.notes == "grey suit" and updated.hints == {"seed": 7}
    fewer = admin.remove_reference(project.id, obama.id, grown.references[0].id)
    assert len(fewer.references) == 2
    with pytest.raises(Conflict):
        admin.add_character(project.id, "Obama")
    admin.remove_character(project.id, "Obama")
    with pytest.raises(NotFound):
        admin.character(project.id, "Obama")


def test_reference_without_a_face_is_refused(admin, project, tmp_path):
    from PIL import Image
    from skimage import data

    coffee = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(coffee)
    with pytest.raises(ValidationFailed) as exc:
        admin.add_character(project.id, "Nobody", [coffee])
    err = exc.value.problem.errors[0]
    assert err.field == "references.0.asset"
    assert "No face found" in err.message and "coffee.png" in err.message
    assert admin.characters(project.id) == [], "nothing half-created"


def test_group_photo_needs_a_choice(admin, project):
    group = FACES / "_group" / "two_people.jpg"
    with pytest.raises(ValidationFailed) as exc:
        admin.add_character(project.id, "Someone", [group])
    assert "2 faces found" in str(exc.value) and "face_index" in str(exc.value)
    chosen = admin.add_character(project.id, "Someone", [group], face_index=1)
    assert chosen.references[0].face_index == 1
    with pytest.raises(ValidationFailed, match="face_index 5 does not exist"):
        admin.add_reference(project.id, "Someone", group, face_index=5)


def test_cli_character_commands(server, project):
    env = {**os.environ, "SHOTBRIDGE_URL": server.url, "SHOTBRIDGE_CONFIG_DIR": str(server.root / "config")}

    def cli(*args, check=True):
        done = subprocess.run([sys.executable, "-m", "shotbridge.cli", "character", *args, "-p", project.name],
                              env=env, capture_output=True, text=True, timeout=120)
        assert not check or done.returncode == 0, done.stderr
        return done

    assert "added Rose" in cli("add", "Rose", str(FACES / "rose_leslie" / "img1.jpg"), "--notes", "red hair").stdout
    assert "now has 2" in cli("add", "Rose", str(FACES / "rose_leslie" / "img2.jpg")).stdout
    listed = json.loads(cli("list", "--json").stdout)
    assert listed[0]["name"] == "Rose" and len(listed[0]["references"]) == 2
    assert "red hair" in cli("show", "Rose").stdout
    bad = cli("add", "Group", str(FACES / "_group" / "kit_with_rose.jpg"), check=False)
    assert bad.returncode == 2 and "faces found" in bad.stderr and "face_index" in bad.stderr
    assert "removed Rose" in cli("remove", "Rose").stdout
