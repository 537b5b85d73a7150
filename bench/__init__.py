"""Loopback benchmark of the voice relay: added delay, lost frames, CPU, memory and capacity.

`make bench` (or `python -m bench`) runs it and writes docs/benchmarks.md; docs/benchmarks.md says
how the numbers are defined. Nothing here is imported by the app.
"""
