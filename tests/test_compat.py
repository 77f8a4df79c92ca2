from hmrlib.compat import import_torchvision


def test_torchvision_imports_and_builds_backbones():
    torchvision = import_torchvision()
    model = torchvision.models.resnext50_32x4d(weights=None)
    assert model.fc.in_features == 2048
    assert import_torchvision() is torchvision  # a second call is harmless
