"""`manage.py realtime_simulator`: serve the realtime simulator on its own until Ctrl-C."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime.simulator import SimulatorConfig, example_urls, run_simulator


class Command(BaseCommand):
    """Run the OpenAI / Azure realtime stand-in for offline development."""

    help = "Serve the realtime simulator (OpenAI GA, Azure GA and preview, Azure Voice Live) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        """Listening address, the accepted key and the pace of generated audio."""
        parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 picks one)")
        parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        parser.add_argument(
            "--api-key", default=None, help="the only key accepted (default: any non-empty key)"
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="seed for ids, to repeat a run (default: random)"
        )
        parser.add_argument(
            "--tone-voice",
            action="store_true",
            help="answer with generated tones even when espeak-ng is installed (cheaper, reproducible)",
        )
        parser.add_argument(
            "--realtime-factor",
            type=float,
            default=4.0,
            help="how much faster than real time audio is generated (default 4; 0 = unpaced)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Serve until interrupted."""
        config = SimulatorConfig(
            api_key=options["api_key"],
            seed=secrets.randbits(64) if options["seed"] is None else options["seed"],
            realtime_factor=options["realtime_factor"],
            use_espeak=not options["tone_voice"],
        )
        try:
            asyncio.run(self.serve(config, options["host"], options["port"]))
        except KeyboardInterrupt:
            self.stdout.write("Realtime simulator stopped.")

    async def serve(
        self, config: SimulatorConfig, host: str, port: int, stop: asyncio.Event | None = None
    ) -> None:
        """Print the route URLs, then serve until `stop` is set (or forever)."""
        async with run_simulator(config=config, host=host, port=port) as simulator:
            self.stdout.write(self.style.SUCCESS(f"Realtime simulator listening on {simulator.url}"))
            for name, url in example_urls(simulator.url).items():
                self.stdout.write(f"  {name + ':':<22} {url}")
            self.stdout.write(
                "Any non-empty key is accepted." if config.api_key is None else "One key is accepted."
            )
            self.stdout.write("Press Ctrl-C to stop.")
            await (stop or asyncio.Event()).wait()
