import numpy as np
import torch

from hmrlib.skeleton import BONES, JOINT_NAMES, MIRROR_LINKS, MIRROR_PERMUTATION, PARENTS, mirror_pose, pose_graph_edges


def test_tree_is_smpl():
    assert len(JOINT_NAMES) == len(PARENTS) == 24
    assert all(PARENTS[j] < j for j in range(1, 24))  # parents come first
    assert len(BONES) == 23


def test_mirror_permutation_swaps_sides():
    perm = np.array(MIRROR_PERMUTATION)
    assert (perm[perm] == np.arange(24)).all()
    for j, name in enumerate(JOINT_NAMES):
        mirrored = JOINT_NAMES[perm[j]]
        assert mirrored == name.replace("left", "#").replace("right", "left").replace("#", "right")


def test_pose_graph_edges():
    edges = pose_graph_edges()
    assert edges.shape == (2, 2 * (23 + 9))
    pairs = {tuple(e) for e in edges.T.tolist()}
    assert all((b, a) in pairs for a, b in pairs)  # undirected
    assert all(MIRROR_PERMUTATION[a] == b for a, b in MIRROR_LINKS)
    assert pose_graph_edges(mirror_links=False).shape == (2, 46)


def test_mirror_pose_is_an_involution():
    pose = torch.randn(5, 72)
    assert torch.allclose(mirror_pose(mirror_pose(pose)), pose)
    assert not torch.allclose(mirror_pose(pose), pose)
