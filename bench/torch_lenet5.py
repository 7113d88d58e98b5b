#!/usr/bin/python3
"""LeNet-5-Caffe in PyTorch, built like bayesdrop's "lenet5" model (models/lenet5.hpp, models/zoo.hpp), to time one
training epoch beside bayesdrop's (scripts/compare-torch.sh; bench_epoch's LeNet5Epoch). Written from the methods'
descriptions and bayesdrop's headers, which cite them.

Network: conv 5x5, 20 channels -> [gate] -> max-pool 2 -> ReLU -> conv 5x5, 50 channels -> [gate] -> max-pool 2
-> ReLU -> [gate on 800 inputs] -> dense 800-500 -> ReLU -> [gate on 500 inputs] -> dense 500-10.
Dropout types:
  none      no gates
  sparsevd  every conv and dense layer with sparse variational dropout (Molchanov et al. 2017): weights theta and
            log sigma^2 (init -10), local reparameterisation (mean conv/matmul of x with theta, variance of x^2 with
            alpha theta^2, log alpha clipped to [-8, 8]); KL approximation k1 sigmoid(k2 + k3 la) - 0.5 log1p(e^-la)
  bbd       beta-Bernoulli gates (Lee et al. 2018): Kumaraswamy pi per unit and batch, relaxed Bernoulli (tau 0.1)
            per example and unit; a channel's gate scales its whole feature map; KL to Beta(1e-4, 1)
  sbp       structured Bayesian pruning gates (Neklyudov et al. 2017): log theta ~ truncated N(mu, sigma^2) on
            [-20, 0] per unit and batch, by the inverse cdf; exact KL to the log-uniform prior
Loss: mean cross-entropy + KL / 60000 (KL weight 1, as bench_epoch times it). Optimiser (bayesdrop's recipes,
training/recipe.hpp): none, bbd, sbp: Adam, weights and biases at 1e-3 with L2 1e-4, gate parameters at 1e-2;
sparsevd: one Adam at 1e-3, no L2.

Prints one JSON line with epoch_s: the time of 600 batches of 100 after 20 warm-up batches, on MNIST if --data
names its folder, else on random images. Runs on /usr/bin/python3 with Debian's python3-torch; re-executes itself
once with OpenBLAS on one thread of its own (torch runs --threads) and glibc malloc keeping freed memory, PyTorch's
best CPU set-up here (--as-is keeps the environment).
    /usr/bin/python3 bench/torch_lenet5.py --dropout sbp --threads 2 --data /path/to/mnist
"""
import argparse, gzip, json, math, os, struct, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

N_TRAIN, BATCH = 60000, 100


def read_images_labels(folder):
    """MNIST's training images (N x 1 x 28 x 28 in [0, 1]) and labels from its IDX files (.gz or plain)."""
    def idx(name):
        for path in (os.path.join(folder, name + '.gz'), os.path.join(folder, name)):
            if os.path.exists(path):
                raw = (gzip.open if path.endswith('.gz') else open)(path, 'rb').read()
                ndim = raw[3]
                dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
                return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)
        raise FileNotFoundError(os.path.join(folder, name))
    images = idx('train-images-idx3-ubyte').float().div_(255).unsqueeze(1)
    return images, idx('train-labels-idx1-ubyte').long()


# --- gates: one factor per unit (dense input) or channel (conv output, broadcast over its map) -----------------------

def per_unit(z, x):
    """z (units) or (B, units) shaped to multiply x (B, units) or (B, C, H, W)."""
    return z.view(*z.shape, 1, 1) if x.dim() == 4 else z


class BetaBernoulliGate(nn.Module):
    ALPHA, TAU, CLAMP = 1e-4, 0.1, 1e-6

    def __init__(self, units):
        super().__init__()
        self.raw_a = nn.Parameter(torch.full((units,), -1.0))  # a = softplus(-1)
        self.raw_b = nn.Parameter(torch.full((units,), 0.5413))  # b = softplus(0.5413) ~ 1

    def forward(self, x):
        a, b = F.softplus(self.raw_a), F.softplus(self.raw_b)
        u = torch.rand_like(a).clamp(self.CLAMP, 1 - self.CLAMP)
        pi = (1 - u.pow(1 / b)).pow(1 / a).clamp(self.CLAMP, 1 - self.CLAMP)  # Kumaraswamy(a, b), once per batch
        v = torch.rand(x.shape[0], a.shape[0]).clamp(self.CLAMP, 1 - self.CLAMP)
        z = torch.sigmoid((torch.logit(pi) + torch.logit(v)) / self.TAU)  # relaxed Bernoulli per example and unit
        return x * per_unit(z, x)

    def kl(self):
        a, b = F.softplus(self.raw_a), F.softplus(self.raw_b)
        euler = 0.5772156649015329
        return ((1 - self.ALPHA / a) * (-euler - torch.digamma(b) - 1 / b) + torch.log(a * b)
                - math.log(self.ALPHA) - (b - 1) / b).sum()


def log_normal_mass(lo, hi):
    """log(Phi(hi) - Phi(lo)), computed on the side of 0 where the tails do not cancel."""
    flip = lo > 0
    lo, hi = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    log_hi, log_lo = torch.special.log_ndtr(hi), torch.special.log_ndtr(lo)
    return log_hi + torch.log1p(-torch.exp(log_lo - log_hi))


class SbpGate(nn.Module):
    A, B = -20.0, 0.0

    def __init__(self, units):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(units))
        self.log_sigma = nn.Parameter(torch.full((units,), -5.0))

    def bounds(self):
        mu, log_sigma = self.mu.double().clamp(-20, 5), self.log_sigma.double().clamp(-20, 5)
        sigma = log_sigma.exp()
        return mu, log_sigma, sigma, (self.A - mu) / sigma, (self.B - mu) / sigma

    def forward(self, x):
        mu, _, sigma, alpha, beta = self.bounds()
        lo, hi = torch.special.ndtr(alpha), torch.special.ndtr(beta)
        g = lo + torch.rand_like(mu) * (hi - lo)  # inverse cdf of the truncated normal, once per batch
        log_theta = (mu + sigma * torch.special.ndtri(g.clamp(1e-12, 1 - 1e-12))).clamp(self.A, self.B)
        return x * per_unit(log_theta.exp().to(x.dtype), x)

    def kl(self):
        mu, log_sigma, sigma, alpha, beta = self.bounds()
        log_z = log_normal_mass(alpha, beta)
        pdf_over_z = lambda t: torch.exp(-0.5 * t * t - 0.5 * math.log(2 * math.pi) - log_z)
        kl = (math.log(self.B - self.A) - log_sigma - log_z - (alpha * pdf_over_z(alpha) - beta * pdf_over_z(beta)) / 2
              - 0.5 * math.log(2 * math.pi * math.e))
        return kl.sum().float()


# --- sparse variational dropout layers -------------------------------------------------------------------------------

class SparseVD(nn.Module):
    """theta (Glorot uniform, as bayesdrop's layers), log sigma^2 = -10, bias 0; conv when kernel is given."""
    K1, K2, K3 = 0.63576, 1.87320, 1.48695

    def __init__(self, fan_in, out, kernel=None):
        super().__init__()
        shape = (out, fan_in, kernel, kernel) if kernel else (out, fan_in)
        self.theta = nn.Parameter(torch.empty(shape))
        nn.init.xavier_uniform_(self.theta)
        self.log_sigma2 = nn.Parameter(torch.full(shape, -10.0))
        self.bias = nn.Parameter(torch.zeros(out))
        self.op = F.conv2d if kernel else F.linear

    def log_alpha(self):
        return (self.log_sigma2 - torch.log(self.theta * self.theta + 1e-8)).clamp(-8, 8)

    def forward(self, x):
        mean = self.op(x, self.theta, self.bias)
        var = self.op(x * x, self.log_alpha().exp() * self.theta * self.theta)
        return mean + torch.sqrt(var + 1e-8) * torch.randn_like(mean)  # local reparameterisation

    def kl(self):
        la = self.log_alpha()
        return -(self.K1 * torch.sigmoid(self.K2 + self.K3 * la) - 0.5 * F.softplus(-la) - self.K1).sum()


class LeNet5(nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.dropout = dropout
        if dropout == 'sparsevd':
            self.conv1, self.conv2 = SparseVD(1, 20, 5), SparseVD(20, 50, 5)
            self.dense1, self.dense2 = SparseVD(800, 500), SparseVD(500, 10)
        else:
            self.conv1, self.conv2 = nn.Conv2d(1, 20, 5), nn.Conv2d(20, 50, 5)
            self.dense1, self.dense2 = nn.Linear(800, 500), nn.Linear(500, 10)
        gate = dict(bbd=BetaBernoulliGate, sbp=SbpGate).get(dropout)
        self.gates = nn.ModuleList(gate(n) for n in (20, 50, 800, 500)) if gate else None

    def gate(self, i, x):
        return self.gates[i](x) if self.gates is not None else x

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.gate(0, self.conv1(x)), 2))
        x = F.relu(F.max_pool2d(self.gate(1, self.conv2(x)), 2))
        x = F.relu(self.dense1(self.gate(2, x.flatten(1))))
        return self.dense2(self.gate(3, x))

    def kl(self):
        parts = [m.kl() for m in self.modules() if isinstance(m, (SparseVD, BetaBernoulliGate, SbpGate))]
        return sum(parts) if parts else None

    def optimisers(self):
        if self.dropout == 'sparsevd':
            return [torch.optim.Adam(self.parameters(), lr=1e-3)]
        weights = [p for m in (self.conv1, self.conv2, self.dense1, self.dense2) for p in m.parameters()]
        opts = [torch.optim.Adam(weights, lr=1e-3, weight_decay=1e-4)]  # coupled L2, as the recipe's
        if self.gates is not None:
            opts.append(torch.optim.Adam(self.gates.parameters(), lr=1e-2))
        return opts


def main():
    if '--as-is' not in sys.argv and os.environ.get('BAYESDROP_TORCH_TUNED') != '1':
        env = dict(os.environ, BAYESDROP_TORCH_TUNED='1', OPENBLAS_NUM_THREADS='1',
                   GLIBC_TUNABLES='glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296')
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dropout', default='none', choices=['none', 'sparsevd', 'bbd', 'sbp'])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--data', default=None, help='MNIST folder (IDX files); default: random images')
    ap.add_argument('--batches', type=int, default=600, help='batches timed (600 = one epoch)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--as-is', action='store_true', help='keep the environment (no OpenBLAS or malloc tuning)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.data:
        images, labels = read_images_labels(a.data)
    else:
        images, labels = torch.rand(N_TRAIN, 1, 28, 28), torch.randint(0, 10, (N_TRAIN,))
    model = LeNet5(a.dropout)
    opts = model.optimisers()

    def step(idx):
        out = model(images.index_select(0, idx))
        loss = F.cross_entropy(out, labels.index_select(0, idx))
        kl = model.kl()
        if kl is not None:
            loss = loss + kl / N_TRAIN
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o in opts:
            o.step()

    perm = torch.randperm(N_TRAIN)
    for i in range(20):  # warm-up
        step(perm[i * BATCH:(i + 1) * BATCH])
    perm = torch.randperm(N_TRAIN)
    n = min(a.batches, N_TRAIN // BATCH)
    start = time.perf_counter()
    for i in range(n):
        step(perm[i * BATCH:(i + 1) * BATCH])
    seconds = time.perf_counter() - start
    print(json.dumps(dict(system='pytorch', model='lenet5', torch=torch.__version__, tuned=not a.as_is,
                          threads=torch.get_num_threads(), dropout=a.dropout, data='mnist' if a.data else 'random',
                          batches_timed=n, epoch_s=seconds * (N_TRAIN // BATCH) / n)))


if __name__ == '__main__':
    main()
