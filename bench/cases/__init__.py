"""Benchmark cases; each module's ``run(context)`` returns a :class:`bench.results.Section`."""
