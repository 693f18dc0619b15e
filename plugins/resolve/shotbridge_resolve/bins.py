"""Media pool folders ("bins") and the clips in them, found by name and path so nothing is made twice."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .items import parse_sequence

if TYPE_CHECKING:
    from fusionscript import Folder, MediaPool, MediaPoolItem


def same_path(a: str, b: str) -> bool:
    return os.path.normcase(os.path.normpath(a)) == os.path.normcase(os.path.normpath(b))


def subfolder(pool: MediaPool, parent: Folder, name: str) -> Folder:
    """The folder `name` under `parent`, made if it is not there (Resolve allows two bins of one name)."""
    for folder in parent.GetSubFolderList() or []:
        if folder.GetName() == name:
            return folder
    made: Folder | None = pool.AddSubFolder(parent, name)
    if not made:
        raise RuntimeError(f"Resolve could not add the media pool bin '{name}' under '{parent.GetName()}'.")
    return made


def bin_path(pool: MediaPool, *names: str) -> Folder:
    folder = pool.GetRootFolder()
    for name in names:
        folder = subfolder(pool, folder, name)
    return folder


def clips_in(folder: Folder) -> list[MediaPoolItem]:
    return list(folder.GetClipList() or [])


def walk(folder: Folder) -> list[MediaPoolItem]:
    """Every clip in the folder and its subfolders."""
    out = clips_in(folder)
    for sub in folder.GetSubFolderList() or []:
        out += walk(sub)
    return out


def find_by_path(clips: list[MediaPoolItem], path: str) -> MediaPoolItem | None:
    for mpi in clips:
        if same_path(str(mpi.GetClipProperty("File Path") or ""), path):
            return mpi
    return None


def import_once(pool: MediaPool, folder: Folder, path: str) -> MediaPoolItem | None:
    """The clip for `path` in `folder`, imported there if it is not yet (the current folder is restored).

    `path` is a file, or a sequence as Resolve shows it (name.[1001-1100].exr)."""
    mpi = find_by_path(clips_in(folder), path)
    if mpi:
        return mpi
    previous: Folder | None = pool.GetCurrentFolder()
    pool.SetCurrentFolder(folder)
    try:
        sequence = parse_sequence(path)
        if sequence is not None:
            made = pool.ImportMedia([{"FilePath": sequence.printf(), "StartIndex": sequence.first,
                                      "EndIndex": sequence.last}])
        else:
            made = pool.ImportMedia([path])
    finally:
        if previous:
            pool.SetCurrentFolder(previous)
    return (list(made or []) or [None])[0]
