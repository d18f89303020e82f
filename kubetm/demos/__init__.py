"""Deployment strategy demos: traffic prober, timeline summary, live view and plot.

- prober.py   `Prober`: open-loop GET traffic in background threads -> `Sample`s
- timeline.py `summarize()`: samples -> summary dict (downtime, overlap, ...); `render_table()`
- live.py     `LiveView`: rich live panel fed with samples while a rollout runs
- plot.py     `plot_runs()`: version served against time, one subplot per run (matplotlib)

Keep this module free of imports: `kubetm --help` must stay fast.
"""
