"""alanine_diffusion.py's argument checks: --frames below 2 leaves the
training set (the first 80 % of the frames) or the test set empty, so the
script refuses it by name. Before, --frames 1 trained on no frames, divided
by the NaN std of an empty tensor and stopped in pair_energy_loss with
'pred has a non-finite value (nan)'."""
import os
import sys

import pytest

MOLECULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                         "molecules")
sys.path.insert(0, MOLECULES)
try:
    import alanine_diffusion
finally:
    sys.path.remove(MOLECULES)


@pytest.mark.parametrize("frames", ["0", "1"])
def test_too_few_frames_refused_by_name(frames, capsys):
    with pytest.raises(SystemExit):
        alanine_diffusion.parse_arguments(["--quick", "--frames", frames])
    assert "--frames must be at least" in capsys.readouterr().err


@pytest.mark.parametrize("frames", [2, 3, 600])
def test_enough_frames_accepted(frames):
    args = alanine_diffusion.parse_arguments(["--quick", "--frames", str(frames)])
    split = int(0.8 * args.frames)  # as main() splits them
    assert split >= 1 and args.frames - split >= 1
