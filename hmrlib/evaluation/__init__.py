"""Evaluation: predicting on a dataset, the course metric and the other errors, the submission file."""
