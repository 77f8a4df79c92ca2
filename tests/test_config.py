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
    # a run trained from the repository records "data/synth_small"; a notebook scores DATA instead
    assert scored_subjects(profile("cpu", data_root="no/such/folder"), tiny_root) == (("S9", "S11"), "test")


def test_missing_validation_subjects_stop_training_at_once(tiny_root, tmp_path):
    config = profile("tiny", data_root=tiny_root)
    config = TrainConfig.from_dict({**config.to_dict(), "data": {**config.to_dict()["data"], "val_subjects": ["S2"]}})
    with pytest.raises(
        FileNotFoundError, match=r"the validation subjects S2 are missing from .*H36M_data_st \(it holds S1 S8 S9\)"
    ):
        Trainer(config, tmp_path, progress=False)


def test_set_changes_one_field_by_its_type_and_names_unknown_ones():
    from hmrlib.train.config import override

    config = profile("cpu", "resnet50")
    changed = override(override(config, "optim.head_lr_scale=0.5"), "model.gat_norm=false")
    changed = override(override(changed, "optim.clip_grad_norm=none"), "data.image_size=32")
    assert changed.optim.head_lr_scale == 0.5 and changed.model.gat_norm is False
    assert changed.optim.clip_grad_norm is None and changed.data.image_size == 32
    assert override(changed, "data.val_subjects=S8").data.val_subjects == ("S8",)
    assert config.optim.head_lr_scale == profile("cpu", "resnet50").optim.head_lr_scale  # the original is untouched
    with pytest.raises(ConfigError, match="OptimConfig has no field 'lrr'"):
        override(config, "optim.lrr=1")
    with pytest.raises(ConfigError, match="is not a valid int"):
        override(config, "data.image_size=big")
    with pytest.raises(ConfigError, match="disjoint"):  # the configuration's own checks still run
        override(config, "data.val_subjects=S9")


def test_a_saved_configuration_with_unknown_settings_is_refused_by_name():
    values = profile("tiny").to_dict()
    values["model"]["feature_norm"] = False
    with pytest.raises(ConfigError, match="x.pt: unknown training settings feature_norm in ModelConfig"):
        TrainConfig.from_dict(values, source="x.pt")
    values = profile("tiny").to_dict()
    del values["optim"]["head_lr_scale"]  # written before the setting existed: its default
    assert TrainConfig.from_dict(values).optim.head_lr_scale == 1.0


def test_cpu_cpu_long_and_gpu_are_one_recipe_at_three_sizes():
    """Rules out a `gpu` profile with a recipe of its own (it trained with the paper's optimiser
    settings and learned nothing in 400 steps): the three differ only in what RecipeSize chooses
    and the intervals derived from the length; `paper` keeps none of the recipe."""
    from dataclasses import replace

    from hmrlib.train.config import RECIPE_SIZES

    def without_size(config):
        size = RECIPE_SIZES["cpu"]
        config = replace(
            config,
            data=replace(config.data, image_size=size.image_size, workers=size.workers),
            optim=replace(config.optim, batch_size=size.batch_size, iterations=size.iterations),
            val_every=0,
            checkpoint_every=0,
        )
        return config.to_dict()

    cpu = without_size(profile("cpu"))
    assert without_size(profile("cpu-long")) == cpu and without_size(profile("gpu")) == cpu
    gpu = profile("gpu")
    assert (gpu.data.image_size, gpu.optim.batch_size) == (160, 64)
    assert gpu.model.rotation == "6d" and gpu.loss.rotations == 100.0 and gpu.optim.head_lr_scale == 0.02
    paper = profile("paper")
    assert paper.model.rotation != "6d" and paper.loss.rotations == 0 and paper.optim.schedule == "constant"
