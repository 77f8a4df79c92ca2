"""Predicting on people's own files: finding the people (detect), the front that takes files,
folders and videos (inputs), the batched core (predict), fitting each body to its keypoints
after the network (fit_people, over :mod:`hmrlib.fitting`), videos and their smoothing, and the
agreement between a mesh and the detector's landmarks."""
