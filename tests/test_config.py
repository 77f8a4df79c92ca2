import pytest

from hmrlib.constants import PROFILES
from hmrlib.errors import ConfigError
from hmrlib.train import DataConfig, TrainConfig, Trainer, profile
from hmrlib.train.config import scored_subjects


def test_config_round_trips_through_a_dict():
    for name in PROFILES:
        config = profile(name, "resnet50", seed=3)
        assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_keeps_train_validation_and_test_subjects_disjoint(name, tiny_root):
    for root in (None, tiny_root):
        data = profile(name, data_root=root).data
        roles = [set(data.train_subjects), set(data.val_subjects), set(data.test_subjects)]
        assert all(roles) and not (roles[0] & roles[1] or roles[0] & roles[2] or roles[1] & roles[2])
        assert data.val_subjects == ("S8",) and data.test_subjects == (("S9",) if name == "tiny" else ("S9", "S11"))


def test_overlapping_roles_are_refused():
    with pytest.raises(ConfigError, match="validation and test subjects must be disjoint; both hold S9"):
        DataConfig(val_subjects=("S8", "S9"))
    with pytest.raises(ConfigError, match="train and validation"):
        DataConfig(train_subjects=("S1", "S8"))


def test_table_1_scores_the_test_subjects_only_where_they_have_labels(tmp_path, tiny_root):
    assert scored_subjects(profile("cpu", data_root=tiny_root)) == (("S9", "S11"), "test")
    assert scored_subjects(profile("tiny", data_root=tiny_root)) == (("S9",), "test")
    (tmp_path / "H36M_data_st").mkdir()  # a course-layout root without SynthH36M's manifest: labels hidden
    assert scored_subjects(profile("cpu", data_root=tmp_path)) == (("S8",), "validation")


def test_missing_validation_subjects_stop_training_at_once(tiny_root, tmp_path):
    config = profile("tiny", data_root=tiny_root)
    config = TrainConfig.from_dict({**config.to_dict(), "data": {**config.to_dict()["data"], "val_subjects": ["S2"]}})
    with pytest.raises(
        FileNotFoundError, match=r"the validation subjects S2 are missing from .*H36M_data_st \(it holds S1 S8 S9\)"
    ):
        Trainer(config, tmp_path, progress=False)
