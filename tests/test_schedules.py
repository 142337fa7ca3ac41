"""Learning-rate schedules, on their own (sk_deepnet.schedules)."""

import math

import numpy as np
import pytest

from sk_deepnet.schedules import SCHEDULES, LRSchedule


def test_constant_never_changes():
    schedule = LRSchedule("constant", 0.1)
    assert [schedule.rate_for(epoch, 1000 * epoch) for epoch in range(5)] == [0.1] * 5
    assert schedule.on_plateau() is True  # a plateau stops training
    assert schedule.stalled_message() is None


def test_invscaling_follows_the_samples_seen():
    schedule = LRSchedule("invscaling", 0.5, power_t=0.5)
    assert schedule.rate_for(0, 0) == 0.5
    assert schedule.rate_for(7, 99) == pytest.approx(0.5 / math.sqrt(100))
    assert LRSchedule("invscaling", 0.5, power_t=1e6).at_step(10) == 0.0  # underflow


def test_cosine_and_step_follow_the_epoch():
    cosine = LRSchedule("cosine", 1.0, max_iter=10)
    rates = [cosine.rate_for(epoch, 0) for epoch in range(12)]
    assert rates[0] == 1.0 and rates[5] == pytest.approx(0.5) and rates[10] == rates[11] == 0.0
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert "cosine" in cosine.stalled_message()
    step = LRSchedule("step", 1.0, step_size=3, gamma=0.5)
    assert [step.rate_for(epoch, 0) for epoch in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert step.stalled_message() is None


def test_adaptive_divides_by_five_on_plateaus_then_stops():
    schedule = LRSchedule("adaptive", 1e-4)
    assert schedule.on_plateau() is False and schedule.rate == pytest.approx(2e-5)
    assert schedule.rate_for(3, 100) == pytest.approx(2e-5)  # kept between epochs
    while not schedule.on_plateau():
        pass
    assert schedule.rate <= 1e-6


@pytest.mark.parametrize("name", SCHEDULES)
def test_rate_for_is_at_epoch_then_at_step(name):
    a, b = LRSchedule(name, 0.3, max_iter=20), LRSchedule(name, 0.3, max_iter=20)
    for epoch, seen in [(0, 0), (3, 120), (25, 4000)]:
        b.at_epoch(epoch)
        assert a.rate_for(epoch, seen) == b.at_step(seen)


def test_unknown_name_would_keep_the_initial_rate():
    # The loop never tests a name: a rule missing from the tables is constant.
    schedule = LRSchedule("constant", 0.2)
    schedule.name = "unlisted"
    assert schedule.rate_for(10, 10_000) == 0.2


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(name="cosin"), "name"),  # a typo silently gave a constant rate
        (dict(initial_rate=-1.0), "initial_rate"),
        (dict(initial_rate="0.1"), "initial_rate"),  # rates were the string itself
        (dict(initial_rate=float("nan")), "initial_rate"),
        (dict(name="cosine", max_iter=0), "max_iter"),  # ZeroDivisionError at epoch 0
        (dict(name="step", step_size=0), "step_size"),  # ZeroDivisionError at epoch 0
        (dict(name="step", step_size=2.5), "step_size"),
        (dict(name="step", step_size=True), "step_size"),
        (dict(name="invscaling", power_t=-0.5), "power_t"),
        (dict(name="step", gamma=0.0), "gamma"),
    ],
)
def test_invalid_arguments_are_refused_at_construction(kwargs, argument):
    kwargs = {"name": "constant", "initial_rate": 0.1, **kwargs}
    with pytest.raises(ValueError, match=f"The '{argument}' parameter of LRSchedule"):
        LRSchedule(**kwargs)


def test_non_numeric_rate_is_also_a_type_error():
    with pytest.raises(TypeError, match="initial_rate"):
        LRSchedule("constant", "0.1")


def test_boundary_values_are_accepted():
    # A 0 rate (an optimizer's learning_rate may be 0) and numpy scalars.
    assert LRSchedule("constant", 0.0).rate_for(3, 30) == 0.0
    schedule = LRSchedule("step", np.float32(1.0), max_iter=np.int64(1), step_size=np.int64(1),
                          gamma=1.0, power_t=0.0)
    assert schedule.rate_for(2, 0) == 1.0


@pytest.mark.parametrize(
    "name, call, error",
    [
        ("invscaling", lambda s: s.at_step(-5), ValueError),  # a complex rate
        ("step", lambda s: s.at_epoch(-1), ValueError),  # 10 times the initial rate
        ("cosine", lambda s: s.at_epoch(-5), ValueError),  # the rate of epoch 5
        ("step", lambda s: s.at_epoch(3.5), TypeError),
        ("cosine", lambda s: s.rate_for("a", 0), TypeError),  # failed inside min()
        ("invscaling", lambda s: s.rate_for(0, True), TypeError),
    ],
)
def test_counts_must_be_non_negative_ints(name, call, error):
    schedule = LRSchedule(name, 0.1, max_iter=10, step_size=2)
    with pytest.raises(error, match=r"(epoch|samples_seen) must be"):
        call(schedule)
    assert schedule.rate == 0.1
