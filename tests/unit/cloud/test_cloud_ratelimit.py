"""The registration rate limiter on a fake clock: holds, and keys that go quiet are forgotten."""

from harness.cloud.ratelimit import RateLimiter
from harness.config import RateLimit


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_holds_a_key_over_the_limit_then_releases_it():
    clock = _Clock()
    limiter = RateLimiter(RateLimit(count=2, window=10, hold=60), clock)
    assert [limiter.count("dev") for _ in range(3)] == [False, False, True]
    assert limiter.held_for("dev") == 60
    clock.now += 61
    assert limiter.held_for("dev") == 0 and limiter.count("dev") is False


def test_rate_limiter_forgets_keys_that_went_quiet():
    clock = _Clock()
    limiter = RateLimiter(RateLimit(count=1, window=10, hold=30), clock)
    for n in range(1000):
        limiter.count(f"dev-{n}")
    limiter.count("noisy")
    assert limiter.count("noisy") is True  # held for 30 s
    assert limiter.tracked_keys() == 1001
    clock.now += 11
    limiter.count("fresh")
    assert limiter.tracked_keys() == 2  # "fresh" counting, "noisy" still held
    assert limiter.held_for("noisy") > 0
    clock.now += 30
    limiter.count("fresh")
    assert limiter.tracked_keys() == 1
