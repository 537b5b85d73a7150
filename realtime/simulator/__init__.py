"""A local stand-in for OpenAI Realtime GA, Azure OpenAI (GA and preview) and Azure Voice Live."""

from .config import SimulatorConfig
from .routes import example_urls
from .server import RunningSimulator, run_simulator

__all__ = ["RunningSimulator", "SimulatorConfig", "example_urls", "run_simulator"]
