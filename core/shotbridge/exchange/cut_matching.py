"""Which shot of the old cut is which of the new: identity first, then overlap, then the record slot; and
the fewest moves that explain a reorder."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable

from .cut_entries import Entry

# Fewer matched clips than this share of the smaller cut: the two files are different cuts, not a recut.
UNRELATED_SHARE = 0.1


class _Matcher:
    """Pairs old and new clips of one track kind, strictest identity first."""

    def __init__(self, a: list[Entry], b: list[Entry]):
        self.a, self.b = a, b
        self.pair_of: dict[int, int] = {}
        self.used: set[int] = set()

    def by_key(self, key: Callable[[Entry], object]) -> None:
        if len(self.pair_of) == len(self.a) or len(self.used) == len(self.b):
            return  # nothing left on one side (the common case once identity has matched a recut)
        pool: dict[object, list[int]] = defaultdict(list)
        for j, e in enumerate(self.b):
            if j not in self.used:
                k = key(e)
                if k is not None:
                    pool[k].append(j)
        if not pool:
            return
        for i, e in enumerate(self.a):
            if i in self.pair_of:
                continue
            k = key(e)
            found = pool.get(k) if k is not None else None
            while found:
                j = self._nearest(e, found)
                found.remove(j)
                if j not in self.used:
                    self._pair(i, j)
                    break

    def by_overlap(self, source: Callable[[Entry], str | None]) -> None:
        """Same source, overlapping source ranges (seconds): a trim or slip moved the in point."""
        groups: dict[str, list[int]] = defaultdict(list)
        for j, e in enumerate(self.b):
            if j not in self.used and source(e):
                groups[source(e)].append(j)
        for js in groups.values():
            js.sort(key=lambda j: self.b[j].src_in / self.b[j].rate)
        for i, e in enumerate(self.a):
            if i in self.pair_of or not source(e) or source(e) not in groups:
                continue
            js = groups[source(e)]
            lo, hi = e.src_in / e.rate, e.src_out / e.rate
            starts = [self.b[j].src_in / self.b[j].rate for j in js]
            candidates = [j for j in js[:bisect_left(starts, hi)]
                          if j not in self.used and self.b[j].src_out / self.b[j].rate > lo][-64:]
            if candidates:
                j = self._nearest(e, candidates)
                js.remove(j)
                self._pair(i, j)

    def by_slot(self) -> None:
        """Same track, same record range: the clip in that slot was replaced."""
        self.by_key(lambda e: (e.track, round(e.rec_in / e.rate, 3), round(e.rec_out / e.rate, 3)))

    def _nearest(self, e: Entry, js: Iterable[int]) -> int:
        return min(js, key=lambda j: (self.b[j].track != e.track, abs(self.b[j].rec_in / self.b[j].rate
                                                                       - e.rec_in / e.rate)))

    def _pair(self, i: int, j: int) -> None:
        self.pair_of[i] = j
        self.used.add(j)


def match_shots(a: list[Entry], b: list[Entry]) -> tuple[dict[int, int], int]:
    """Pairs (old index -> new index), and how many were paired by identity rather than by slot."""
    m = _Matcher(a, b)
    m.by_key(lambda e: e.sb_id)

    def t(e: Entry) -> int:  # the in point in milliseconds: comparable across rates
        return round(e.src_in * 1000 / e.rate)

    m.by_key(lambda e: (e.source, t(e), e.name))
    # Beside a dissolve, formats disagree on the in point but not on the first frame shown (Entry.visible).
    m.by_key(lambda e: (e.source, round(e.visible[0] * 1000 / e.rate), e.name) if e.visible else None)
    m.by_key(lambda e: (e.source, t(e), e.reel) if e.reel else None)
    m.by_key(lambda e: (e.source, t(e)))
    # FCP7 XML keeps one start timecode per file: clips whose files disagreed on it come back shifted.
    m.by_key(lambda e: (e.source, round((e.src_in - e.media_start) * 1000 / e.rate))
             if e.media_start is not None else None)
    m.by_key(lambda e: (e.name, t(e)))
    m.by_key(lambda e: (e.reel, t(e)) if e.reel else None)
    m.by_overlap(lambda e: e.source)
    m.by_overlap(lambda e: e.name)
    identified = len(m.pair_of)
    if not unrelated_cuts(identified, len(a), len(b)):
        m.by_slot()
    return m.pair_of, identified


def unrelated_cuts(identified: int, n_old: int, n_new: int) -> bool:
    smaller = min(n_old, n_new)
    return smaller >= 2 and identified < max(1, UNRELATED_SHARE * smaller)


def moved_shots(a: list[Entry], b: list[Entry], pairs: dict[int, int]) -> set[int]:
    """Old indices that changed track, or fall outside their track's longest run of kept order."""
    moved = set()
    by_track: dict[str, list[int]] = defaultdict(list)
    for i in sorted(pairs, key=lambda i: (a[i].track, a[i].position)):
        if a[i].track != b[pairs[i]].track:
            moved.add(i)
        else:
            by_track[a[i].track].append(i)
    for olds in by_track.values():
        keep = _longest_increasing([b[pairs[i]].position for i in olds])
        moved.update(i for n, i in enumerate(olds) if n not in keep)
    return moved


def _longest_increasing(seq: list[int]) -> set[int]:
    """Indices of one longest strictly increasing subsequence (patience sorting, O(n log n))."""
    tails: list[int] = []
    tail_idx: list[int] = []
    prev = [-1] * len(seq)
    for i, x in enumerate(seq):
        k = bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
            tail_idx.append(i)
        else:
            tails[k] = x
            tail_idx[k] = i
        prev[i] = tail_idx[k - 1] if k else -1
    out: set[int] = set()
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        out.add(i)
        i = prev[i]
    return out
