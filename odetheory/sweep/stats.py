"""Statistics of a sweep run: tasks, compute, start-up, and the workers' idle time between tasks."""
import math
from dataclasses import dataclass, field


@dataclass
class SweepStats:
    """What a run_points call did and how well the workers were used.

    compute: Σ task compute time (s); dispatch: wall time from the first task sent to the
    last result (s); startup: time to start the local cluster and load the kernels on the
    workers (s); gaps: per worker, the idle time between the end of one task and the
    start of its next (the per-task scheduling overhead while work is queued)."""

    n_points: int = 0
    n_skipped: int = 0
    n_run: int = 0
    n_unfinished: int = 0
    n_tasks: int = 0
    slots: int = 1
    startup: float = 0.0
    dispatch: float = 0.0
    compute: float = 0.0
    gap_total: float = 0.0
    n_gaps: int = 0
    status: dict = field(default_factory=dict)
    _spans: dict = field(default_factory=dict, repr=False)

    @property
    def overhead_per_task(self):
        """Mean idle time of a worker between two of its tasks (s)."""
        return self.gap_total / self.n_gaps if self.n_gaps else math.nan

    @property
    def overhead_fraction(self):
        """Scheduling overhead as a fraction of compute: Σ gaps / Σ task compute."""
        return self.gap_total / self.compute if self.compute > 0 else math.nan

    @property
    def utilisation(self):
        """Σ task compute / (worker threads × dispatch wall time): 1 is perfect."""
        return self.compute / (self.slots * self.dispatch) if self.dispatch > 0 else math.nan

    def _task(self, start, stop, worker):
        self.n_tasks += 1
        self.compute += stop - start
        self._spans.setdefault(worker, []).append((start, stop))

    def _finish(self):
        for spans in self._spans.values():
            spans.sort()
            for (_, a), (b, _) in zip(spans, spans[1:]):
                self.gap_total += max(0.0, b - a)
                self.n_gaps += 1
        self._spans = {}

    def summary(self):
        parts = [f"{self.n_points} points: {self.n_skipped} already done, {self.n_run} run"]
        if self.status:
            parts.append(", ".join(f"{n} {s}" for s, n in sorted(self.status.items())))
        if self.n_unfinished:
            parts.append(f"{self.n_unfinished} unfinished")
        lines = ["sweep: " + "; ".join(parts)]
        if self.n_tasks:
            lines.append(f"  {self.n_tasks} tasks on {self.slots} worker thread(s): compute {self.compute:.3g} s, "
                         f"wall {self.dispatch:.3g} s (+ {self.startup:.3g} s start-up), "
                         f"utilisation {100 * self.utilisation:.0f} %")
            if self.n_gaps:
                lines.append(f"  scheduling overhead {1e3 * self.overhead_per_task:.3g} ms per task "
                             f"= {100 * self.overhead_fraction:.2g} % of compute")
        return "\n".join(lines)


class Rows(list):
    """The rows returned by run_points (a list), with ``.stats`` (SweepStats)."""

    stats: SweepStats
