"""The attention loss's negative edges as PyG draws them for the authors' network — drawn on the device.

SuperGATConv's own sampler (``torch_geometric.utils.batched_negative_sampling``) runs on the
host: per graph of the batch it reads counts back (``tolist``), draws with Python's ``random``,
tests membership with numpy and copies the result to the device — hundreds of waits a step on a
GPU. The skeleton graph never changes, so what that sampler can draw for a batch of B skeletons
is fixed, and is computed here once per batch size; each step then draws on the device.

What PyG draws, exactly (torch-geometric 2.8.1): the conv adds every node's self-loop at the end
of the batch's edge list, and the sampler splits that list into consecutive pieces of each
graph's edge count (E + 24) as if it were sorted by graph — it is not (the loops come last), so
graph i's piece holds other graphs' edges, shifted by i's node offset. Pairs that fall outside
graph i are ignored, so graph i's "positives" are only those of its own edges that its piece
happens to hold (all of them for graph 0, some for graphs 1 and 2, none after). From the 552
ordered pairs of distinct joints less those, it draws uniformly without replacement, up to
``int(ratio x B x (E + 24))`` a graph. At batch 16 that is 488, 512, 536 and then 552 (all pairs,
true edges included) — 8,712 in all, 544.5 a graph. :class:`PygNegatives` keeps those counts and
candidate sets and draws uniformly among them (tests/test_device_waits.py compares it with PyG's
sampler, count by count and with a chi-square test).
"""

import functools

import torch
from torch import nn

from hmrlib.skeleton import NUM_JOINTS


def _ordered_pairs() -> torch.Tensor:
    """(552, 2) every ordered pair (row, col) of distinct joints, row-major."""
    return (~torch.eye(NUM_JOINTS, dtype=torch.bool)).nonzero()


@functools.cache
def pyg_negative_plan(edges: tuple, batch_size: int, ratio: float) -> tuple[torch.Tensor, tuple[int, ...]]:
    """For ``edges`` (one skeleton's directed edges, no self-loops, as (row, col) tuples) in a
    batch of ``batch_size``: which of the 552 ordered pairs PyG may draw for each graph, (B, 552)
    bool, and how many it draws for each, B ints. Computed on the host, once per batch size."""
    edge_index = torch.tensor(edges, dtype=torch.long).T  # (2, E)
    count, nodes = edge_index.shape[1], NUM_JOINTS
    offsets = torch.arange(batch_size) * nodes
    graph_edges = (edge_index[:, None, :] + offsets[None, :, None]).flatten(1)  # (2, B*E), graph by graph
    loops = torch.arange(batch_size * nodes).repeat(2, 1)  # (2, B*24): added after all the edges
    listed = torch.cat([graph_edges, loops], dim=1)
    piece = count + nodes  # each graph's share of the list as the sampler splits it
    allowed = ~torch.eye(nodes, dtype=torch.bool).repeat(batch_size, 1, 1)  # (B, 24, 24)
    for graph in range(batch_size):
        row, col = listed[:, graph * piece : (graph + 1) * piece] - graph * nodes
        inside = (row >= 0) & (row < nodes) & (col >= 0) & (col < nodes) & (row != col)
        allowed[graph, row[inside], col[inside]] = False
    pairs = _ordered_pairs()
    allowed = allowed[:, pairs[:, 0], pairs[:, 1]]  # (B, 552)
    wanted = int(ratio * batch_size * piece)
    return allowed, tuple(min(wanted, int(n)) for n in allowed.sum(1))


class PygNegatives(nn.Module):
    """``negatives(batch_size)`` -> (2, Σ k_i) negative edges of a batch of skeletons, node ids of
    PyG's flat batch, drawn on the module's device as PyG's sampler would (module docstring)."""

    def __init__(self, edge_index: torch.Tensor, ratio: float):
        super().__init__()
        self.edges = tuple(map(tuple, edge_index.T.tolist()))  # built once, on the host
        self.ratio = ratio
        self.register_buffer("pairs", _ordered_pairs(), persistent=False)  # (552, 2)
        self._plans: dict = {}

    def _plan(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(allowed (B, 552), graph of each draw (K,), rank of each draw (K,)) on the device."""
        key = (batch_size, self.pairs.device)
        if key not in self._plans:  # once per batch size: the only copy from the host
            allowed, counts = pyg_negative_plan(self.edges, batch_size, self.ratio)
            graphs = torch.repeat_interleave(torch.arange(batch_size), torch.tensor(counts))
            ranks = torch.cat([torch.arange(k) for k in counts])
            self._plans[key] = tuple(t.to(self.pairs.device) for t in (allowed, graphs, ranks))
        return self._plans[key]

    def forward(self, batch_size: int) -> torch.Tensor:
        allowed, graphs, ranks = self._plan(batch_size)
        scores = torch.rand(allowed.shape, device=allowed.device)
        scores = torch.where(allowed, scores, 2.0)  # the disallowed sort last
        order = scores.argsort(dim=1)  # (B, 552): a uniform random order of each graph's candidates first
        chosen = self.pairs[order[graphs, ranks]]  # (K, 2)
        return (chosen + (graphs * NUM_JOINTS)[:, None]).T.contiguous()  # (2, K)
