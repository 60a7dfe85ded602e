"""One CRATE layer in PyTorch (float64), written from the CRATE paper (arXiv 2306.01129):
    Z_half = Z + MSSA(LN(Z)),  Z_next = ISTA(LN(Z_half)),
MSSA: per head w_k = U_k^T x (one projection as query, key and value),
softmax(w w^T / sqrt(d_h)) w, heads concatenated, output map W_O, b_O;
ISTA(x) = ReLU(x + eta (D^T x - D^T D x) - eta lambda), D square, x a column.
Reads a JSON list of cases (weights and input) on stdin, prints a JSON list of outputs.
Used by test/nn/crate.test.ts as an independent cross-check."""
import json
import math
import sys

import torch

torch.set_default_dtype(torch.float64)


def layer(a):
    B, T, d, H = a["B"], a["T"], a["d"], a["H"]
    dh = d // H
    t = lambda k, shape: torch.tensor(a[k], dtype=torch.float64).reshape(shape)
    x = t("x", (B, T, d))
    U = t("U", (H, d, dh))
    W_O = t("W_O", (H * dh, d))
    b_O = t("b_O", (d,))
    D = t("D", (d, d))
    eta, lam = a["eta"], a["lambda"]

    def ln(z, w, b):
        return torch.nn.functional.layer_norm(z, (d,), t(w, (d,)), t(b, (d,)), 1e-5)

    y = ln(x, "ln1_w", "ln1_b")
    heads = []
    for k in range(H):
        w = y @ U[k]  # [B, T, dh]: the rows are U_k^T x for each token x
        attn = torch.softmax(w @ w.transpose(1, 2) / math.sqrt(dh), dim=-1)
        heads.append(attn @ w)
    mssa = torch.cat(heads, dim=-1) @ W_O + b_O
    half = x + mssa
    v = ln(half, "ln2_w", "ln2_b")
    cols = v.reshape(B * T, d).T  # tokens as columns
    step = cols + eta * (D.T @ cols - D.T @ D @ cols) - eta * lam
    out = torch.relu(step).T.reshape(B, T, d)
    return {"half": half.flatten().tolist(), "out": out.flatten().tolist()}


print(json.dumps([layer(a) for a in json.load(sys.stdin)]))
