"""Parameters of the crowd model: walking (Weidmann), link capacities and flood rules."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FloodRules:
    """How floodwater on a link slows, endangers and stops walkers.

    The hazard rating is ``HR = d (v + 0.5) + DF`` with depth ``d`` (m) and velocity ``v``
    (m/s) (Defra/EA R&D report FD2321/TR2, 2006). Its bands: below 0.75 "low" (caution),
    0.75-1.25 "danger for some" (children, elderly, infirm), 1.25-2.0 "danger for most"
    (the general public), above 2.0 "danger for all" (emergency services included).

    Attributes
    ----------
    hazard_rating
        People on a link with at least this rating are "in hazardous water" (default 0.75,
        the lower edge of "danger for some").
    closure_rating
        Links with at least this rating are impassable: no one enters them and routes avoid
        them (default 1.25, "danger for most"). People already on a closing link keep
        wading out of it.
    debris_factor
        ``DF`` added to the rating where the depth exceeds ``debris_depth`` (FD2321 uses
        0.5 for pasture, 1.0 for urban areas with debris); default 0 (the plain
        ``d (v + 0.5)`` of the design notes).
    debris_depth
        Depth above which ``debris_factor`` applies (m; FD2321: 0.25 m).
    wading_depth
        Depth at which walking speed has fallen to ``wading_factor`` of its dry value (m).
        Speed falls linearly with depth from 1 at 0 m to ``wading_factor`` at this depth,
        then stays there. This slowdown is a modelling assumption, not a published curve.
    wading_factor
        Speed multiplier at and beyond ``wading_depth`` (0-1).
    """

    hazard_rating: float = 0.75
    closure_rating: float = 1.25
    debris_factor: float = 0.0
    debris_depth: float = 0.25
    wading_depth: float = 0.5
    wading_factor: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.hazard_rating <= self.closure_rating:
            raise ValueError("need 0 < hazard_rating <= closure_rating")
        if not 0 < self.wading_factor <= 1 or self.wading_depth <= 0:
            raise ValueError("need 0 < wading_factor <= 1 and wading_depth > 0")


@dataclass(frozen=True)
class CrowdParams:
    """Walking and capacity parameters.

    Attributes
    ----------
    v0
        Mean free walking speed (m/s; Weidmann 1993: 1.34).
    v0_sd
        Standard deviation of the per-person free speeds (m/s; Weidmann: 0.26); draws are
        clipped to ``[v0_min, v0_max]``.
    v0_min, v0_max
        Bounds of the free speeds (m/s).
    rho_max
        Jam density of Weidmann's diagram, where speed reaches 0 (persons/m2; 5.4).
    gamma
        Shape constant of Weidmann's diagram (persons/m2; 1.913).
    specific_capacity
        Most people per second per metre of width that may leave a link or enter the next
        (persons/(m s)). The default 1.7 is in the middle of laboratory bottleneck
        experiments (about 1.6-2.0 for doors of 0.8-2.5 m; e.g. Seyfried et al. 2009,
        Transportation Science 43) and above the SFPE design value (1.3).
    storage_density
        A link takes no more people than this density times its area (persons/m2).
    min_speed
        Floor of the density-dependent speed (m/s) so that a link at storage density
        still drains; only matters above about 5 persons/m2.
    min_cell_length
        Links shorter than this count as this long for density and storage (m): one
        person on a 20 cm segment is not a crush.
    crush_density
        Density above which a link is flagged as a crush risk (persons/m2; 4).
    reroute_interval
        Routes (shortest walking times on current link speeds and queues) are recomputed
        at least this often (s); also whenever a link opens or closes.
    record_interval
        Per-link densities are recorded this often (s).
    max_hops
        Most links a walker may finish within one step (short links in a long step).
    flood
        Flood rules (:class:`FloodRules`).
    """

    v0: float = 1.34
    v0_sd: float = 0.26
    v0_min: float = 0.3
    v0_max: float = 2.5
    rho_max: float = 5.4
    gamma: float = 1.913
    specific_capacity: float = 1.7
    storage_density: float = 5.4
    min_speed: float = 0.05
    min_cell_length: float = 3.0
    crush_density: float = 4.0
    reroute_interval: float = 60.0
    record_interval: float = 60.0
    max_hops: int = 6
    flood: FloodRules = field(default_factory=FloodRules)

    def __post_init__(self) -> None:
        checks = {
            "v0": self.v0 > 0,
            "v0_sd": self.v0_sd >= 0,
            "v0_min/v0_max": 0 < self.v0_min <= self.v0 <= self.v0_max,
            "rho_max": self.rho_max > 0,
            "gamma": self.gamma > 0,
            "specific_capacity": self.specific_capacity > 0,
            "storage_density": self.storage_density > 0,
            "min_speed": self.min_speed > 0,
            "min_cell_length": self.min_cell_length > 0,
            "reroute_interval": self.reroute_interval > 0,
            "record_interval": self.record_interval > 0,
            "max_hops": self.max_hops >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid crowd parameters: {', '.join(bad)}")
