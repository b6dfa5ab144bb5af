"""What the benchmarks and the tests share: the kill-and-resume harness, hostile folders, ranked sets.

The benchmarks print numbers from these; the tests assert on them. Both import from here (the tests
as ``benchmarks.harness.*``, the benchmark scripts as ``harness.*`` from their own folder).
"""
