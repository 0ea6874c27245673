"""energyloss: physics-aware losses for point sets and spins, as PyTorch ops.

Every function takes and returns ``torch.Tensor`` and supports autograd. The
compiled ops are loaded from ``libenergyloss_torch.so`` on import.
"""
from ._library import ops  # noqa: F401  (loads the compiled library)
from .pair import *  # noqa: F401,F403
from .baselines import *  # noqa: F401,F403
from .spins import *  # noqa: F401,F403
from .diffusion import *  # noqa: F401,F403
from .graphs import *  # noqa: F401,F403
from .noise import *  # noqa: F401,F403

try:  # absent when built with -DENERGYLOSS_BUILD_ORACLES=OFF
    from .oracles import *  # noqa: F401,F403
    from .force_field_loss import *  # noqa: F401,F403
except ImportError:
    pass

__version__ = "0.1.0"
