from hmrlib.train import PROFILES, TrainConfig, profile


def test_config_round_trips_through_a_dict():
    for name in PROFILES:
        config = profile(name, "resnet50", seed=3)
        assert TrainConfig.from_dict(config.to_dict()) == config


def test_course_data_validates_on_a_held_out_training_subject(tmp_path, tiny_root):
    (tmp_path / "H36M_data_st").mkdir()  # a course-layout root without SynthH36M's manifest
    course = profile("cpu", data_root=tmp_path)
    assert course.data.val_subjects == ("S8",) and "S8" not in course.data.train_subjects
    assert profile("cpu", data_root=tiny_root).data.val_subjects == ("S9", "S11")  # synthetic: S9/S11 have labels
