"""Errors the vision engines raise: each says what was wrong and what to do about it."""

from __future__ import annotations


class VisionError(ValueError):
    """A problem with the input media or parameters that the user can fix."""


class NoFaceError(VisionError):
    """A reference image in which no face was found."""


class MultipleFacesError(VisionError):
    """A reference image with several faces and no choice of which one is the character."""

    def __init__(self, message: str, count: int):
        super().__init__(message)
        self.count = count


class FaceIndexError(VisionError):
    """A face choice that does not exist in the image."""


class MediaError(VisionError):
    """A movie or image sequence that cannot be read, or a frame outside it."""
