"""twin: a city digital twin for emergencies.

The engine: city packs built from OpenStreetMap and terrain, scenario files, and (in later
parts) flood, traffic, crowd and response models coupled on one clock.
"""

__version__ = "0.1.0"
