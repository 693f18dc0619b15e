"""Accept and reject a take from the panel in Resolve (the fake, checked against the stubs): the take's item on
its ShotBridge takes track is enabled over the plate, and disabled again by Reject (Resolve has no undo)."""

from __future__ import annotations

import opentimelineio as otio

from shotbridge.panel.viewmodel import PanelViewModel, Take
from shotbridge_resolve.host import ResolveHost
from shotbridge_resolve.selection import Selection


def _take(edit, tmp_path, name: str = "sh010_extend_v001.mov", register: bool = True) -> otio.schema.ExternalReference:
    gen = tmp_path / "gen" / name
    if register:
        gen.parent.mkdir(parents=True, exist_ok=True)
        gen.write_bytes(b"\0")
        edit.fake.register_media(str(gen), 48)
    rate = 24
    return otio.schema.ExternalReference(target_url=gen.as_uri(), available_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(100, rate), otio.opentime.RationalTime(48, rate)))


def test_accept_enables_the_take_over_the_plate_and_reject_disables_it(edit, tmp_path):
    host = ResolveHost(edit.resolve, Selection("track", track=1))
    vm = PanelViewModel(lambda: None, host=host)
    vm.take_selection_from_host()
    take = Take("A001_C002.mov", "gen_v001", "gen", reference=_take(edit, tmp_path))
    vm.state.takes.append(take)

    assert vm.accept_take(take)
    track = edit.timeline._tracks[2]
    assert track["name"] == "ShotBridge takes 1"
    (placed,) = track["items"]
    assert placed._enabled and (placed._start, placed._duration, placed._left) == (86400, 48, 0)
    assert "accepted" in vm.state.message or "enabled" in vm.state.message, vm.state.message
    assert "no undo" in host.undo_note

    vm.reject_take(take)
    assert not placed._enabled and len(track["items"]) == 1, "the take stays on its track, disabled"
    assert take.state == "rejected"
    assert vm.accept_take(take) and placed._enabled  # accepting again is the way back


def test_a_missing_take_changes_nothing_in_resolve(edit, tmp_path):
    host = ResolveHost(edit.resolve, Selection("track", track=1))
    vm = PanelViewModel(lambda: None, host=host)
    vm.take_selection_from_host()
    calls = len(edit.fake.CALLS)
    take = Take("A001_C002.mov", "gen_v002", "gone", reference=_take(edit, tmp_path, "gone.mov", register=False))
    assert not vm.accept_take(take)
    assert "gone.mov is not on disk" in vm.state.message
    assert len(edit.timeline._tracks) == 2 and len(edit.fake.CALLS) == calls, "Resolve was not touched"
