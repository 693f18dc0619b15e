"""The view model against a real backend: connect, forms, jobs with progress, cancel, retry, takes, bible."""

from __future__ import annotations

import threading
from pathlib import Path

import opentimelineio as otio
from waiting import wait_for

from shotbridge.models import JobStatus
from shotbridge.panel.host import FileHost
from shotbridge.panel.viewmodel import PanelViewModel, Take


def connected(client_factory, project_name, host=None) -> PanelViewModel:
    vm = PanelViewModel(client_factory, host=host, project=project_name)
    vm.connect()
    wait_for(lambda: vm.state.connection == "connected" and vm._watcher is not None)
    return vm


def test_connect_loads_the_catalogue(client_factory, project_name):
    vm = connected(client_factory, project_name)
    assert {"echo", "detect_shots", "check_consistency", "match_look"} <= {o.name for o in vm.state.operations}
    assert project_name in vm.state.connection_text
    vm.select_operation("detect_shots")
    assert [f.name for f in vm.state.fields][:2] == ["media", "threshold"]
    vm.close()


def test_bad_backend_is_an_error_state_not_an_exception(tmp_path):
    from shotbridge.client import Client

    vm = PanelViewModel(lambda: Client("http://127.0.0.1:9", "x", retries=0), project="x")
    vm.connect()
    wait_for(lambda: vm.state.connection == "error")
    assert "shotbridge serve" in vm.state.connection_text
    vm.close()


def test_run_progress_cancel_retry(client_factory, project_name):
    vm = connected(client_factory, project_name)
    seen = []
    vm.subscribe(lambda topic: seen.append((topic, threading.current_thread().name)))
    vm.select_operation("echo")
    vm.set_value("seconds", "-2")
    assert not vm.run() and "seconds" in vm.state.errors
    vm.set_value("seconds", 0.4)
    vm.set_value("message", "from the panel")
    assert vm.run()
    wait_for(lambda: any(j.status == JobStatus.succeeded for j in vm.state.jobs.values()))
    done = next(j for j in vm.state.jobs.values() if j.status == JobStatus.succeeded)
    assert done.result == {"message": "from the panel"}
    vm.set_value("seconds", 30)
    vm.run()
    wait_for(lambda: any(j.status == JobStatus.running for j in vm.state.jobs.values()))
    running = next(j for j in vm.state.jobs.values() if j.status == JobStatus.running)
    vm.cancel(running.id)
    wait_for(lambda: vm.state.jobs[running.id].status == JobStatus.canceled)
    vm.retry(running.id)
    wait_for(lambda: len(vm.state.jobs) >= 3)
    newest = next(iter(vm.state.jobs.values()))
    assert newest.id != running.id and newest.params["seconds"] == 30
    vm.cancel(newest.id)
    vm.close()


def _cut() -> otio.schema.Timeline:
    t = otio.schema.Timeline(name="cut")
    t.tracks.append(otio.schema.Track(name="V1"))
    t.tracks[0].append(otio.schema.Clip(name="sh010", media_reference=otio.schema.ExternalReference("/p/sh010.mov"),
                                        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24),
                                                                             otio.opentime.RationalTime(24, 24))))
    return t


def test_accept_and_reject_a_take(tmp_path):
    host = FileHost(_cut())
    vm = PanelViewModel(lambda: None, host=host)
    vm.take_selection_from_host()
    movie = tmp_path / "sh010_v001.mov"
    movie.write_bytes(b"a take")  # accepting needs the take's file on disk
    take = Take("sh010", "gen_v001", str(movie))
    vm.state.takes.append(take)
    clip = host.timeline.find_clips()[0]
    before = clip.range_in_parent()
    assert vm.accept_take(take)
    assert clip.active_media_reference_key == "gen_v001" and clip.media_reference.target_url == str(movie)
    assert clip.range_in_parent() == before and take.state == "accepted"
    vm.reject_take(take)
    assert clip.active_media_reference_key == "DEFAULT_MEDIA" and take.state == "rejected"


def test_character_bible(client_factory, project_name):
    faces = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
    vm = connected(client_factory, project_name)
    wait_for(lambda: vm.state.bible_text == "No characters yet")
    if faces.exists():
        vm.add_character("rose", [faces / "rose_leslie" / "img1.jpg"])
        wait_for(lambda: vm.state.characters)
        assert vm.state.characters[0].name == "rose" and vm.state.bible_text == "Added rose"
    vm.close()


def test_inpaint_from_the_panel_uploads_the_picked_mask_and_offers_a_playable_take(client_factory, project_name,
                                                                                   tmp_path):
    import numpy as np
    from PIL import Image

    from shotbridge_backend.demo import sample_movie

    movie = sample_movie(tmp_path / "plate.mp4", seconds_per_shot=0.25, size=(160, 96))
    cut = otio.schema.Timeline(name="cut")
    cut.tracks.append(otio.schema.Track(name="V1", children=[otio.schema.Clip(
        name="sh010", media_reference=otio.schema.ExternalReference(str(movie)),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(1, 24), otio.opentime.RationalTime(3, 24)))]))
    mask = np.zeros((96, 160), np.uint8)
    mask[30:60, 60:100] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    host = FileHost(cut)
    vm = connected(client_factory, project_name, host=host)
    vm.take_selection_from_host()
    vm.select_operation("inpaint")
    vm.set_value("mask", str(tmp_path / "mask.png"))
    assert vm.run(), vm.state.errors
    wait_for(lambda: vm.state.takes, timeout=60)
    (take,) = vm.state.takes
    assert (take.clip, take.key) == ("sh010", "inpaint_v001")
    job = next(iter(vm.state.jobs.values()))
    assert job.status == JobStatus.succeeded and job.params["mask"] != job.params["media"][0]
    vm.accept_take(take)
    clip = host.timeline.find_clips()[0]
    ref = clip.media_reference
    assert clip.active_media_reference_key == "inpaint_v001" and isinstance(ref, otio.schema.ImageSequenceReference)
    from shotbridge.nkscript import local_path

    folder = Path(local_path(ref.target_url_base))
    frames = [folder / f"{ref.name_prefix}{n:0{ref.frame_zero_padding}d}{ref.name_suffix}" for n in (1, 2, 3)]
    assert all(f.is_file() for f in frames), frames  # the host can read every frame of the accepted take
    vm.close()
