"""The learned pose prior: 23 per-joint discriminators and one full-pose discriminator.

As in the paper (after PyTorch HMR): each non-root joint's axis-angle becomes a rotation matrix
(Rodrigues); the 9 values go through a shared 3-layer 1x1-convolution network of 32 channels
without nonlinearity, giving a 32-d embedding per joint; 23 per-joint heads Linear(32 -> 1) and a
full-pose head Linear(23*32 -> 32) -> Linear(32 -> 1) score them. Outputs are logits (sigmoid
in the loss, as BCE-with-logits: the same function, numerically safer).

Adaptive Gaussian noise on the inputs (ADA-style, see :meth:`PoseDiscriminator.adapt_noise`): a
noise std rises while its discriminator is too sure of real poses and falls otherwise, so it cannot
simply memorise the training set. Two ways, by ``noise_levels``:

- 'per-module' (the authors' model files): one level for the per-joint module, added to its
  rotation matrices, and one for the full-pose module, added to its input, the 736-d joint
  embedding (itself computed from the noised matrices);
- 'per-discriminator' (hmrlib's earlier profiles): 24 levels, one per discriminator, each added
  to the rotation matrices that discriminator reads (the full pose's drawn apart from the joints').
"""

import torch
from torch import nn

from hmrlib.geometry import rotvec_to_matrix
from hmrlib.skeleton import NUM_JOINTS

NUM_DISCRIMINATORS = NUM_JOINTS  # 23 joints + the full pose


class PoseDiscriminator(nn.Module):
    def __init__(
        self,
        channels: int = 32,
        hidden: int = 32,
        noise_target: float = 0.6,
        noise_step: float = 0.002,
        max_noise: float = 1.0,
        noise_levels: str = "per-module",
    ):
        """noise_target: the mean real-pose output (sigmoid) above which noise is raised;
        noise_step: the std change per update; noise std is clamped to [0, max_noise];
        noise_levels: 'per-module' (2 levels) or 'per-discriminator' (24), see the module's docstring."""
        super().__init__()
        if noise_levels not in ("per-module", "per-discriminator"):
            raise ValueError(f"noise_levels must be 'per-module' or 'per-discriminator', got {noise_levels!r}")
        self.noise_levels = noise_levels
        joints = NUM_JOINTS - 1
        self.embed = nn.Sequential(
            nn.Conv2d(9, channels, 1), nn.Conv2d(channels, channels, 1), nn.Conv2d(channels, channels, 1)
        )
        self.joint_weight = nn.Parameter(torch.empty(joints, channels))  # 23 separate Linear(32 -> 1)
        self.joint_bias = nn.Parameter(torch.zeros(joints))
        self.full_pose = nn.Sequential(nn.Linear(joints * channels, hidden), nn.Linear(hidden, 1))
        self.noise_target, self.noise_step, self.max_noise = noise_target, noise_step, max_noise
        # per-module: [per-joint module, full-pose module]; per-discriminator: 23 joints, full pose
        self.register_buffer("noise_std", torch.zeros(2 if noise_levels == "per-module" else NUM_DISCRIMINATORS))
        nn.init.uniform_(self.joint_weight, -(channels**-0.5), channels**-0.5)

    def _embeddings(self, matrices: torch.Tensor) -> torch.Tensor:
        """(B, 23, 9) -> (B, 32, 23)."""
        return self.embed(matrices.transpose(1, 2).unsqueeze(-1)).squeeze(-1)

    def forward(self, pose: torch.Tensor, noise: bool = True) -> torch.Tensor:
        """pose (B, 72) axis-angle (the root is ignored) -> logits (B, 24): 23 joints, then the full pose."""
        matrices = rotvec_to_matrix(pose.view(-1, NUM_JOINTS, 3)[:, 1:]).flatten(2)  # (B, 23, 9)
        noisy = noise  # drawn even at std 0 (adds 0): deciding would read the std back from the device
        if self.noise_levels == "per-module":
            joint_input = matrices + torch.randn_like(matrices) * self.noise_std[0] if noisy else matrices
            embeddings = self._embeddings(joint_input)  # (B, 32, 23)
            full_input = embeddings.transpose(1, 2).flatten(1)  # (B, 736)
            if noisy:
                full_input = full_input + torch.randn_like(full_input) * self.noise_std[1]
        else:
            joint_input, full_input = matrices, matrices
            if noisy:
                joint_input = matrices + torch.randn_like(matrices) * self.noise_std[:-1, None]
                full_input = matrices + torch.randn_like(matrices) * self.noise_std[-1]
            embeddings = self._embeddings(joint_input)
            full_input = self._embeddings(full_input).transpose(1, 2).flatten(1)  # (B, 736)
        joint_logits = torch.einsum("bcj,jc->bj", embeddings, self.joint_weight) + self.joint_bias  # (B, 23)
        full_logit = self.full_pose(full_input)  # (B, 1)
        return torch.cat([joint_logits, full_logit], dim=1)

    @torch.no_grad()
    def adapt_noise(self, mean_real: torch.Tensor, enabled: torch.Tensor | bool = True):
        """After a step: per noise level, raise its std if its discriminators' mean output (sigmoid)
        on a real batch, ``mean_real`` (24,), is above the target, else lower it. ``enabled``: a
        0-d bool on the device (False: a skipped step, the levels stay), so nothing is read back."""
        if self.noise_levels == "per-module":
            mean_real = torch.stack([mean_real[:-1].mean(), mean_real[-1]])
        direction = torch.where(mean_real > self.noise_target, 1.0, -1.0) * enabled
        self.noise_std.add_(direction * self.noise_step).clamp_(0.0, self.max_noise)
