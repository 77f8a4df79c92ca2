"""Regression heads from image features (B, 2048) to SMPL parameters.

- :class:`SuperGATPoseHead` — the paper's pose head: a graph over the 24 SMPL joints (bones plus
  mirrored-limb links), three SuperGAT layers (PyG's ``SuperGATConv``, scaled dot-product
  attention, 4 heads x 64 channels), skip concatenation and GCNII initial residuals.

Each class's defaults build the authors' network as their released model files do; the changes
hmrlib made for training from scratch on a CPU are named options (``ModelConfig`` lists them).
- :class:`ResidualShapeHead` — the paper's shape MLP: depth 10, width 128, ReLU → BatchNorm →
  Dropout(0.05) → Linear, non-activated outputs of every two linear layers summed.
- :class:`LinearHead` — a plain linear regression (the ResNet-50 baseline of Table 1).

Pose heads return raw outputs (B, 24 * k): axis-angle (k = 3) or 6D rotations (k = 6), as an
offset from the generator's mean pose; :func:`rotations_to_pose` turns them into axis-angle.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import SuperGATConv

from hmrlib.geometry import (
    about_camera_vertical,
    cell_centres,
    heading_angle,
    matrix_to_rotvec,
    matrix_to_sixd,
    sixd_to_matrix,
)
from hmrlib.models.negatives import PygNegatives
from hmrlib.skeleton import NUM_JOINTS, pose_graph_edges

ROTATION_SIZES = {"axis-angle": 3, "6d": 6}


def rotations_to_pose(raw: torch.Tensor, rotation: str) -> torch.Tensor:
    """(B, 24 * k) raw outputs -> (B, 72) axis-angle."""
    if rotation == "axis-angle":
        return raw
    return matrix_to_rotvec(sixd_to_matrix(raw.view(raw.shape[0], NUM_JOINTS, 6))).flatten(1)


def skeleton_non_edges(edge_index: torch.Tensor) -> torch.Tensor:
    """(2, M) every ordered pair of distinct joints that ``edge_index`` does not link."""
    linked = torch.zeros(NUM_JOINTS, NUM_JOINTS, dtype=torch.bool)
    linked[edge_index[0], edge_index[1]] = True
    linked |= torch.eye(NUM_JOINTS, dtype=torch.bool)
    return (~linked).nonzero().T.contiguous()


class SuperGATPoseHead(nn.Module):
    def __init__(
        self,
        in_features: int = 2048,
        node_features: int = 512,
        heads: int = 4,
        head_channels: int = 64,
        layers: int = 3,
        dropout: float = 0.25,
        mirror_links: bool = True,
        out_features: int = 3 * NUM_JOINTS,
        normalize: bool = False,
        node_offset: bool = False,
        node_dropout: str = "per-node",
        leaky_slope: float = 0.01,
        negatives: str = "pyg",
        near_zero_readout: bool = False,
    ):
        """The defaults are the authors' network (their model files); hmrlib's changes are options.

        node_features: width of the initial node encoding, a Linear(in_features -> node_features)
        shared by the 24 nodes (the authors': 512). Each layer's output (heads x head_channels)
        is concatenated with the previous layer's — for the first layer, with the first
        heads x head_channels values of the encoding, as the authors' code does — so every layer
        carries 2 x heads x head_channels, plus a linear map of the encoding (GCNII's initial
        residual), then a leaky ReLU of slope ``leaky_slope`` (the authors': PyTorch's 0.01).

        node_dropout: 'per-node' (the authors': the image feature is copied to the 24 nodes and
        each copy draws its own dropout mask, so the nodes differ in training from the first
        layer on) or 'shared' (hmrlib's: one mask for all, the encoding computed once).
        node_offset: a learned per-node vector added to the encoding (hmrlib's), so that the 24
        nodes also differ at inference; the authors' nodes all start from the same vector.

        normalize: a LayerNorm on each layer's input (hmrlib's). The concatenated skips and
        initial residuals add up without any normalisation, so the node features grow during
        training, and SD attention's logits, dot products of two such features, grow with their
        square: the attention loss (a BCE on those logits) then grows linearly with them. Measured
        on the cpu recipe at lr 3e-4: from 4.4 to 95 in 370 steps without it (docs/experiments.md).

        negatives: the attention loss's negative edges. 'pyg' (the authors'): what SuperGATConv's own
        sampler draws over the batch's graphs (its count grows with the batch: 544.5 a graph at
        batch 16), drawn on the device (:mod:`hmrlib.models.negatives`); 'per-graph' (hmrlib's):
        the same number of non-edges in every graph, PyG's ratio of its positives, so the loss
        does not change with the batch size.

        near_zero_readout: start the readout near zero (hmrlib's, with the generator's mean pose
        added to it) instead of PyTorch's default initialisation."""
        super().__init__()
        conv_out = heads * head_channels
        if node_features < conv_out:
            raise ValueError(f"node_features ({node_features}) must be at least heads * head_channels ({conv_out})")
        if node_dropout not in ("per-node", "shared"):
            raise ValueError(f"node_dropout must be 'per-node' or 'shared', got {node_dropout!r}")
        if negatives not in ("pyg", "per-graph"):
            raise ValueError(f"negatives must be 'pyg' or 'per-graph', got {negatives!r}")
        self.conv_out, self.width = conv_out, 2 * conv_out
        self.node_dropout, self.leaky_slope, self.negatives = node_dropout, leaky_slope, negatives
        self.dropout = nn.Dropout(dropout)
        self.encode = nn.Linear(in_features, node_features)
        self.node_embedding = nn.Parameter(torch.zeros(NUM_JOINTS, node_features)) if node_offset else None
        self.convs = nn.ModuleList(
            SuperGATConv(
                node_features if k == 0 else self.width,
                head_channels,
                heads=heads,
                concat=True,
                dropout=dropout,
                attention_type="SD",
                is_undirected=True,
                add_self_loops=False,  # added once to the static edge list (PyG's own removal reads a mask back)
            )
            for k in range(layers)
        )
        self.initial_residual = nn.ModuleList(nn.Linear(node_features, self.width) for _ in range(layers))
        self.norms = nn.ModuleList(
            nn.LayerNorm(node_features if k == 0 else self.width) if normalize else nn.Identity() for k in range(layers)
        )
        self.readout = nn.Linear(NUM_JOINTS * self.width, out_features)
        self.register_buffer("edge_index", pose_graph_edges(mirror_links), persistent=False)
        # The skeleton graph never changes, so its non-edges (the candidate negatives of the
        # 'per-graph' attention loss) are listed once: drawn on the device, no loop over the batch.
        self.register_buffer("non_edges", skeleton_non_edges(self.edge_index), persistent=False)
        positives = self.edge_index.shape[1] + NUM_JOINTS
        self.negatives_per_graph = round(self.convs[0].neg_sample_ratio * positives)
        # 'pyg': the negatives PyG's sampler would draw for the batch, drawn on the device
        self.pyg_negatives = PygNegatives(self.edge_index, self.convs[0].neg_sample_ratio)
        self.near_zero_readout = near_zero_readout
        self.reset_parameters()

    def reset_parameters(self):
        if self.node_embedding is not None:
            nn.init.normal_(self.node_embedding, std=0.1)
        if self.near_zero_readout:
            nn.init.xavier_uniform_(self.readout.weight, gain=0.01)  # start near the generator's mean pose
            nn.init.zeros_(self.readout.bias)

    def batched_graph(self, batch_size: int) -> torch.Tensor:
        """edge_index (2, B*E + B*24): each sample's edges, its nodes offset, then every node's
        self-loop — the list SuperGATConv builds itself when it adds the loops."""
        offsets = torch.arange(batch_size, device=self.edge_index.device) * NUM_JOINTS
        edges = (self.edge_index[:, None, :] + offsets[None, :, None]).flatten(1)  # (2, B*E)
        loops = torch.arange(batch_size * NUM_JOINTS, device=edges.device).expand(2, -1)
        return torch.cat([edges, loops], dim=1)

    def negative_edges(self, batch_size: int) -> torch.Tensor:
        """(2, B * K) negative edges: K = negatives_per_graph non-edges of each graph, drawn
        without replacement from the global torch RNG, offset to that graph's nodes."""
        candidates = self.non_edges.shape[1]
        scores = torch.rand(batch_size, candidates, device=self.non_edges.device)
        picks = scores.argsort(dim=1)[:, : self.negatives_per_graph]  # (B, K)
        offsets = torch.arange(batch_size, device=picks.device)[:, None] * NUM_JOINTS
        return (self.non_edges[:, picks] + offsets).flatten(1)  # (2, B*K)

    def attention_logit_max(self) -> torch.Tensor:
        """The largest |attention logit| of the last training forward, over layers, edges and
        heads: the scaled dot products that the attention loss turns into probabilities. Logged by
        the trainer, so that a growth in feature scale shows before the loss diverges."""
        return torch.stack([conv.att_x.detach().abs().max() for conv in self.convs]).max()  # () on the device

    def encode_nodes(self, features: torch.Tensor) -> torch.Tensor:
        """features (B, F) -> the initial node encodings (B * 24, C), PyG's flat node list."""
        batch_size = features.shape[0]
        if self.node_dropout == "per-node":  # 24 copies, 24 masks
            nodes = self.encode(self.dropout(features[:, None].expand(-1, NUM_JOINTS, -1)))  # (B, 24, C)
        else:
            nodes = self.encode(self.dropout(features))[:, None].expand(-1, NUM_JOINTS, -1)  # (B, 24, C)
        if self.node_embedding is not None:
            nodes = nodes + self.node_embedding
        return nodes.reshape(batch_size * NUM_JOINTS, -1)

    def forward(self, features: torch.Tensor, joint_inputs: torch.Tensor | None = None):
        """features (B, F) -> (raw pose (B, out_features), attention loss: scalar in training, else None).
        joint_inputs (B, 24, C): added to each node's encoding (hmrlib's joint-aligned nodes)."""
        batch_size = features.shape[0]
        initial = self.encode_nodes(features)  # (B*24, C)
        if joint_inputs is not None:
            initial = initial + joint_inputs.reshape(initial.shape)
        edges = self.batched_graph(batch_size)
        x, previous = initial, initial[:, : self.conv_out]
        for conv, norm, residual in zip(self.convs, self.norms, self.initial_residual):
            negatives = None
            if self.training:
                per_graph = self.negatives == "per-graph"
                negatives = self.negative_edges(batch_size) if per_graph else self.pyg_negatives(batch_size)
            out = conv(norm(x), edges, neg_edge_index=negatives)  # (B*24, heads * ch)
            x = F.leaky_relu(torch.cat([previous, out], dim=-1) + residual(initial), self.leaky_slope)  # (B*24, width)
            previous = out
        raw = self.readout(x.view(batch_size, NUM_JOINTS * self.width))
        attention_loss = sum(conv.get_attention_loss() for conv in self.convs) if self.training else None
        return raw, attention_loss


class ResidualShapeHead(nn.Module):
    def __init__(
        self,
        in_features: int = 2048,
        width: int = 128,
        blocks: int = 4,
        dropout: float = 0.05,
        num_betas: int = 10,
        bn_eps: float = 1e-5,
        skip: str = "relu",
        near_zero_output: bool = False,
    ):
        """Depth = 2 + 2 * blocks linear layers (10 by default). The defaults are the authors'.

        skip: what each block adds its output to. The paper's text reads x + F(x) ("the
        non-activated output of every two linear layers are summed"); the authors' code computes
        relu(x) + F(x), because the block's first ReLU is in-place and overwrites x. 'relu' (the
        default, and the paper profile's) follows the code: with their weights it gives their
        outputs exactly, which a reproduction must; 'identity' is the text's reading (hmrlib's
        earlier profiles).

        bn_eps: BatchNorm's epsilon (the authors': PyTorch's 1e-5). After a ReLU some channels are
        nearly always zero; their running variance falls towards 0 and eval-mode BatchNorm
        multiplies any deviation by 1/sqrt(var + eps). With 1e-5 (x316) a short run from scratch
        gave betas of 10^4 on 1% of validation frames; 1e-2 (hmrlib's) bounds the factor at 10.

        near_zero_output: the output bias starts at zero (hmrlib's: at the generator's mean shape).
        """
        super().__init__()
        if skip not in ("relu", "identity"):
            raise ValueError(f"skip must be 'relu' or 'identity', got {skip!r}")
        self.skip = skip
        self.input = nn.Linear(in_features, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                *[
                    m
                    for _ in range(2)
                    for m in (
                        nn.ReLU(),
                        nn.BatchNorm1d(width, eps=bn_eps),
                        nn.Dropout(dropout),
                        nn.Linear(width, width),
                    )
                ]
            )
            for _ in range(blocks)
        )
        self.output = nn.Sequential(nn.ReLU(), nn.BatchNorm1d(width, eps=bn_eps), nn.Linear(width, num_betas))
        if near_zero_output:
            nn.init.zeros_(self.output[-1].bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.input(features)
        for block in self.blocks:
            x = (F.relu(x) if self.skip == "relu" else x) + block(x)
        return self.output(x)  # (B, num_betas)


class HeatmapHead(nn.Module):
    """Joint heatmaps from the backbone's intermediate maps (hmrlib's auxiliary head, issue 17):
    each map is projected to ``width`` channels, brought to the finest map's size (stride 4) and
    summed, as a feature pyramid's top-down path does, then two convolutions give one logit map
    per joint. Its loss (train/losses.py) tells the backbone where each joint is in the image,
    a signal the pose regression alone gives it only through a 2048-vector."""

    def __init__(self, in_channels=(256, 512, 1024), width: int = 64, joints: int = NUM_JOINTS):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(channels, width, 1) for channels in in_channels)
        self.output = nn.Sequential(
            nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, joints, 1)
        )

    def forward(self, maps) -> torch.Tensor:
        """maps: the backbone's (B, C_k, H_k, W_k), finest first -> (B, joints, H_0, W_0) logits."""
        size = maps[0].shape[-2:]
        summed = sum(
            F.interpolate(lateral(x), size=size, mode="bilinear", align_corners=False)
            if x.shape[-2:] != size
            else lateral(x)
            for lateral, x in zip(self.lateral, maps)
        )
        return self.output(summed)


class JointAlignedInputs(nn.Module):
    """Joint-aligned graph nodes (hmrlib's, issue 17 (d); not the paper's): each joint's position
    is the soft-argmax of its heatmap, the backbone's stride-8 map is sampled there (bilinear),
    and that feature with the position is mapped to the node encoding's width — so that the 24
    SuperGAT nodes start from 24 different inputs instead of 24 copies of one vector."""

    def __init__(self, map_channels: int, node_features: int):
        super().__init__()
        self.project = nn.Linear(map_channels + 2, node_features)
        nn.init.xavier_uniform_(self.project.weight, gain=0.1)
        nn.init.zeros_(self.project.bias)

    @staticmethod
    def soft_argmax(heatmaps: torch.Tensor) -> torch.Tensor:
        """(B, J, h, w) logits -> (B, J, 2) expected positions in normalised crop coordinates."""
        batch, joints, height, width = heatmaps.shape
        probabilities = heatmaps.flatten(2).softmax(-1).view(batch, joints, height, width)
        xs, ys = cell_centres(width, heatmaps.device), cell_centres(height, heatmaps.device)
        return torch.stack([(probabilities.sum(2) * xs).sum(-1), (probabilities.sum(3) * ys).sum(-1)], -1)

    def forward(self, heatmaps: torch.Tensor, feature_map: torch.Tensor) -> torch.Tensor:
        """heatmaps (B, J, h, w), feature_map (B, C, H, W) -> (B, J, node_features)."""
        positions = self.soft_argmax(heatmaps)
        sampled = F.grid_sample(feature_map, positions[:, :, None], mode="bilinear", align_corners=False)
        return self.project(torch.cat([sampled[..., 0].transpose(1, 2), positions], -1))


class HeadingBins(nn.Module):
    """The global orientation as one of ``bins`` headings plus a residual rotation each (MultiBin,
    Mousavian et al. 2017; hmrlib's, issue 17). A regression that cannot tell front from back
    averages the two and predicts a body turned sideways; here a classifier picks the heading's
    bin and each bin's rotation is learned only from the frames whose heading lies in it, so no
    average across bins is ever formed. The bins' starting rotations are the generator's mean
    orientation turned to each bin's centre; the residuals are 6D offsets from them."""

    def __init__(self, in_features: int, bins: int = 8):
        super().__init__()
        self.bins = bins
        self.logits = nn.Linear(in_features, bins)
        self.residuals = nn.Linear(in_features, 6 * bins)
        for layer in (self.logits, self.residuals):  # start at the bins' centres, undecided
            nn.init.xavier_uniform_(layer.weight, gain=0.01)
            nn.init.zeros_(layer.bias)
        self.register_buffer("centres", torch.zeros(bins, 6))
        self.start_from(torch.eye(3))

    def bin_centres(self) -> torch.Tensor:
        """(bins,) the headings at the bins' centres, from -pi."""
        return -math.pi + (torch.arange(self.bins, device=self.centres.device) + 0.5) * (2 * math.pi / self.bins)

    @torch.no_grad()
    def start_from(self, orientation: torch.Tensor):
        """(3, 3): each bin starts at this orientation turned to the bin's centre."""
        orientation = orientation.to(self.centres)
        turn = about_camera_vertical(self.bin_centres() - heading_angle(orientation))
        self.centres.copy_(matrix_to_sixd(turn @ orientation))

    def bin_of(self, orientation: torch.Tensor) -> torch.Tensor:
        """(B, 3, 3) -> (B,) the bin of each orientation's heading."""
        fraction = (heading_angle(orientation) + math.pi) / (2 * math.pi)
        return (fraction * self.bins).long().clamp(0, self.bins - 1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, F) -> logits (B, bins) and each bin's orientation (B, bins, 3, 3)."""
        residual = self.residuals(features).view(-1, self.bins, 6)
        return self.logits(features), sixd_to_matrix(self.centres + residual)


class LinearHead(nn.Module):
    """Dropout then one linear layer: the plain regression of the ResNet-50 baseline. The course's
    skeleton (and the ``paper`` profile) has no dropout; near_zero: start the outputs near zero
    (hmrlib's, with the generator's mean added) instead of PyTorch's default initialisation."""

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0, near_zero: bool = False):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_features, out_features)
        if near_zero:
            nn.init.xavier_uniform_(self.linear.weight, gain=0.01)
            nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(features))
