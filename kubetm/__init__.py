"""kubetm: one command per lab of the course "대세는 쿠버네티스" on a local kind cluster.

Keep this module free of imports: `kubetm --help` must stay fast.
"""

__version__ = "0.1.0"
