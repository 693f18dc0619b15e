"""`shotbridge demo`: a private embedded backend, sample media, the main operations, results on disk."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from shotbridge.client import Client
from shotbridge.errors import BackendUnreachable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedBackend:
    """`shotbridge serve` in a child process with its own data and config dirs; stopped on exit."""

    def __init__(self, root: Path, port: int | None = None, workers: int = 2, env: dict[str, str] | None = None):
        self.root = root
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SHOTBRIDGE_CONFIG_DIR": str(root / "config"),
                    "SHOTBRIDGE_WORKERS": str(workers), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log_path = root / "backend.log"

    def start(self, timeout: float = 60.0) -> Client:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shotbridge.cli", "serve", "--port", str(self.port),
             "--data-dir", str(self.root / "data"), "--log-level", "warning"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        token_file = self.root / "config" / "token"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the backend exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                if token_file.exists():
                    client = Client(self.url, token_file.read_text().strip(), retries=0)
                    client.health()
                    client.retries = 4
                    return client
            except BackendUnreachable:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the backend did not start within {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """Die the way a crash does: no shutdown handlers run."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sample_movie(path: Path, fps: int = 24, seconds_per_shot: float = 2.0, size: tuple[int, int] = (640, 360)) -> Path:
    """A short movie cut from images that ship with scikit-image, each shot with a slow camera move."""
    import cv2
    import numpy as np
    from skimage import data

    w, h = size
    stills = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4v movies here")
    frames = int(fps * seconds_per_shot)
    for still in stills:
        bgr = cv2.cvtColor(still, cv2.COLOR_RGB2BGR)
        sh, sw = bgr.shape[:2]
        for i in range(frames):
            t = i / max(1, frames - 1)
            scale = max(w / sw, h / sh) * (1.15 + 0.15 * t)  # a slow push-in
            m = np.array([[scale, 0, (w - sw * scale) / 2 - 20 * t], [0, scale, (h - sh * scale) / 2]], np.float32)
            writer.write(cv2.warpAffine(bgr, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    writer.release()
    return path


def faces_dir() -> Path | None:
    """The real photographs the demo builds its shots from (../shared/faces beside the checkout)."""
    env = os.environ.get("SHOTBRIDGE_FACES_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "faces"
    return path if (path / "MANIFEST.md").exists() or env else None


def demo_timeline(shots: list[dict], rate: float = 24.0):
    """The demo's cut: one clip per shot, the characters each shot should show listed on the clip."""
    import opentimelineio as otio

    from shotbridge.exchange.facts import Facts, set_facts

    timeline = otio.schema.Timeline(name="demo_cut")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for shot in shots:
        length = otio.opentime.RationalTime(shot["frames"], rate)
        ref = otio.schema.ExternalReference(
            target_url=f"shots/{Path(shot['media']).name}",
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), length))
        clip = otio.schema.Clip(name=shot["name"], media_reference=ref,
                                source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), length))
        set_facts(clip, Facts(id=shot["name"], characters=shot["characters"]))
        track.append(clip)
    return timeline


def run_demo(out: Path) -> int:
    out = out.resolve()
    media_dir = out / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    backend = EmbeddedBackend(out / "backend")
    print(f"ShotBridge demo -> {out}")
    print(f"  starting the embedded backend on {backend.url} ...")
    client = backend.start()
    try:
        project = client.ensure_project("demo")
        print(f"  project '{project.name}' ({project.id})")
        cut_detection(client, project.id, out, media_dir)
        signed_take(client, project.id, out, media_dir, backend.root / "config" / "keys")
        faces = faces_dir()
        if faces is None:
            print("  (skipping character consistency and look matching: ../shared/faces is not beside the "
                  "checkout; set SHOTBRIDGE_FACES_DIR to a folder of face photos laid out the same way)")
        else:
            consistency_and_look(client, project.id, out, faces)
    finally:
        backend.stop()
    print(f"Done. Results are in {out} (backend log: {backend.log_path}).")
    return 0


def cut_detection(client: Client, project: str, out: Path, media_dir: Path) -> None:
    movie = sample_movie(media_dir / "sample_cuts.mp4")
    asset = client.upload(project, movie)
    print(f"  uploaded {movie.name} ({asset.size} bytes, sha256 {asset.sha256[:12]})")
    job = client.run(project, "detect_shots", {"media": asset.sha256})
    timeline = client.download(project, job.result["timeline"]["sha256"], out / "sample_cuts.otio")
    shots = job.result["shots"]
    print(f"  detect_shots: {len(shots)} shots at {job.result['rate']:g} fps -> {timeline}")
    for shot in shots:
        print(f"    {shot['name']}  {shot['start_timecode']}  {shot['duration_frames']} frames")


def signed_take(client: Client, project: str, out: Path, media_dir: Path, keys: Path) -> None:
    """A plate with a burned-in logo, cleaned by `inpaint` on this machine: the result comes back as a take on
    the clip, every frame carries signed Content Credentials, and the audit shows nothing left."""
    import cv2
    import numpy as np
    import opentimelineio as otio

    from shotbridge.timeline_upload import upload_timeline

    from .provenance import verify_file
    from .provenance.keys import trust_anchors_path

    folder = out / "takes"
    folder.mkdir(parents=True, exist_ok=True)
    source = cv2.VideoCapture(str(media_dir / "sample_cuts.mp4"))
    plate, mask_box = folder / "plate_with_logo.mp4", (slice(20, 60), slice(500, 620))
    writer = None
    for _ in range(12):
        ok, frame = source.read()
        if not ok:
            break
        frame[mask_box] = (255, 255, 255)
        cv2.putText(frame, "LOGO", (512, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 200), 2)
        if writer is None:
            writer = cv2.VideoWriter(str(plate), cv2.VideoWriter_fourcc(*"mp4v"), 24, frame.shape[1::-1])
        writer.write(frame)
    source.release()
    writer.release()
    mask = np.zeros((360, 640), np.uint8)
    mask[16:64, 496:624] = 255  # the logo and a margin round it
    cv2.imwrite(str(folder / "logo_mask.png"), mask)
    rate = otio.opentime.RationalTime
    cut = otio.schema.Timeline(name="logo_cut")
    cut.tracks.append(otio.schema.Track(name="V1", children=[otio.schema.Clip(
        name="sh_logo", media_reference=otio.schema.ExternalReference(plate.name),
        source_range=otio.opentime.TimeRange(rate(0, 24), rate(12, 24)))]))
    otio.adapters.write_to_file(cut, str(folder / "logo_cut.otio"))
    sent = upload_timeline(client, project, folder / "logo_cut.otio")
    mask_asset = client.upload(project, folder / "logo_mask.png")
    job = client.run(project, "inpaint", {"timeline": sent.sha256, "media": sent.media, "mask": mask_asset.sha256})
    client.download_outputs(job, folder)
    (shot,) = job.result["shots"]
    first = next(ref.name for ref in job.outputs if ref.name.endswith(".png"))
    check = verify_file(folder / first, trust_anchors_path(keys))
    sent_out = client.audit(project, job=job.id)
    print(f"  inpaint on {job.provider}: take {shot['take']} on {shot['shot']} ({shot['frames']} frames, logo "
          f"removed) -> {folder / 'logo_cut.inpaint.otio'}")
    uses = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in sorted(check.training_mining.items()))
    print(f"    Content Credentials on {first}: {'valid' if check.valid else 'INVALID'}, signed by {check.signer}; "
          f"{uses}")
    print(f"    egress audit for this job: {len(sent_out)} request(s) left this machine")


def consistency_and_look(client: Client, project: str, out: Path, faces: Path) -> None:
    import opentimelineio as otio

    from shotbridge.timeline_upload import upload_timeline

    from .vision.synth import build_demo

    print("  building four shots from real photographs (camera moves, a face swap, a grade shift) ...")
    demo = build_demo(out / "shots", faces)
    cut = out / "demo_cut.otio"
    otio.adapters.write_to_file(demo_timeline(demo["shots"]), str(cut))
    for name, images in demo["bible"].items():
        if not any(c.name == name for c in client.characters(project)):
            client.add_character(project, name, images)
    print(f"  character bible: {', '.join(sorted(demo['bible']))}")
    sent = upload_timeline(client, project, cut)
    job = client.run(project, "check_consistency", {"timeline": sent.sha256, "media": sent.media})
    paths = client.download_outputs(job, out / "consistency")
    for shot in job.result["consistency"]["shots"]:
        if shot["state"] == "consistent":
            print(f"    {shot['name']}: consistent ({', '.join(shot['expected'])})")
        elif shot["state"] == "unchecked":
            print(f"    {shot['name']}: UNCHECKED ({shot['reason']})")
        for f in shot["findings"]:
            print(f"    {shot['name']}: DRIFT frames {f['start_frame']}-{f['end_frame'] - 1}: expected "
                  f"{f['expected']}, found {f['found'] or 'an unknown face'}")
    print(f"  check_consistency -> {paths['report.html']}")
    look = demo["look"]
    job = client.run(project, "match_look", {"timeline": sent.sha256, "media": sent.media,
                                             "reference": look["reference"], "targets": ["sh040"]})
    paths = client.download_outputs(job, out / "look")
    for t in job.result["look"]["targets"]:
        cdl = t["cdl"]
        print(f"    {t['name']} -> {look['reference']}: mean dE2000 {t['delta_e_before']:.2f} -> "
              f"{t['delta_e_after']:.2f}  slope {_triple(cdl['slope'])} offset {_triple(cdl['offset'])} "
              f"power {_triple(cdl['power'])} sat {cdl['saturation']:.3f}")
    print(f"  match_look -> {paths['report.html']} (CDLs in {next(p for n, p in paths.items() if n.endswith('.otio'))})")


def _triple(values) -> str:
    return "(" + " ".join(f"{v:.3f}" for v in values) + ")"
