"""Face model interface, reference images refused with clear errors, bible matching."""

from __future__ import annotations

import pytest
from skimage import data

from shotbridge_backend.vision import (
    DlibFaceModel,
    FaceIndexError,
    FaceModel,
    MultipleFacesError,
    NoFaceError,
    VisionError,
    match,
    reference_embedding,
    similarity,
)


def test_dlib_model_implements_the_interface(model):
    assert isinstance(model, FaceModel)
    assert model.dim == 128 and 0 < model.threshold < 1


def test_detect_maps_boxes_back_to_full_resolution(faces_dir, model):
    from shotbridge_backend.vision import load_rgb

    img = load_rgb(faces_dir / "obama/obama-1080p.jpg")  # 1920 wide: detected on a 960 px copy
    faces = model.detect(img)
    assert len(faces) == 1
    full = DlibFaceModel(detect_long_side=0).detect(img)[0]  # detection at full size
    a, b = faces[0].box, full.box  # HOG's pyramid levels differ, so compare overlap, not pixels
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    assert inter / (faces[0].area + full.area - inter) > 0.75
    assert model.embed(img, faces).shape == (1, 128)
    assert model.embed(img, []).shape == (0, 128)


def test_reference_with_no_face_is_refused():
    with pytest.raises(NoFaceError, match="No face found in reference image 'coffee'.*frontal"):
        reference_embedding([data.coffee()], labels=["coffee"])
    assert issubclass(NoFaceError, VisionError) and issubclass(VisionError, ValueError)


def test_reference_with_several_faces_needs_a_choice(faces_dir, model):
    path = faces_dir / "_group/two_people.jpg"
    with pytest.raises(MultipleFacesError, match=r"2 faces found.*face_index \(0 to 1") as err:
        reference_embedding([path], model)
    assert err.value.count == 2
    with pytest.raises(FaceIndexError, match="face_index 5 does not exist"):
        reference_embedding([path], model, face_index=5)
    with pytest.raises(VisionError, match="one per image"):
        reference_embedding([path, path], model, face_index=[0])


def test_face_index_picks_the_person(faces_dir, model, eval_bible):
    path = faces_dir / "_group/two_people.jpg"  # obama left, biden right
    left, right = reference_embedding([path, path], model, face_index=[0, 1])
    assert match(left, eval_bible).name == "obama"
    assert match(right, eval_bible).name == "biden"


def test_match_refuses_strangers(embedder, eval_bible):
    stranger = embedder("lin_manuel_miranda/lin-manuel-miranda.png")[0][1]
    m = match(stranger, eval_bible)
    assert m.name is None and m.nearest is not None and m.distance > 0.6
    known = match(embedder("obama/obama.jpg")[0][1], eval_bible)
    assert known.name == "obama" and known.similarity > similarity(0.6)
    assert match(stranger, {}).name is None
