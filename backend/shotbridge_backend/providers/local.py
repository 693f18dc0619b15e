"""`local`: this machine's CPU. Runs the analysis operations in process, and classical inpainting.

Nothing is sent anywhere, so the policy always allows it and the egress audit has nothing to record.
"""

from __future__ import annotations

from typing import ClassVar

from shotbridge.models import CostEstimate, ProviderKind

from .base import (
    ALGORITHMIC,
    IMAGE,
    MASK,
    Generated,
    GenerationRequest,
    ProviderAdapter,
    ProviderError,
    ProviderFacts,
    Task,
)


class LocalProvider(ProviderAdapter):
    type = "local"
    kind = ProviderKind.local
    title = "Embedded (this machine's CPU)"
    facts: ClassVar[ProviderFacts] = ProviderFacts(trains_on_inputs=False, retention_days=0,
                                                   data_location="this machine")
    tasks = frozenset({Task.inpaint})

    def estimate(self, request: GenerationRequest) -> CostEstimate:
        frames = max(1, len(request.by_role(IMAGE)))
        return CostEstimate(provider=self.name, amount=0.05 * frames, unit="CPU-seconds",
                            note="classical inpainting (OpenCV Telea) on this machine")

    def generate(self, request: GenerationRequest, session) -> Generated:
        import cv2
        import numpy as np

        if request.task != Task.inpaint:
            raise ProviderError(f"the local provider cannot {request.task.value}; configure a generative provider")
        mask_input = request.first(MASK)
        if mask_input is None:
            raise ProviderError("inpainting needs a mask (white where the picture is to be filled)")
        mask = cv2.imread(str(mask_input.path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise ProviderError(f"the mask '{mask_input.path.name}' is not an image OpenCV can read")
        radius = int(request.options.get("radius", 5))
        out = []
        images = request.by_role(IMAGE)
        for i, image in enumerate(images):
            session.progress(i / len(images), f"inpainting frame {i + 1} of {len(images)}")
            pixels = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
            if pixels is None:
                raise ProviderError(f"frame '{image.path.name}' is not an image OpenCV can read")
            m = mask if mask.shape == pixels.shape[:2] else cv2.resize(mask, pixels.shape[1::-1],
                                                                      interpolation=cv2.INTER_NEAREST)
            filled = cv2.inpaint(pixels, (m > 127).astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
            path = session.work_dir / f"inpaint_{i:04d}.png"
            cv2.imwrite(str(path), filled)
            out.append(path)
        return Generated(files=out, media_type="image/png", model=f"opencv-{cv2.__version__}-telea",
                         reproduce={"radius": radius}, digital_source_type=ALGORITHMIC)
