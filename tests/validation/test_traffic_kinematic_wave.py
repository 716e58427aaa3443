"""Kinematic-wave theory on a corridor with a capacity drop (Newell 1993; Yperman 2005).

Forty 100 m links (v_f = 20 m/s, k_j = 0.2 veh/m, q = 0.8 veh/s, so w = 5 m/s) lead to a
bottleneck link of capacity 0.4 veh/s. Demand is 0.6 veh/s for 1500 s, then 0.2 veh/s.
Theory: the queue's tail moves upstream at (0.4 - 0.6) / (0.12 - 0.03) = -2.22 m/s while
demand is high and downstream at (0.4 - 0.2) / (0.12 - 0.01) = +1.82 m/s after; the
bottleneck discharges at 0.4 veh/s throughout.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic import TrafficModel, corridor_network

N_UP, LENGTH, VF, KJ, Q, QB = 40, 100.0, 20.0, 0.2, 0.8, 0.4
HIGH, LOW, T_DROP, T_STOP = 0.6, 0.2, 1500.0, 3000.0


def _k_congested() -> float:
    w = Q / (KJ - Q / VF)
    return KJ - QB / w


@pytest.fixture(scope="module")
def run():
    cap = np.full(N_UP + 2, Q)
    cap[N_UP] = QB
    net = corridor_network(N_UP + 2, length=LENGTH, free_speed=VF, jam_density=KJ, capacity=cap)
    model = TrafficModel(net, dt=1.0)
    dep = np.concatenate([np.arange(0.0, T_DROP, 1 / HIGH), np.arange(T_DROP, T_STOP, 1 / LOW)])
    model.add_vehicles(np.zeros(dep.size, int), np.full(dep.size, N_UP + 2), dep)
    queued, exits, counts = [], [], []
    for _ in range(3600):
        model.step(1.0)
        counts.append(model.check_conservation())
        queued.append(model.queue_length()[:N_UP] > 0)
        exits.append(model.n_out[N_UP])
    return model, np.array(queued), np.array(exits), counts, dep.size


def test_no_vehicle_created_or_lost_at_any_step(run):
    """Every step the vehicles counted out of their origin queue equal those counted out of
    the network plus those on links (link entry and exit counters), and the vehicles added
    equal those departed plus those still queued (check_conservation raises otherwise);
    all finish, and the arrivals counted by the kernel equal the exits of the last link."""
    model, _, _, counts, n = run
    assert all(c["added"] == n and c["stranded"] == 0 for c in counts)
    departed = np.array([c["departed"] for c in counts])
    assert np.all(np.diff(departed) >= 0)
    assert departed[0] < n
    assert counts[-1]["departed"] == counts[-1]["arrived"] == n
    assert model.n_out[-1] == n


def test_bottleneck_discharges_at_its_capacity(run):
    """While a queue stands upstream, the bottleneck passes 0.4 veh/s (within 1 %)."""
    _, queued, exits, _, _ = run
    busy = np.flatnonzero(queued[:, N_UP - 1])
    t0, t1 = busy[0] + 50, busy[-1] - 50
    rate = (exits[t1] - exits[t0]) / (t1 - t0)
    assert rate == pytest.approx(QB, rel=0.01)


def _fit(times, x):
    return np.polyfit(times, x, 1)[0]


def test_queue_grows_at_the_shockwave_speed(run):
    """The tail reaches each link's end at times whose slope is the shock speed (5 %)."""
    _, queued, _, _, _ = run
    first = np.array([np.argmax(queued[:, j]) if queued[:, j].any() else -1 for j in range(N_UP)])
    ends = (np.arange(N_UP) + 1) * LENGTH
    theory = (QB - HIGH) / (_k_congested() - HIGH / VF)
    grow = (first > 0) & (first < T_DROP)
    assert grow.sum() >= 20
    assert _fit(first[grow], ends[grow]) == pytest.approx(theory, rel=0.05)


def test_queue_dissolves_at_the_recovery_wave_speed(run):
    """After demand drops, the tail retreats downstream at the predicted speed (5 %)."""
    _, queued, _, _, _ = run
    last = np.array(
        [
            len(queued) - 1 - np.argmax(queued[::-1, j]) if queued[:, j].any() else -1
            for j in range(N_UP)
        ]
    )
    ends = (np.arange(N_UP) + 1) * LENGTH
    theory = (QB - LOW) / (_k_congested() - LOW / VF)
    # where the low-demand front (20 m/s from the origin at T_DROP) has met the tail
    gone = (last > 0) & (ends > 1300.0)
    assert gone.sum() >= 20
    assert _fit(last[gone], ends[gone]) == pytest.approx(theory, rel=0.05)
