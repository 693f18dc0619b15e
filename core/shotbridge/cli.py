"""`shotbridge`: the command line. Exit codes: 0 ok, 1 a job failed or was canceled, 2 bad input, 3 no backend."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__, config
from .errors import BackendUnreachable, ShotBridgeError

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


class UsageError(ShotBridgeError):
    pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _timeline_parser() if argv[:1] == ["timeline"] else build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args) or 0
    except BackendUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (ShotBridgeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _timeline_parser() -> argparse.ArgumentParser:
    """Only the `timeline` group: panels and conform scripts run it many times, and the other groups'
    help texts load the API's pydantic models (~0.1 s a start)."""
    from .exchange.cli import register

    parser = argparse.ArgumentParser(prog="shotbridge", description="AI for film and TV crews, inside their tools.")
    register(parser.add_subparsers(metavar="COMMAND"))
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shotbridge", description="AI for film and TV crews, inside their tools.")
    parser.add_argument("--version", action="version", version=f"shotbridge {__version__}")
    parser.add_argument("--url", help=f"backend URL (default: $SHOTBRIDGE_URL or {config.DEFAULT_URL})")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("serve", help="run the embedded backend on this machine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--data-dir", type=Path, help="where jobs and assets live (default: ~/.local/share/shotbridge)")
    p.add_argument("--workers", type=int, help="jobs run at once (default 2)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--database", help="SQLAlchemy URL of the state database (default: $SHOTBRIDGE_DATABASE_URL or "
                   "SQLite in the data dir); postgresql://USER:PASSWORD@HOST/DB for a studio")
    p.add_argument("--broker", help="studio mode: Redis URL of the Celery broker; jobs then run on `shotbridge worker` "
                   "processes (default: $SHOTBRIDGE_BROKER_URL; none: jobs run in this process)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="studio mode: run jobs from the broker (a Celery worker)")
    p.add_argument("--queues", help="comma-separated queues to take jobs from (default: $SHOTBRIDGE_QUEUE or "
                   "shotbridge)")
    p.add_argument("--concurrency", type=int, default=2, help="jobs run at once (default 2)")
    p.add_argument("--broker", help="Redis URL of the broker (default: $SHOTBRIDGE_BROKER_URL)")
    p.add_argument("--database", help="SQLAlchemy URL of the state database (default: $SHOTBRIDGE_DATABASE_URL)")
    p.add_argument("--data-dir", type=Path, help="this machine's work folder parent; assets: $SHOTBRIDGE_ASSET_DIR")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("db", help="the state database's schema: upgrade it, show its revision, or copy its data "
                                  "to PostgreSQL (migrate-to)")
    p.add_argument("action", choices=["upgrade", "current", "migrate-to"])
    p.add_argument("target", nargs="?", help="migrate-to: the database to copy every table into "
                                             "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)")
    p.add_argument("--replace", action="store_true", help="migrate-to: delete the rows the target already holds")
    p.add_argument("--database", help="SQLAlchemy URL (default as for serve; migrate-to: the source)")
    p.add_argument("--data-dir", type=Path, help="the embedded backend's data dir, for its SQLite file")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("demo", help="start a private backend, run the main operations on sample media")
    p.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default demo-output)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("projects", help="list projects")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_projects)

    p = sub.add_parser("project", help="create a project")
    p.add_argument("action", choices=["create"])
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.set_defaults(func=cmd_project)

    p = sub.add_parser("run", help="run an operation and wait for its result")
    p.add_argument("operation")
    p.add_argument("--project", "-p", help="project name or id (default: $SHOTBRIDGE_PROJECT)")
    p.add_argument("--input", "-i", action="append", default=[], metavar="[PARAM=]FILE",
                   help="upload FILE and pass it as the operation's media parameter (or PARAM)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter; VALUE is read as JSON when it parses, else as text")
    p.add_argument("--provider")
    p.add_argument("--out", type=Path, help="download the job's output files here")
    p.add_argument("--json", action="store_true", help="print the finished job as JSON (see docs/cli.md)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("jobs", help="list recent jobs")
    p.add_argument("--project", "-p")
    p.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "canceled"])
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("watch", help="follow a job until it ends")
    p.add_argument("job")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("cancel", help="cancel a job")
    p.add_argument("job")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("character", help="the project's character bible")
    csub = p.add_subparsers(metavar="ACTION", required=True)
    c = csub.add_parser("add", help="add a character, or more reference images to one")
    c.add_argument("name")
    c.add_argument("images", nargs="*", type=Path, metavar="IMAGE")
    c.add_argument("--notes", help="look notes (wardrobe, hair, make-up...)")
    c.add_argument("--face-index", type=int, help="which face is the character in group photos (left to right, from 0)")
    c.add_argument("--project", "-p")
    c.set_defaults(func=cmd_character_add)
    c = csub.add_parser("list", help="list characters")
    c.add_argument("--project", "-p")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_character_list)
    c = csub.add_parser("show", help="one character with its references")
    c.add_argument("name")
    c.add_argument("--project", "-p")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_character_show)
    c = csub.add_parser("remove", help="remove a character (or one reference with --reference ID)")
    c.add_argument("name")
    c.add_argument("--reference", help="remove only this reference")
    c.add_argument("--project", "-p")
    c.set_defaults(func=cmd_character_remove)

    p = sub.add_parser("report", help="download a job's HTML report (and its timeline) into a folder")
    p.add_argument("job")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("nuke-script", help="write a Nuke comp script (.nk) for a shot, without Nuke")
    p.add_argument("timeline", help="an OTIO (or EDL, XML, AAF...) file holding the shot")
    p.add_argument("--out", type=Path, required=True, help="the .nk to write")
    p.add_argument("--clip", help="which clip, when the timeline holds several")
    p.add_argument("--write", help="the Write node's file (default: beside the .nk, SHOT_comp.####.exr)")
    p.set_defaults(func=cmd_nuke_script)

    p = sub.add_parser("panel", help="the ShotBridge panel as a standalone window, working on timeline files")
    p.add_argument("timeline", nargs="?", help="a timeline to open (OTIO, EDL, XML, AAF...)")
    p.add_argument("--rate", help="frame rate for an EDL that does not tell (e.g. 24, 23.976); asked if needed")
    p.add_argument("--look", choices=["blender", "nuke", "resolve", "standalone"],
                   help="the colours of the host application you work beside (default: ShotBridge's own)")
    p.set_defaults(func=cmd_panel)

    p = sub.add_parser("install", help="add ShotBridge to a host application (idempotent)")
    p.add_argument("host", choices=["nuke", "blender", "resolve"])
    p.add_argument("--uninstall", action="store_true")
    p.add_argument("--nuke-dir", type=Path, help="Nuke's user folder (default ~/.nuke)")
    p.add_argument("--resolve-dir", type=Path,
                   help="Resolve's Fusion/Scripts/Utility folder (default: this user's, for this OS)")
    p.add_argument("--blender", default="5.0", help="Blender version to build for (default 5.0)")
    p.add_argument("--out", type=Path, default=Path("dist"), help="where the Blender extension zip goes")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("doctor", help="check the backend, the token and the optional parts")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("keys", help="the studio's keys that sign Content Credentials (C2PA) on generated files")
    ksub = p.add_subparsers(metavar="ACTION", required=True)
    k = ksub.add_parser("init", help="make a studio CA and a signing certificate (P-256)")
    k.add_argument("--dir", type=Path, help="keys folder (default: the config folder's keys/)")
    k.add_argument("--studio", default="ShotBridge Studio", help="the studio's name in the certificates")
    k.add_argument("--force", action="store_true", help="move existing keys aside and make new ones")
    k.set_defaults(func=cmd_keys_init)
    k = ksub.add_parser("show", help="certificate subjects, fingerprints and expiry")
    k.add_argument("--dir", type=Path, help="keys folder (default: the config folder's keys/)")
    k.set_defaults(func=cmd_keys_show)

    p = sub.add_parser("verify", help="check a file's Content Credentials against the studio's trust anchor")
    p.add_argument("file", type=Path)
    p.add_argument("--trust", type=Path, metavar="PEM", help="trust anchor certificate(s) (default: keys/ca.pem)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Command groups contributed by other parts of the core (exchange, hosts)."""
    found = []
    for module in ("shotbridge.exchange.cli", "shotbridge.policy_cli"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError:
            continue
        found.append(mod.register)
    return found


def client_for(args: argparse.Namespace):
    from .client import Client

    settings = config.load_settings()
    return Client(args.url or settings.url, settings.token)


def project_for(args: argparse.Namespace) -> str:
    project = getattr(args, "project", None) or config.load_settings().project
    if not project:
        raise UsageError("No project given: pass --project NAME (or set SHOTBRIDGE_PROJECT).")
    return project


# -- commands ----------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from shotbridge_backend.server import serve
        from shotbridge_backend.settings import BackendSettings
    except ImportError as exc:
        raise UsageError(f"The backend is not installed here ({exc.name} missing): "
                         "pip install 'shotbridge[backend]'.") from exc
    settings = BackendSettings(host=args.host, port=args.port)
    if args.data_dir:
        settings = BackendSettings(data_dir=args.data_dir, host=args.host, port=args.port)
    if args.workers:
        settings.workers = args.workers
    if args.database:
        settings.database_url = args.database
    if args.broker:
        settings.broker_url = args.broker
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # SQLite's file goes there on a first start
    _check_database(settings.database_url).dispose()
    if settings.broker_url:
        _check_broker(settings.broker_url)
    print(f"ShotBridge backend on http://{settings.host}:{settings.port} (data in {settings.data_dir}; "
          f"token in {settings.token_file})", file=sys.stderr)
    serve(settings, log_level=args.log_level)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    try:
        from shotbridge_backend.settings import BackendSettings
        from shotbridge_backend.worker import run_worker
    except ImportError as exc:
        raise UsageError(f"The backend is not installed here ({exc.name} missing): "
                         "pip install 'shotbridge[backend]'.") from exc
    settings = BackendSettings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    settings.database_url = args.database or settings.database_url
    settings.broker_url = args.broker or settings.broker_url
    if not settings.broker_url:
        raise UsageError("A worker needs the broker: pass --broker redis://HOST:PORT/DB "
                         "(or set SHOTBRIDGE_BROKER_URL), the same as the API's.")
    _check_database(settings.database_url).dispose()
    _check_broker(settings.broker_url)
    queues = [q.strip() for q in (args.queues or settings.queue).split(",") if q.strip()]
    run_worker(settings, queues, args.concurrency, log_level=args.log_level)
    return 0


def _check_broker(url: str) -> None:
    from shotbridge_backend.studio import BrokerUnavailable, check_broker

    try:
        check_broker(url)
    except BrokerUnavailable as exc:
        raise UsageError(str(exc)) from None


def _check_database(url: str):
    from shotbridge_backend.migrate import DatabaseUnavailable, check

    try:
        return check(url)
    except DatabaseUnavailable as exc:
        raise UsageError(str(exc)) from None


def cmd_db(args: argparse.Namespace) -> int:
    try:
        from shotbridge_backend import migrate
        from shotbridge_backend.settings import BackendSettings
    except ImportError as exc:
        raise UsageError(f"The backend is not installed here ({exc.name} missing): "
                         "pip install 'shotbridge[backend]'.") from exc
    url = args.database or BackendSettings(**({"data_dir": args.data_dir} if args.data_dir else {})).database_url
    if args.action == "migrate-to":
        return _migrate_to(url, args.target, args.replace)
    if args.target:
        raise UsageError(f"'shotbridge db {args.action}' takes no target; use --database URL.")
    engine = _check_database(url)
    try:
        if args.action == "current":
            print(f"{migrate.current(engine) or 'none'} (this version's schema: {migrate.head()})")
        else:
            before, after = migrate.upgrade(engine)
            print(f"schema {before or 'none'} -> {after}" if before != after else f"schema {after}: up to date")
    finally:
        engine.dispose()
    return 0


def _migrate_to(source_url: str, target_url: str | None, replace: bool) -> int:
    from shotbridge_backend import migrate

    if not target_url:
        raise UsageError("Name the database to copy into: shotbridge db migrate-to "
                         "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (the source is --database or the embedded "
                         "backend's SQLite file).")
    if target_url == source_url:
        raise UsageError("The target is the source database; name another one.")
    source, target = _check_database(source_url), _check_database(target_url)
    try:
        copied = migrate.copy_all(source, target, replace=replace)
    except migrate.TargetNotEmpty as exc:
        raise UsageError(str(exc)) from None
    finally:
        source.dispose()
        target.dispose()
    print(f"copied {sum(copied.values())} rows: " + ", ".join(f"{t} {n}" for t, n in copied.items()))
    print("Point the service at it: shotbridge serve --database <that URL> (or SHOTBRIDGE_DATABASE_URL). The "
          "assets stay in the asset folder: give the studio the same files (SHOTBRIDGE_ASSET_DIR).")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from shotbridge_backend.demo import run_demo
    except ImportError as exc:
        raise UsageError(f"The demo needs the backend ({exc.name} missing): pip install 'shotbridge[backend]'.") from exc
    return run_demo(args.out)


def cmd_projects(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        projects = client.projects()
    if args.json:
        print(json.dumps([p.model_dump(mode="json") for p in projects], indent=2))
    else:
        for p in projects:
            print(f"{p.id}  {p.name}  {p.description}")
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        project = client.create_project(args.name, args.description)
    print(f"created project {project.name} ({project.id})")
    print(f"project token (shown once; scoped to this project): {project.token}")
    return 0


def parse_params(items: list[str]) -> dict[str, Any]:
    """--param KEY=VALUE items as operation parameters."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param '{item}' is not KEY=VALUE.")
        params[key] = parse_value(value)
    return params


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_run(args: argparse.Namespace) -> int:
    from .models import OTIO_MEDIA_TYPE  # here, not at start-up: pydantic costs every CLI start ~0.1 s
    from .timeline_upload import upload_timeline

    project = project_for(args)
    params = parse_params(args.param)
    with client_for(args) as client:
        ops = {op.name: op for op in client.operations()}
        op = ops.get(args.operation)
        if op is None:
            raise UsageError(f"No operation '{args.operation}'. Known: {', '.join(sorted(ops))}.")
        asset_fields = [name for name, prop in op.params_schema.get("properties", {}).items()
                        if _is_asset_field(prop)]
        for item in args.input:
            key, sep, path = item.rpartition("=")
            if not sep:
                if not asset_fields:
                    raise UsageError(f"'{op.name}' takes no input file.")
                key = asset_fields[0]
            if key not in asset_fields:
                raise UsageError(f"'{key}' is not a media parameter of {op.name}; those are: {', '.join(asset_fields)}.")
            prop = op.params_schema["properties"][key]
            if prop.get("contentMediaType") == OTIO_MEDIA_TYPE:
                _status(f"uploading {path} and the media it references")
                sent = upload_timeline(client, project, Path(path))
                for missing in sent.missing:
                    _status(f"  warning: not found here, not uploaded: {missing}")
                params[key] = sent.sha256
                if "media" in op.params_schema.get("properties", {}):
                    params.setdefault("media", []).extend(sent.media)
                continue
            _status(f"uploading {path}")
            asset = client.upload(project, path)
            if prop.get("type") == "array":
                params.setdefault(key, []).append(asset.sha256)
            else:
                params[key] = asset.sha256
        job = client.submit(project, op.name, params, provider=args.provider)
        _status(f"job {job.id} ({op.name}) queued")
        job = client.wait(job.id, on_event=None if args.json else _progress_printer())
        if not args.json:
            _end_progress()
        paths = _download_outputs(client, job, args.out) if args.out else {}
    if args.json:
        doc = job.model_dump(mode="json")
        for out in doc["outputs"]:
            if out["sha256"] in paths:
                out["path"] = str(paths[out["sha256"]])
        print(json.dumps(doc, indent=2))
    else:
        _print_job(job, paths)
    if job.status.value != "succeeded":
        return EXIT_FAILED
    result = job.result or {}
    if "drifting_shots" in result:  # check_consistency: unchecked shots are said, drift fails the run
        exit_drift = 4  # distinct from a failed job (1): the check ran and found drift
        unchecked = result.get("unchecked_shots", [])
        for warning in result.get("warnings", []):
            _status(f"warning: {warning}")
        _status(f"{len(result['drifting_shots'])} shot(s) drift, {len(unchecked)} shot(s) unchecked"
                + (f" (not judged: {', '.join(unchecked)})" if unchecked else ""))
        if result["drifting_shots"]:
            return exit_drift
    return 0


def _is_asset_field(prop: dict) -> bool:
    items = prop.get("items", {}) if prop.get("type") == "array" else prop
    return any(c.get("format") == "asset" for c in (items, *items.get("anyOf", [])))


def _download_outputs(client, job, out: Path) -> dict[str, Path]:
    """The job's files into OUT under their names; a result timeline's generated takes and clips are pointed at
    the downloaded frames (absolute file URLs), so the timeline plays wherever it is opened from."""
    by_name = client.download_outputs(job, out)
    for name, path in by_name.items():
        if name.endswith(".otio"):
            import opentimelineio as otio

            from .results import localize

            timeline = otio.adapters.read_from_file(str(path))
            if localize(timeline, by_name):
                otio.adapters.write_to_file(timeline, str(path))
    return {ref.sha256: by_name[ref.name] for ref in job.outputs}


def cmd_jobs(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        jobs = client.jobs(project=args.project, status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps([j.model_dump(mode="json") for j in jobs], indent=2))
        return 0
    if not jobs:
        print("no jobs")
    for j in jobs:
        when = j.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{j.id}  {when}  {j.status.value:<9}  {j.progress * 100:3.0f}%  {j.operation:<18} {j.message}")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = client.wait(args.job, on_event=None if args.json else _progress_printer())
    if args.json:
        print(job.model_dump_json(indent=2))
    else:
        _end_progress()
        _print_job(job, {})
    return 0 if job.status.value == "succeeded" else EXIT_FAILED


def cmd_cancel(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = client.cancel(args.job)
    print(f"job {job.id}: {job.status.value} ({job.message})")
    return 0


def cmd_character_add(args: argparse.Namespace) -> int:
    from .errors import NotFound

    project = project_for(args)
    with client_for(args) as client:
        try:
            character = client.character(project, args.name)
        except NotFound:
            character = None
        if character is None:
            character = client.add_character(project, args.name, args.images, notes=args.notes or "",
                                             face_index=args.face_index)
            print(f"added {character.name} ({character.id}) with {len(character.references)} reference(s)")
        else:
            for image in args.images:
                character = client.add_reference(project, character.id, image, face_index=args.face_index)
            if args.notes is not None:
                character = client.update_character(project, character.id, notes=args.notes)
            print(f"{character.name} ({character.id}) now has {len(character.references)} reference(s)")
    return 0


def cmd_character_list(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        characters = client.characters(project_for(args))
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in characters], indent=2))
    elif not characters:
        print("no characters yet: shotbridge character add NAME IMAGE...")
    for c in [] if args.json else characters:
        print(f"{c.id}  {c.name:<24} {len(c.references)} reference(s)  {c.notes[:50]}")
    return 0


def cmd_character_show(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        c = client.character(project_for(args), args.name)
    if args.json:
        print(c.model_dump_json(indent=2))
        return 0
    print(f"{c.name} ({c.id})")
    if c.notes:
        print(f"  notes: {c.notes}")
    for key, value in c.hints.items():
        print(f"  hint {key}: {value}")
    for ref in c.references:
        face = f", face {ref.face_index}" if ref.face_index is not None else ""
        print(f"  reference {ref.id}: asset {ref.asset[:12]}{face} ({ref.model})")
    return 0


def cmd_character_remove(args: argparse.Namespace) -> int:
    project = project_for(args)
    with client_for(args) as client:
        if args.reference:
            c = client.remove_reference(project, args.name, args.reference)
            print(f"{c.name} now has {len(c.references)} reference(s)")
        else:
            client.remove_character(project, args.name)
            print(f"removed {args.name}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = client.job(args.job)
        if not any(ref.name == "report.html" for ref in job.outputs):
            raise UsageError(f"Job {job.id} ({job.operation}, {job.status.value}) has no report; reports come "
                             "from check_consistency and match_look jobs that succeeded, and from generative jobs "
                             "with bible characters (the identity gate's verdicts).")
        paths = _download_outputs(client, job, args.out)
    for ref in job.outputs:
        print(f"{ref.name}: {paths[ref.sha256]}")
    return 0


def cmd_nuke_script(args: argparse.Namespace) -> int:
    from .nkscript import write_comp

    path = write_comp(Path(args.timeline), args.out, clip_name=args.clip, write_path=args.write)
    print(f"wrote {path}")
    return 0


def cmd_panel(args: argparse.Namespace) -> int:
    try:
        from .panel.app import main as panel_main
    except ImportError as exc:
        raise UsageError(f"The panel needs Qt ({exc.name} missing): pip install 'shotbridge[panel]'.") from exc
    return panel_main(([args.timeline] if args.timeline else []) + (["--rate", args.rate] if args.rate else [])
                      + (["--look", args.look] if args.look else []))


def cmd_install(args: argparse.Namespace) -> int:
    from .install import install_nuke, uninstall_nuke

    if args.host == "resolve":
        from .install_resolve import install_resolve, uninstall_resolve

        if args.uninstall:
            removed = uninstall_resolve(args.resolve_dir)
            print("removed ShotBridge from Resolve's scripts" if removed else "ShotBridge was not installed in Resolve")
        else:
            print(f"ShotBridge added as {install_resolve(args.resolve_dir)}; restart Resolve, then open it from "
                  "Workspace > Scripts > ShotBridge")
        return 0
    if args.host == "blender":
        from .install_blender import build_extension, install_extension, uninstall_extension

        if args.uninstall:
            removed = uninstall_extension(args.blender)
            print("removed ShotBridge from Blender" if removed else "ShotBridge was not installed in Blender")
            return 0
        zip_path = build_extension(args.out, args.blender)
        print(f"built {zip_path}")
        print(install_extension(zip_path, args.blender))
        return 0
    if args.uninstall:
        removed = uninstall_nuke(args.nuke_dir)
        print("removed ShotBridge from Nuke's init.py" if removed else "ShotBridge was not installed in Nuke")
    else:
        print(f"ShotBridge added to {install_nuke(args.nuke_dir)}; restart Nuke to load it")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_checks

    ok = True
    for check in run_checks(args.url):
        mark = {"ok": "ok ", "warn": "!! ", "fail": "XX "}[check.level]
        print(f"{mark} {check.name}: {check.detail}")
        ok = ok and check.level != "fail"
    return 0 if ok else EXIT_FAILED


def _provenance():
    try:
        from shotbridge_backend import provenance
    except ImportError as exc:
        raise UsageError(f"Content Credentials need the backend ({exc.name} missing): "
                         "pip install 'shotbridge[backend]'.") from exc
    return provenance


def cmd_keys_init(args: argparse.Namespace) -> int:
    prov = _provenance()
    directory = args.dir or prov.keys_dir()
    moved = prov.retire_keys(directory) if args.force else None
    keys = prov.init_keys(directory, studio=args.studio, force=args.force)
    if moved:
        print(f"moved the previous keys to {moved} (files signed with them verify with --trust {moved / 'ca.pem'})")
    print(f"wrote studio CA        {keys.ca_cert}  (trust anchor for `shotbridge verify`)")
    print(f"wrote CA private key   {keys.ca_key}  (0600; keep it offline if you can)")
    print(f"wrote signing cert     {keys.signing_cert}")
    print(f"wrote signing key      {keys.signing_key}  (0600)")
    print("To use a real studio certificate instead, replace signing.pem (the certificate, then its intermediates), "
          "signing.key (its unencrypted private key) and ca.pem (the studio's root) in that folder; "
          "ca.key is then not needed. See docs/provenance.md.")
    return 0


def cmd_keys_show(args: argparse.Namespace) -> int:
    prov = _provenance()
    from shotbridge_backend.provenance import keys as keymod

    keys = prov.load_keys(args.dir)
    print(f"keys folder: {keys.directory}")
    for label, path in (("trust anchor", keys.ca_cert), ("signing", keys.signing_cert)):
        for n, cert in enumerate(keymod.read_certificates(path)):
            role = "intermediate" if label == "signing" and n > 0 else label  # ca.pem may be a bundle of anchors
            print(f"{role} ({path.name}): {cert.subject.rfc4514_string()}")
            print(f"  issuer:  {cert.issuer.rfc4514_string()}")
            print(f"  sha256:  {keymod.fingerprint(cert)}")
            print(f"  expires: {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    problems = keymod.chain_problems(keys)
    for problem in problems:
        print(f"!! {problem}")
    if not problems:
        print("chain: signing.pem chains to ca.pem")
    return EXIT_FAILED if problems else 0


def cmd_verify(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise UsageError(f"No file {args.file}.")
    prov = _provenance()
    result = prov.verify_file(args.file, trust_anchors=args.trust)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"{args.file}:")
        for line in prov.summary_lines(result):
            print("  " + line)
    return 0 if result.valid else EXIT_FAILED


# -- output ------------------------------------------------------------------------------------------------


def _status(text: str) -> None:
    print(text, file=sys.stderr)


_bar_state = {"last": 0.0, "shown": False}


def _progress_printer() -> Callable:
    tty = sys.stderr.isatty()

    def show(job) -> None:
        now = time.monotonic()
        if not tty and now - _bar_state["last"] < 1.0 and not job.status.terminal:
            return
        _bar_state["last"] = now
        width = 30
        filled = int(job.progress * width)
        bar = "#" * filled + "-" * (width - filled)
        line = f"[{bar}] {job.progress * 100:5.1f}%  {job.status.value:<9} {job.message[:60]}"
        if tty:
            sys.stderr.write("\r" + line.ljust(110))
            _bar_state["shown"] = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return show


def _end_progress() -> None:
    if _bar_state["shown"]:
        sys.stderr.write("\n")
        _bar_state["shown"] = False


def _print_job(job, paths: dict[str, Path]) -> None:
    print(f"job {job.id}: {job.status.value} ({job.operation} on {job.provider}, attempt {job.attempts})")
    if job.error:
        print(f"  error: {job.error.title}: {job.error.detail or ''}")
        for err in job.error.errors:
            print(f"    - {err.field}: {err.message}")
    if job.result:
        summary = json.dumps(job.result, indent=2)
        lines = summary.splitlines()
        print("  result:")
        for line in lines[:40]:
            print("    " + line)
        if len(lines) > 40:
            print(f"    ... ({len(lines) - 40} more lines; use --json)")
    for ref in job.outputs:
        where = paths.get(ref.sha256)
        print(f"  output: {ref.name} ({ref.size} bytes, sha256 {ref.sha256[:12]})" + (f" -> {where}" if where else ""))


if __name__ == "__main__":
    sys.exit(main())
