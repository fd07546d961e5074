"""Mesa agents of the rare-earth model.

Agents use :mod:`abm`'s vocabulary (goods, regions, market order books, policy types) and
read the shared state their model exposes (``model.origin_price``, ``model.params``,
``model.policy``, ``model.catalog``); they never import the model class.
"""

from agents.base import Firm, Stock
from agents.defense import DefenseContractor
from agents.government import Government
from agents.magnet_maker import MagnetMaker
from agents.miner import Miner
from agents.oem import OEM, NonMagnetUser
from agents.recycler import Recycler
from agents.refiner import Refiner
from agents.stockholder import StateReserve, Stockholder

__all__ = [
    "OEM",
    "DefenseContractor",
    "Firm",
    "Government",
    "MagnetMaker",
    "Miner",
    "NonMagnetUser",
    "Recycler",
    "Refiner",
    "StateReserve",
    "Stock",
    "Stockholder",
]
