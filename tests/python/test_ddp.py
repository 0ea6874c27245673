"""Data-parallel training: two processes (gloo, a FileStore on local disk)
train one step of a tiny model under DistributedDataParallel with the pair
energy loss and an oracle-based loss (a Lennard-Jones oracle handed to the
workers pickled), each on half the batch. DDP's averaged gradients must equal
the gradients of the whole batch computed here in one process, and the
parameters after the SGD step must be identical on both ranks and equal to
the single-process step.
"""
import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import energyloss

WORLD_SIZE = 2

# The worker, also imported here for the model and the loss (the same code on
# both sides; what differs is one process on the whole batch against DDP on
# two halves).
WORKER = textwrap.dedent('''
    import sys

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    import energyloss


    class Model(torch.nn.Module):
        """pred = x + MLP(x - centroid), per atom, float64."""

        def __init__(self):
            super().__init__()
            self.mlp = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                                           torch.nn.Linear(8, 3)).double()

        def forward(self, x):
            return x + 0.1 * self.mlp(x - x.mean(dim=1, keepdim=True))


    def loss_function(pred, ref, mask, oracle):
        """Means over the systems given, so the mean of equal halves' losses is
        the whole batch's loss."""
        pair = energyloss.pair_energy_loss(pred, ref, mask, reduction="mean")
        sparse = energyloss.pair_energy_loss(pred, ref, coeff="inv", edges="sparse",
                                             reduction="mean")
        energy = energyloss.true_energy_loss(oracle, pred, ref, 2.0, reduction="mean")
        return pair + 0.5 * sparse + 0.01 * energy + energyloss.kabsch_mse(pred, ref, mask)


    def main(rank, world_size, store, data, out):
        dist.init_process_group("gloo", init_method="file://" + store, rank=rank,
                                world_size=world_size)
        state, x, ref, mask, oracle, lr = torch.load(data)
        model = Model()
        model.load_state_dict(state)
        ddp = DistributedDataParallel(model)
        share = x.shape[0] // world_size
        mine = slice(rank * share, (rank + 1) * share)
        loss = loss_function(ddp(x[mine]), ref[mine], mask[mine], oracle)
        loss.backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        torch.optim.SGD(model.parameters(), lr=lr).step()
        params = {name: p.detach().clone() for name, p in model.named_parameters()}
        torch.save({"grads": grads, "params": params, "loss": loss.detach(),
                    "oracle": repr(oracle)}, out)
        dist.destroy_process_group()


    if __name__ == "__main__":
        main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
''')


def load_worker(path):
    spec = importlib.util.spec_from_file_location("ddp_worker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def batch(systems=6, atoms=6):
    """Jittered LJ-spaced clusters, their noisy copies, and a padding mask."""
    g = torch.Generator().manual_seed(16)
    grid = torch.stack(torch.meshgrid(*[torch.arange(2)] * 3, indexing="ij"), -1)
    sites = 1.12 * grid.reshape(-1, 3)[:atoms].to(torch.float64)
    ref = sites + 0.03 * torch.randn(systems, atoms, 3, generator=g, dtype=torch.float64)
    x = ref + 0.05 * torch.randn(systems, atoms, 3, generator=g, dtype=torch.float64)
    mask = torch.ones(systems, atoms, dtype=torch.bool)
    mask[1, atoms - 1] = False  # padding in one system of each half (of 6 systems)
    mask[systems - 2, atoms - 2:] = False
    return x, ref, mask


def test_oracle_classes_pickle_as_their_constructor_arguments(tmp_path):
    import pickle

    oracles = [energyloss.LennardJonesOracle(5, epsilon=2.0, sigma=0.9, cutoff=3.0),
               energyloss.MorseOracle(5, D=1.5, a=2.0, r0=1.1),
               energyloss.HarmonicBondOracle([[0, 1], [1, 2]], [100.0, 50.0], [1.0, 1.2], 5)]
    x = batch(2, 5)[1]
    for oracle in oracles:
        copy = pickle.loads(pickle.dumps(oracle))
        assert type(copy) is type(oracle) and copy.handle is not oracle.handle
        assert repr(copy) == repr(oracle)
        for got, expected in zip(copy.evaluate(x), oracle.evaluate(x)):
            torch.testing.assert_close(got, expected, rtol=0, atol=0)
    with pytest.raises(TypeError, match="bare handle cannot be pickled"):
        pickle.dumps(energyloss.Oracle(oracles[0].handle))


def test_ddp_gradients_equal_single_process_full_batch(tmp_path):
    worker_path = tmp_path / "ddp_worker.py"
    worker_path.write_text(WORKER)
    worker = load_worker(worker_path)
    torch.manual_seed(3)
    model = worker.Model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x, ref, mask = batch()
    oracle = energyloss.LennardJonesOracle(x.shape[1])
    lr = 0.1
    data = tmp_path / "data.pt"
    torch.save((state, x, ref, mask, oracle, lr), str(data))  # the oracle goes pickled

    store = tmp_path / "store"
    outputs = [tmp_path / f"rank{rank}.pt" for rank in range(WORLD_SIZE)]
    environment = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    workers = [subprocess.Popen([sys.executable, str(worker_path), str(rank), str(WORLD_SIZE),
                                 str(store), str(data), str(outputs[rank])],
                                env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=str(tmp_path))
               for rank in range(WORLD_SIZE)]
    for rank, process in enumerate(workers):
        try:
            _, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            for p in workers:
                p.kill()
            raise
        assert process.returncode == 0, f"rank {rank}: {stderr}"
    results = [torch.load(str(path)) for path in outputs]

    # One process, the whole batch, computed here.
    loss = worker.loss_function(model(x), ref, mask, oracle)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    torch.optim.SGD(model.parameters(), lr=lr).step()
    params = {name: p.detach().clone() for name, p in model.named_parameters()}

    # The mean of the two halves' losses is the whole batch's loss.
    torch.testing.assert_close((results[0]["loss"] + results[1]["loss"]) / 2, loss.detach(),
                               rtol=1e-12, atol=0)
    for result in results:
        assert result["oracle"] == repr(oracle)
        assert result["grads"].keys() == grads.keys()
        for name, expected in grads.items():
            assert expected.abs().max() > 0, name  # a gradient that could differ
            torch.testing.assert_close(result["grads"][name], expected, rtol=1e-9, atol=1e-12,
                                       msg=lambda m, name=name: f"{name}: {m}")
            torch.testing.assert_close(result["params"][name], params[name], rtol=1e-12,
                                       atol=1e-14)
    # DDP gives every rank the same averaged gradient, so the same step.
    for name in grads:
        assert torch.equal(results[0]["grads"][name], results[1]["grads"][name]), name
        assert torch.equal(results[0]["params"][name], results[1]["params"][name]), name
    # The halves' own gradients differ from the average (else the test proves nothing).
    half_model = worker.Model()
    half_model.load_state_dict(state)
    worker.loss_function(half_model(x[:3]), ref[:3], mask[:3], oracle).backward()
    first = next(iter(grads))
    assert not torch.allclose(dict(half_model.named_parameters())[first].grad, grads[first],
                              rtol=1e-3, atol=0)
