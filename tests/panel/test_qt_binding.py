"""The Qt binding must not corrupt Python: PySide6 6.12.0 on Python 3.11 drops a reference to None on every
call that returns nothing, so a panel streaming job progress aborts ("deallocating None") after some thousand
updates. pyproject.toml excludes that release; this test catches a venv that has it, or a new release that
does the same."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy")


def test_calls_into_qt_keep_python_s_reference_counts(qtbot):
    import qtpy
    from qtpy import QtWidgets

    label = QtWidgets.QLabel()
    qtbot.addWidget(label)
    item = QtWidgets.QTreeWidgetItem()
    before = sys.getrefcount(None)
    for n in range(500):
        label.setText(str(n))
        item.setText(1, str(n))
    lost = before - sys.getrefcount(None)
    assert lost < 100, (f"{qtpy.API_NAME} {qtpy.QT_VERSION} ({qtpy.PYSIDE_VERSION or qtpy.PYQT_VERSION}) lost {lost} "
                        "references to None in 1000 calls: the panel would abort after a few thousand updates. "
                        "Install a release without the bug, e.g. pip install 'PySide6-Essentials!=6.12.0'.")
