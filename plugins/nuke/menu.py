# ShotBridge for Nuke: the ShotBridge menu and dockable panel (GUI sessions only).
import nuke

try:
    from shotbridge_nuke import menu as _shotbridge_menu

    _shotbridge_menu.install()
except Exception as _exc:  # a broken install must never stop Nuke from starting
    nuke.tprint(f"ShotBridge: menu not installed: {_exc}")
