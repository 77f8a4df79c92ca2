"""Training logs: CSV files (one row per logged step) and TensorBoard, rank 0 only."""

import csv
from pathlib import Path


class CsvLog:
    """Appends rows; on resume, drops rows past the checkpoint's step so a re-run step is logged once."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path = Path(path)
        self.columns = None
        if self.path.exists() and resume_step is not None:
            with self.path.open() as f:
                rows = list(csv.DictReader(f))
            kept = [r for r in rows if int(r["step"]) <= resume_step]
            if rows:
                self.columns = list(rows[0].keys())
                with self.path.open("w", newline="") as f:
                    writer = csv.DictWriter(f, self.columns)
                    writer.writeheader()
                    writer.writerows(kept)
        elif self.path.exists():
            self.path.unlink()

    def write(self, row: dict):
        new = self.columns is None
        if new:
            self.columns = list(row)
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, self.columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


class TrainLogger:
    def __init__(self, run_dir: Path, resume_step: int | None, enabled: bool):
        self.enabled = enabled
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.train = CsvLog(run_dir / "train_log.csv", resume_step)
        self.val = CsvLog(run_dir / "val_log.csv", resume_step)
        self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step)

    def log_train(self, step: int, values: dict):
        if self.enabled:
            self.train.write({"step": step, **values})
            for key, value in values.items():
                self.tensorboard.add_scalar(f"train/{key}", value, step)

    def log_val(self, step: int, values: dict):
        if self.enabled:
            self.val.write({"step": step, **values})
            for key, value in values.items():
                self.tensorboard.add_scalar(f"val/{key}", value, step)

    def close(self):
        if self.enabled:
            self.tensorboard.close()
