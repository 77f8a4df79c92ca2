"""An ipywidgets viewer for predicted meshes in JupyterLab (it renders images: works headless).

Controls: the sample, the variant (e.g. the three Table 1 models), ground truth / prediction /
both, the view (zoomed to the person — the square around both meshes — or the camera's full
frame), azimuth and elevation (re-rendered with pyrender), error colouring; the sample's metrics
are shown beside the image. Pictures are 512 pixels high.
"""

import io

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image

from hmrlib.camera import rotate_about
from hmrlib.data.crop import crop_camera, crop_square
from hmrlib.evaluation.metrics import all_metrics
from hmrlib.present.compare import display_name
from hmrlib.render import GROUND_TRUTH_COLOUR, PREDICTION_COLOUR, Renderer, error_colours

ERROR_SCALE_M = 0.3  # the heat map saturates at 30 cm
VIEW_SIZE = 512  # pixels: the picture's height (the person view is square)
PERSON_MARGIN = 1.15  # the person view's side, relative to the meshes' larger projected extent


class MeshViewer:
    def __init__(self, dataset, predictions: dict, body, indices=None):
        """predictions: {variant name: {"pose": (N, 72), "betas": (N, 10)}} for ``indices`` of
        ``dataset`` (all samples by default), in that order."""
        self.dataset, self.predictions, self.body = dataset, predictions, body
        self.indices = np.arange(len(dataset)) if indices is None else np.asarray(indices)
        self.renderer = Renderer()
        self.sample = widgets.IntSlider(0, 0, len(self.indices) - 1, description="sample")
        names = [(display_name(variant), variant) for variant in predictions]
        self.variant = widgets.Dropdown(options=names, description="variant", layout={"width": "auto"})
        self.show = widgets.ToggleButtons(options=["both", "prediction", "ground truth"], description="show")
        self.azimuth = widgets.FloatSlider(0.0, min=-180, max=180, step=15, description="azimuth")
        self.elevation = widgets.FloatSlider(0.0, min=-60, max=60, step=15, description="elevation")
        self.errors = widgets.Checkbox(False, description="colour by error")
        self.view = widgets.ToggleButtons(options=["person", "full frame"], description="view")
        self.image = widgets.Image(format="png")
        self.metrics = widgets.HTML()
        for control in (self.sample, self.variant, self.show, self.view, self.azimuth, self.elevation, self.errors):
            control.observe(lambda change: self.update(), names="value")
        controls = widgets.VBox(
            [self.sample, self.variant, self.show, self.view, self.azimuth, self.elevation, self.errors, self.metrics]
        )
        self.widget = widgets.HBox([self.image, controls])
        self.update()

    def meshes(self):
        """Camera-frame vertices (V, 3) of the current ground truth and prediction."""
        index = int(self.indices[self.sample.value])
        labels = self.dataset.labels(index)
        prediction = self.predictions[self.variant.value]
        pose = torch.as_tensor(prediction["pose"][self.sample.value])[None]
        betas = torch.as_tensor(prediction["betas"][self.sample.value])[None]
        with torch.no_grad():
            truth = self.body(**labels)
            predicted = self.body.mesh(pose, betas, labels["transl"])
        metrics = {
            k: float(v[0])
            for k, v in all_metrics(predicted.vertices, truth.vertices, predicted.joints, truth.joints).items()
        }
        return index, truth.vertices[0].cpu().numpy(), predicted.vertices[0].cpu().numpy(), metrics

    def render(self) -> np.ndarray:
        index, truth, predicted, self.current_metrics = self.meshes()
        intrinsics = self.dataset.intrinsics(index)
        centre = truth.mean(0)
        turn = lambda v: rotate_about(v, centre, self.azimuth.value, self.elevation.value)  # noqa: E731
        colour = (
            error_colours(np.linalg.norm(predicted - truth, axis=1), ERROR_SCALE_M)
            if self.errors.value
            else PREDICTION_COLOUR
        )
        truth, predicted = turn(truth), turn(predicted)
        meshes = []
        if self.show.value in ("both", "ground truth"):
            meshes.append((truth, self.body.faces, GROUND_TRUTH_COLOUR))
        if self.show.value in ("both", "prediction"):
            meshes.append((predicted, self.body.faces, colour))
        straight = self.azimuth.value == 0 and self.elevation.value == 0
        frame = self.dataset.image(index) if straight else None
        if self.view.value == "person":  # the square around both meshes, whatever is shown
            pixels = intrinsics.project(np.concatenate([truth, predicted]))
            low, high = pixels.min(0), pixels.max(0)
            centre, side = (low + high) / 2, PERSON_MARGIN * (high - low).max()
            camera = crop_camera(intrinsics, centre, side, VIEW_SIZE)
            background = crop_square(frame, centre, side, VIEW_SIZE) if straight else None
        else:
            camera = intrinsics.scaled(VIEW_SIZE / intrinsics.height)
            background = np.asarray(Image.fromarray(frame).resize((camera.width, camera.height))) if straight else None
        return self.renderer.render(meshes, camera, background=background, alpha=0.65 if straight else 1.0)[0]

    def update(self):
        buffer = io.BytesIO()
        Image.fromarray(self.render()).save(buffer, format="png")
        self.image.value = buffer.getvalue()
        m = self.current_metrics
        self.metrics.value = (
            f"<b>{self.dataset.sample_id(int(self.indices[self.sample.value]))}</b><br>"
            f"MSE {m['mse_m2']:.4f} m²<br>PVE {m['pve_mm']:.0f} mm<br>MPJPE {m['mpjpe_mm']:.0f} mm<br>"
            f"PA-MPJPE {m['pa_mpjpe_mm']:.0f} mm<br><span style='color:#3b3'>ground truth</span> / "
            f"<span style='color:#e80'>prediction</span>"
        )
