"""The panel's colours per host, so it reads as part of the application it sits in (no toolkit here).

Each palette takes the host's own greys and accent: Nuke's orange, Resolve's near-black with a red accent
and blue selection, Blender's #303030 regions with #4772b3 selection. The style sheet sizes fonts in points
and spacing in small px values, both of which Qt scales with the screen's device pixel ratio.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    host: str
    window: str  # the panel's background
    base: str  # fields, lists, tables
    tab: str  # tabs and headers
    border: str
    text: str
    hint: str  # secondary text
    accent: str  # the host's signature colour: titles, current tab, progress
    accent_text: str  # text on the accent
    selection: str  # selected rows and text
    button: str
    hover: str
    row_selection: str = "#4a4a4a"  # selected rows: muted, so status colours stay readable on them
    alternate: str = "#252525"  # every other row of a list
    error: str = "#ff6b5e"
    progress: str = ""  # a running job's bar; empty: the accent (Resolve's red accent would read as failure)

    @property
    def bar(self) -> str:
        return self.progress or self.accent

    @property
    def accent_is_light(self) -> bool:
        """Light enough to be text on the panel's greys (Nuke's orange is; Blender's blue is not)."""
        c = self.accent.lstrip("#")
        r, g, b = (int(c[i:i + 2], 16) / 255 for i in (0, 2, 4))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45


PALETTES: dict[str, Palette] = {
    # The standalone window keeps ShotBridge's own look (it started from Nuke's).
    "standalone": Palette("standalone", "#2b2b2b", "#1f1f1f", "#323232", "#454545", "#d8d8d8", "#8a8a8a",
                          "#f0a030", "#111111", "#c8781e", "#3f3f3f", "#4a4a4a", "#5c4524", "#242424"),
    "nuke": Palette("nuke", "#323232", "#262626", "#3a3a3a", "#1c1c1c", "#d0d0d0", "#8c8c8c",
                    "#f0a030", "#111111", "#f0a030", "#474747", "#525252", "#634a26", "#2b2b2b"),
    "resolve": Palette("resolve", "#1f1f22", "#141416", "#28282b", "#3a3a3e", "#c9c9cc", "#85858a",
                       "#e2423a", "#ffffff", "#2f6fb3", "#2c2c30", "#36363b", "#24466b", "#19191b",
                       progress="#2f6fb3"),
    "blender": Palette("blender", "#303030", "#1d1d1d", "#3d3d3d", "#242424", "#e6e6e6", "#9a9a9a",
                       "#4772b3", "#ffffff", "#4772b3", "#545454", "#656565", "#334d75", "#232323"),
}


def palette_for(host: str | None) -> Palette:
    """The palette for a host by its name (Host.name); anything unknown gets the standalone look."""
    return PALETTES.get((host or "").lower(), PALETTES["standalone"])


def palette_of(host: object) -> Palette:
    """A host's palette: its `look` (the standalone window can borrow a host's: `--look blender`), else its
    name."""
    return palette_for(getattr(host, "look", None) or getattr(host, "name", None))


def style_sheet(p: Palette) -> str:
    return f"""
QWidget {{ background: {p.window}; color: {p.text}; font-size: 9pt; }}
QTabWidget::pane {{ border: 1px solid {p.border}; top: -1px; }}
QTabBar::tab {{ background: {p.tab}; padding: 5px 12px; border: 1px solid {p.border}; }}
QTabBar::tab:selected {{ background: {p.hover}; color: {p.accent if p.accent_is_light else p.text};
    border-bottom: 2px solid {p.accent}; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QListWidget, QTreeWidget, QTableWidget, QPlainTextEdit {{
    background: {p.base}; border: 1px solid {p.border}; padding: 3px; selection-background-color: {p.selection};
    selection-color: {p.accent_text if p.selection == p.accent else "#ffffff"}; }}
QPushButton {{ background: {p.button}; border: 1px solid {p.border}; padding: 4px 12px; border-radius: 2px; }}
QPushButton:hover {{ background: {p.hover}; }}
QPushButton#primary {{ background: {p.accent}; color: {p.accent_text}; font-weight: bold; border: none; }}
QPushButton:disabled {{ color: #777; }}
QPushButton:checked {{ background: {p.row_selection}; border: 1px solid {p.accent};
    color: {p.accent if p.accent_is_light else p.text}; }}
QPushButton#primary:disabled {{ background: {p.tab}; color: #8a8a8a; }}
QProgressBar {{ border: 1px solid {p.border}; background: {p.base}; text-align: center; height: 14px; }}
QProgressBar::chunk {{ background: {p.bar}; }}
QLabel#error {{ color: {p.error}; }}
QLabel#hint {{ color: {p.hint}; }}
QLabel#title {{ color: {p.accent}; font-size: 11pt; font-weight: bold; }}
QTreeWidget, QTableWidget, QListWidget {{ alternate-background-color: {p.alternate}; }}
QTreeWidget::item:selected, QTableWidget::item:selected, QListWidget::item:selected {{
    background: {p.row_selection}; color: #ffffff; }}
QHeaderView::section {{ background: {p.tab}; border: none; padding: 3px 6px; }}
QMenu {{ background: {p.tab}; border: 1px solid {p.border}; }}
QMenu::item:selected {{ background: {p.selection}; }}
QToolTip {{ background: {p.base}; color: {p.text}; border: 1px solid {p.border}; }}
QStatusBar {{ color: {p.hint}; }}
"""
