"""Tests of the torch modules in heartlang_sk.nn (tiny sizes, CPU, a few seconds)."""

import math

import pytest
import torch
import torch.nn.functional as F

from heartlang_sk.nn import (
    ECGFORMER_SIZES,
    BeatConvStem,
    ClassificationHead,
    ECGFormer,
    ECGFormerClassifier,
    MaskedWordPredictor,
    NormEMAQuantizer,
    RotaryEmbedding,
    VQHeartbeatReconstructor,
    apply_rotary,
    cosine_nearest,
    count_parameters,
    ecgformer_config,
    masked_mean,
    masked_word_loss,
    perplexity,
    random_lead_mask,
    random_token_mask,
    resolve_ecgformer_config,
    spherical_kmeans,
    vqhbr_loss,
)

T = 96


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_sentences(n_real=(40, 17, 0), length=48, seed=0):
    """A batch of sentences with the given numbers of real tokens (0 = a flat, all-padding record)."""
    g = torch.Generator().manual_seed(seed)
    B = len(n_real)
    tokens = torch.zeros(B, length, T)
    leads = torch.zeros(B, length, dtype=torch.long)
    times = torch.zeros(B, length, dtype=torch.long)
    for b, n in enumerate(n_real):
        tokens[b, :n] = torch.randn(n, T, generator=g)
        leads[b, :n] = torch.arange(n) // 4 % 12 + 1
        times[b, :n] = torch.arange(n) % 4 * 2 + 1
    return tokens, leads, times


def tiny(**overrides):
    return ECGFormer.from_size("tiny", **{"depth": 2, **overrides}).eval()


def expected_parameters(cfg):
    """Parameter count from the architecture, written out independently of the modules."""
    D, H, hd, M = cfg["embed_dim"], cfg["num_heads"], cfg["head_dim"], cfg["mlp_dim"]
    inner = H * hd
    block = 4 * D + (D * 3 * inner + 3 * inner) + (inner * D + D) + (D * M + M + M * D + D)
    C, k = cfg["stem_channels"], cfg["stem_kernel_size"]
    out_len = (cfg["t"] + 2 * (k // 2) - k) // cfg["stem_stride"] + 1
    stem = (C * k + C) + 2 * (C * C * 3 + C) + 3 * 2 * C + (C * out_len * D + D) + cfg["t"] * D
    embeddings = (cfg["n_leads"] + 1) * D + (cfg["max_time"] + 1) * D
    return stem + embeddings + cfg["depth"] * block + 2 * D


# --------------------------------------------------------------------------- ECGFormer


def test_ecgformer_shapes_with_and_without_cls():
    tokens, leads, times = make_sentences()
    out = tiny()(tokens, leads, times)
    assert out.hidden.shape == (3, 48, 64)
    assert out.cls is None
    assert torch.equal(out.padding_mask, leads == 0)
    out = tiny(use_cls=True)(tokens, leads, times)
    assert out.hidden.shape == (3, 48, 64) and out.cls.shape == (3, 64)


def test_named_sizes_and_config():
    assert ECGFORMER_SIZES["small"]["depth"] == 6
    assert ECGFORMER_SIZES["base"]["depth"] == 12
    assert ECGFORMER_SIZES["large"]["depth"] == 24
    for name, heads in (("small", 4), ("base", 10), ("large", 16)):
        cfg = ecgformer_config(name)
        assert (cfg["embed_dim"], cfg["mlp_dim"], cfg["num_heads"], cfg["head_dim"]) == (768, 2048, heads, 64)
    assert ecgformer_config("tiny", depth=3)["depth"] == 3
    assert resolve_ecgformer_config({"size": "small", "use_cls": True})["use_cls"] is True
    assert resolve_ecgformer_config("base")["depth"] == 12
    with pytest.raises(ValueError):
        ecgformer_config("huge")
    with pytest.raises(TypeError):
        ecgformer_config("tiny", n_layers=3)


@pytest.mark.parametrize("size", ["tiny", "small", "base", "large"])
def test_parameter_counts_on_meta_device(size):
    documented = {"tiny": 217_984, "small": 23_847_744, "base": 61_654_848, "large": 151_438_656}
    with torch.device("meta"):
        model = ECGFormer.from_size(size)
    assert count_parameters(model) == documented[size] == expected_parameters(ecgformer_config(size))
    inner = ECGFORMER_SIZES[size]["num_heads"] * ECGFORMER_SIZES[size]["head_dim"]
    assert model.blocks[0].attn.qkv.out_features == 3 * inner
    assert model.blocks[0].attn.proj.in_features == inner
    assert model.blocks[0].attn.proj.out_features == model.embed_dim


def test_small_instantiates_on_cpu_with_the_meta_count():
    model = ECGFormer.from_size("small", use_cls=True)
    assert count_parameters(model) == 23_847_744 + 768
    for p in model.parameters():
        p.requires_grad_(False)
    model.cls_token.requires_grad_(True)
    assert count_parameters(model, trainable_only=True) == 768


def test_token_embedding_does_not_leak_across_beats():
    model = tiny().requires_grad_(False)
    tokens, leads, times = make_sentences((48, 30, 0))
    before = model.embed(tokens, leads, times)
    changed = tokens.clone()
    changed[0, 10] = torch.randn(T) * 5
    changed[1, 0] = torch.randn(T) * 5  # first beat: the official circular padding would reach the last beat
    after = model.embed(changed, leads, times)
    diff = (after - before).abs().amax(dim=-1)
    assert diff[0, 10] > 1e-3 and diff[1, 0] > 1e-3
    diff[0, 10] = 0
    diff[1, 0] = 0
    assert float(diff.max()) == 0.0


def test_beat_conv_stem_is_per_beat():
    stem = BeatConvStem(t=T, embed_dim=16)
    beats = torch.randn(2, 5, T)
    single = torch.stack([stem(beats[:, i:i + 1])[:, 0] for i in range(5)], dim=1)
    torch.testing.assert_close(stem(beats), single)


def test_mask_token_replaces_beat_embedding_before_lead_time():
    model = tiny(use_mask_token=True)
    tokens, leads, times = make_sentences((48, 30, 0))
    mask = torch.zeros_like(leads, dtype=torch.bool)
    mask[0, 5] = mask[1, 7] = True
    emb = model.embed(tokens, leads, times, mask)
    expected = model.mask_token + model.lead_time(leads, times)
    torch.testing.assert_close(emb[0, 5], expected[0, 5])
    torch.testing.assert_close(emb[1, 7], expected[1, 7])
    # the masked beats' samples cannot influence anything
    changed = tokens.clone()
    changed[0, 5] = 100.0
    changed[1, 7] = -100.0
    torch.testing.assert_close(model(tokens, leads, times, mask).hidden, model(changed, leads, times, mask).hidden)
    with pytest.raises(ValueError):
        tiny()(tokens, leads, times, mask)


@pytest.mark.parametrize("use_cls", [False, True])
def test_padding_tokens_do_not_change_real_outputs(use_cls):
    model = tiny(use_cls=use_cls)
    tokens, leads, times = make_sentences((40, 17, 48))
    out = model(tokens, leads, times)
    garbage = tokens.clone()
    garbage[leads == 0] = torch.randn(int((leads == 0).sum()), T) * 10
    out2 = model(garbage, leads, times)
    real = leads != 0
    torch.testing.assert_close(out.hidden[real], out2.hidden[real], atol=1e-5, rtol=1e-5)
    if use_cls:
        torch.testing.assert_close(out.cls, out2.cls, atol=1e-5, rtol=1e-5)
    # and sentence length: the same beats with extra padding appended give the same states
    longer = [torch.cat([x, torch.zeros_like(x)], dim=1) for x in (tokens, leads, times)]
    out3 = model(*longer)
    torch.testing.assert_close(out3.hidden[:, :48][real], out.hidden[real], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("use_cls", [False, True])
def test_all_padding_sentence_is_finite(use_cls):
    model = ECGFormer.from_size("tiny", depth=2, use_cls=use_cls, use_mask_token=True)  # training mode
    tokens, leads, times = make_sentences((0, 0))
    mask = random_token_mask(leads == 0, 0.5)
    out = model(tokens, leads, times, mask)
    assert torch.isfinite(out.hidden).all()
    out.hidden.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    pooled = masked_mean(out.hidden, out.padding_mask)
    assert torch.equal(pooled, torch.zeros_like(pooled))


def test_lead_and_time_index_checks():
    tokens, leads, times = make_sentences((10,), length=12)
    bad = leads.clone()
    bad[0, 0] = 13
    with pytest.raises(ValueError, match="lead"):
        tiny()(tokens, bad, times)
    late = times.clone()
    late[0, 0] = 500
    clamp = tiny(max_time=16)
    out = clamp(tokens, leads, late)
    clipped = late.clone()
    clipped[0, 0] = 16
    torch.testing.assert_close(out.hidden, clamp(tokens, leads, clipped).hidden)
    with pytest.raises(ValueError, match="time"):
        tiny(max_time=16, time_overflow="error")(tokens, leads, late)
    with pytest.raises(ValueError, match="shape"):
        tiny()(tokens[..., :90], leads, times)


def test_rope_dot_product_depends_only_on_position_difference():
    rope = RotaryEmbedding(16)
    cos, sin = rope.angles(300)
    q, k = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)

    def rotated(x, pos):
        return apply_rotary(x[None], cos[pos:pos + 1].double(), sin[pos:pos + 1].double())[0]

    for delta in (0, 1, 7, 100):
        dots = [float(rotated(q, m + delta) @ rotated(k, m)) for m in (0, 3, 50, 190)]
        assert max(dots) - min(dots) < 1e-4, (delta, dots)
    assert abs(float(rotated(q, 5) @ rotated(k, 4)) - float(rotated(q, 4) @ rotated(k, 5))) > 1e-6
    torch.testing.assert_close(rotated(q, 123).norm(), q.norm())
    torch.testing.assert_close(rotated(q, 0), q)
    # interleaved pairs, angle i / 10000**(2j / head_dim) (paper §2.2.3)
    expected = torch.tensor(3.0) / 10000 ** (2 * 2 / 16)
    x = torch.zeros(16)
    x[4] = 1.0
    out = rope(x.expand(4, 16))[3]
    torch.testing.assert_close(out[4:6], torch.stack([expected.cos(), expected.sin()]))


# --------------------------------------------------------------------------- quantizer


def test_nearest_word_matches_brute_force_with_chunking():
    vq = NormEMAQuantizer(n_words=200, word_dim=8, kmeans_init=False, max_elements=1000).eval()
    z = torch.randn(333, 8) * 3
    out = vq(z)
    brute = torch.cdist(F.normalize(z, dim=1), vq.codebook).argmin(dim=1)
    assert torch.equal(out.indices, brute)
    torch.testing.assert_close(out.quantized, vq.codebook[brute])
    idx, sim = cosine_nearest(F.normalize(z, dim=1), vq.codebook, max_elements=10)
    assert torch.equal(idx, brute)
    torch.testing.assert_close(sim, (F.normalize(z, dim=1) * vq.codebook[brute]).sum(1))
    assert torch.equal(vq.encode(z), brute)


def test_commitment_loss_and_straight_through_gradient():
    vq = NormEMAQuantizer(n_words=16, word_dim=8, kmeans_init=False, beta=0.5).eval()
    z = torch.randn(50, 8, requires_grad=True)
    out = vq(z)
    zn = F.normalize(z, dim=1)
    torch.testing.assert_close(out.commit_loss, 0.5 * ((zn - vq.codebook[out.indices]) ** 2).mean())
    (out.quantized * torch.arange(8.0)).sum().backward()
    # straight-through: d quantized / d l2(z) is the identity
    expected = torch.autograd.grad((zn * torch.arange(8.0)).sum(), z)[0]
    torch.testing.assert_close(z.grad, expected)
    assert not vq.codebook.requires_grad


def test_ema_moves_codebook_toward_data_in_training_only():
    vq = NormEMAQuantizer(n_words=8, word_dim=16, kmeans_init=False, dead_word_restart=False, decay=0.9)
    target = F.normalize(torch.randn(16), dim=0)
    word = int(vq.encode(target[None]))
    data = target + 0.05 * torch.randn(256, 16)
    vq.eval()
    frozen = vq.codebook.clone()
    vq(data)
    assert torch.equal(vq.codebook, frozen)
    vq.train()
    start = float(vq.codebook[word] @ target)
    for _ in range(30):
        vq(target + 0.05 * torch.randn(256, 16))
    assert float(vq.codebook[word] @ target) > max(start, 0.99)
    torch.testing.assert_close(vq.codebook.norm(dim=1), torch.ones(8))
    assert int(vq.n_updates) == 30


def test_padding_never_touches_codebook_statistics():
    def fresh():
        torch.manual_seed(1)
        return NormEMAQuantizer(n_words=32, word_dim=8, restart_every=1)

    z = torch.randn(4, 10, 8)
    valid = torch.rand(4, 10) > 0.4
    padded = z.clone()
    padded[~valid] = 1e3 * torch.randn(int((~valid).sum()), 8)
    a, b = fresh(), fresh()
    torch.manual_seed(2)
    out_a = a(padded, valid=valid)
    torch.manual_seed(2)
    out_b = b(z[valid])
    for name, buffer in a.state_dict().items():
        torch.testing.assert_close(buffer, b.state_dict()[name], msg=name)
    assert torch.equal(out_a.indices[valid], out_b.indices)
    assert (out_a.indices[~valid] == -1).all()
    assert (out_a.quantized[~valid] == 0).all()
    assert int(a.usage.sum()) == int(valid.sum())


def test_empty_input_is_finite():
    vq = NormEMAQuantizer(n_words=16, word_dim=8)
    z = torch.randn(2, 5, 8, requires_grad=True)  # all of it padding
    out = vq(z, valid=torch.zeros(2, 5, dtype=torch.bool))
    assert float(out.commit_loss.detach()) == 0.0 and float(out.perplexity) == 0.0
    out.commit_loss.backward()
    assert not bool(vq.initialized) and int(vq.n_updates) == 0


def test_kmeans_initialisation_finds_clusters():
    centers = F.normalize(torch.randn(10, 16), dim=1)
    labels = torch.arange(10).repeat(30)
    data = F.normalize(centers[labels] + 0.02 * torch.randn(300, 16), dim=1)
    found, counts = spherical_kmeans(data, 10, n_iter=20)
    assert counts.sum() == 300
    torch.testing.assert_close(found.norm(dim=1), torch.ones(10))
    assert bool(((centers @ found.t()).amax(dim=1) > 0.99).all())  # thanks to greedy k-means++ seeding
    # the quantizer initialises itself with it on its first training batch
    vq = NormEMAQuantizer(n_words=10, word_dim=16, dead_word_restart=False)
    assert not bool(vq.initialized)
    vq(data)
    assert bool(vq.initialized)
    assert bool(((centers @ vq.codebook.t()).amax(dim=1) > 0.99).all())
    # fewer vectors than words: sampling with replacement + noise, still unit norm and finite
    few, few_counts = spherical_kmeans(data[:5], 64)
    assert torch.isfinite(few).all() and few_counts.sum() == 5
    torch.testing.assert_close(few.norm(dim=1), torch.ones(64))


def _clustered_usage(restart, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = F.normalize(torch.randn(32, generator=g), dim=0)
    centers = F.normalize(base + 0.06 * torch.randn(64, 32, generator=g), dim=1)
    torch.manual_seed(seed)
    vq = NormEMAQuantizer(n_words=64, word_dim=32, kmeans_init=False, dead_word_restart=restart,
                          restart_every=10, restart_buffer_size=1024)
    for _ in range(150):
        labels = torch.randint(0, 64, (512,), generator=g)
        vq(centers[labels] + 0.01 * torch.randn(512, 32, generator=g))
    vq.eval()
    vq.reset_usage()
    labels = torch.randint(0, 64, (4096,), generator=g)
    vq(centers[labels] + 0.01 * torch.randn(4096, 32, generator=g))
    return vq.usage_stats()


def test_dead_word_restart_raises_codebook_usage():
    without = _clustered_usage(restart=False)
    with_restart = _clustered_usage(restart=True)
    assert without["active_words"] <= 8  # random words far from the data never win: collapse
    assert with_restart["active_words"] >= 48
    assert with_restart["n_restarted"] > 0 and without["n_restarted"] == 0
    assert with_restart["perplexity"] > 4 * without["perplexity"]


def test_usage_statistics_and_reset():
    vq = NormEMAQuantizer(n_words=16, word_dim=4, kmeans_init=False).eval()
    z = vq.codebook[torch.tensor([0, 0, 1, 2, 3, 3, 3, 3])]
    out = vq(z)
    assert int(out.n_active) == 4
    torch.testing.assert_close(out.perplexity, perplexity(torch.tensor([2, 1, 1, 4])))
    stats = vq.usage_stats()
    assert stats["active_words"] == 4 and stats["n_assignments"] == 8 and stats["utilization"] == 0.25
    vq(z)
    assert int(vq.usage[3]) == 8
    vq.reset_usage()
    assert int(vq.usage.sum()) == 0
    torch.testing.assert_close(perplexity(torch.ones(5)), torch.tensor(5.0))


def test_quantizer_state_dict_round_trip():
    vq = NormEMAQuantizer(n_words=32, word_dim=8)
    for _ in range(3):
        vq(torch.randn(64, 8))
    state = vq.state_dict()
    assert {"codebook", "cluster_size", "embed_sum", "initialized", "usage", "n_updates"} <= set(state)
    assert "_recent" not in state
    clone = NormEMAQuantizer(n_words=32, word_dim=8)
    assert not bool(clone.initialized)
    clone.load_state_dict(state)
    assert bool(clone.initialized)
    for name, value in state.items():
        assert torch.equal(clone.state_dict()[name], value)
    z = torch.randn(100, 8)
    assert torch.equal(clone.encode(z), vq.encode(z))
    before = clone.codebook.clone()
    clone.decay_warmup = 0.0  # a plain γ = 0.99 step, so a re-initialisation would stand out
    clone(z[:1])  # initialised already: one EMA step, no k-means re-initialisation
    assert float((clone.codebook - before).abs().max()) < 0.2


# --------------------------------------------------------------------------- VQ-HBR


def small_vqhbr(**kw):
    return VQHeartbeatReconstructor({"size": "tiny", "depth": 2}, {"size": "tiny", "depth": 1}, n_words=32,
                                    word_dim=16, **kw)


def test_vqhbr_shapes_and_padding_outputs():
    model = small_vqhbr()
    tokens, leads, times = make_sentences()
    out = model(tokens, leads, times)
    assert out.reconstruction.shape == tokens.shape
    assert out.indices.shape == leads.shape and out.indices.dtype == torch.long
    assert (out.indices[leads == 0] == -1).all() and (out.indices[leads != 0] >= 0).all()
    assert (out.reconstruction[leads == 0] == 0).all()
    assert out.commit_loss.ndim == 0 and float(out.perplexity) >= 1.0
    losses = vqhbr_loss(out, tokens)
    assert set(losses) == {"loss", "reconstruction_loss", "commit_loss"}
    torch.testing.assert_close(losses["loss"], losses["reconstruction_loss"] + losses["commit_loss"])
    losses["loss"].backward()
    assert model.encoder.stem.proj.weight.grad is not None  # gradient crosses the quantizer
    with pytest.raises(ValueError, match="conflicts"):
        VQHeartbeatReconstructor({"size": "tiny", "max_time": 10}, max_time=64)


def test_vqhbr_loss_ignores_padding():
    model = small_vqhbr().eval()
    tokens, leads, times = make_sentences((40, 17, 0))
    out = model(tokens, leads, times)
    real = leads != 0
    manual = ((out.reconstruction - tokens) ** 2).mean(-1)[real].mean()
    losses = vqhbr_loss(out, tokens)
    torch.testing.assert_close(losses["reconstruction_loss"], manual)
    garbage = tokens.clone()
    garbage[~real] = 50.0
    out2 = model(garbage, leads, times)
    torch.testing.assert_close(vqhbr_loss(out2, garbage)["reconstruction_loss"], manual, atol=1e-5, rtol=1e-5)
    assert torch.equal(out2.indices, out.indices)


def test_vqhbr_all_padding_batch_is_finite():
    model = small_vqhbr()
    tokens, leads, times = make_sentences((0, 0))
    out = model(tokens, leads, times)
    losses = vqhbr_loss(out, tokens)
    assert all(torch.isfinite(v) for v in losses.values())
    losses["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert (model.encode_indices(tokens, leads, times) == -1).all()


def test_vqhbr_overfits_a_small_batch():
    g = torch.Generator().manual_seed(1)
    t = torch.arange(float(T))
    shapes = [(1, 0, 3), (0.6, 0, 6), (-0.8, 2, 4), (1.2, -3, 2), (0.5, 10, 8), (0.9, -8, 5), (-0.4, 0, 10),
              (1.5, 4, 3)]
    templates = torch.stack([a * torch.exp(-((t - 48 - s) / w) ** 2) for a, s, w in shapes])
    tokens, leads, times = make_sentences((36, 20, 36, 30), length=48)
    real = leads != 0
    tokens[real] = templates[torch.randint(0, 8, (int(real.sum()),), generator=g)]
    tokens[real] += 0.02 * torch.randn(int(real.sum()), T, generator=g)
    # 100 steps are few for the default EMA (decay 0.99 needs ~460 updates to declare an unused
    # word dead), so the run uses a faster EMA and frequent restarts against codebook collapse
    model = small_vqhbr(decay=0.9, restart_every=5)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = []
    for _ in range(100):
        losses = vqhbr_loss(model(tokens, leads, times), tokens)
        optimizer.zero_grad()
        losses["loss"].backward()
        optimizer.step()
        history.append(float(losses["reconstruction_loss"].detach()))
    assert history[-1] < 0.2 * history[0], history[::10]


def test_encode_indices_is_pure_inference():
    model = small_vqhbr()
    tokens, leads, times = make_sentences()
    model(tokens, leads, times)  # initialise the codebook
    model.train()
    state = {k: v.clone() for k, v in model.quantizer.state_dict().items()}
    indices = model.encode_indices(tokens, leads, times)
    assert model.training and model.encoder.training
    for k, v in model.quantizer.state_dict().items():
        assert torch.equal(v, state[k]), k
    model.eval()
    out = model(tokens, leads, times)
    assert torch.equal(out.indices, indices)
    torch.testing.assert_close(model.decode_indices(indices, leads, times), out.reconstruction)


# --------------------------------------------------------------------------- masking and heads


def test_random_token_mask_counts_padding_and_seed():
    padding = torch.zeros(5, 256, dtype=torch.bool)
    for b, n_real in enumerate((256, 143, 7, 1, 0)):
        padding[b, n_real:] = True
    mask = random_token_mask(padding, 0.5, torch.Generator().manual_seed(3))
    n_real = (~padding).sum(1)
    assert mask.sum(1).tolist() == [round(0.5 * int(n)) for n in n_real] == [128, 72, 4, 0, 0]
    assert not (mask & padding).any()
    again = random_token_mask(padding, 0.5, torch.Generator().manual_seed(3))
    other = random_token_mask(padding, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(mask, again) and not torch.equal(mask, other)
    assert random_token_mask(padding, 0.3).sum(1).tolist() == [round(0.3 * int(n)) for n in n_real]
    assert torch.equal(random_token_mask(padding, 1.0), ~padding)
    assert not random_token_mask(padding, 0.0).any()
    with pytest.raises(ValueError):
        random_token_mask(padding, 1.5)


def test_random_lead_mask_masks_whole_leads_and_never_padding():
    # Sentence 0: 12 leads x 10 beats; sentence 1: 5 leads x 3 beats, then padding; sentence 2: empty.
    leads = torch.zeros(3, 128, dtype=torch.long)
    leads[0, :120] = torch.arange(1, 13).repeat_interleave(10)
    leads[1, :15] = torch.arange(1, 6).repeat_interleave(3)
    mask = random_lead_mask(leads, 0.5, torch.Generator().manual_seed(0))
    assert not (mask & (leads == 0)).any()
    for b, n_leads in enumerate((12, 5, 0)):
        masked_leads = set(leads[b][mask[b]].tolist())
        assert len(masked_leads) == round(0.5 * n_leads)
        # A masked lead is masked in every one of its beats.
        assert all(bool(mask[b][leads[b] == lead].all()) for lead in masked_leads)
    again = random_lead_mask(leads, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(mask, again)
    assert torch.equal(random_lead_mask(leads, 1.0), leads > 0)
    with pytest.raises(ValueError):
        random_lead_mask(leads, -0.1)


def test_masked_word_predictor_and_loss():
    model = MaskedWordPredictor({"size": "tiny", "depth": 2}, n_words=40).eval()
    tokens, leads, times = make_sentences()
    mask = random_token_mask(leads == 0, 0.5, torch.Generator().manual_seed(0))
    full = model(tokens, leads, times, mask)
    assert full.shape == (3, 48, 40)
    only = model(tokens, leads, times, mask, only_masked=True)
    assert only.shape == (int(mask.sum()), 40)
    torch.testing.assert_close(only, full[mask])
    targets = torch.randint(0, 40, leads.shape).masked_fill(leads == 0, -1)
    a, b = masked_word_loss(full, targets, mask), masked_word_loss(only, targets, mask)
    torch.testing.assert_close(a["loss"], b["loss"])
    torch.testing.assert_close(a["loss"], F.cross_entropy(full[mask], targets[mask]))
    assert int(a["n_targets"]) == int(mask.sum())
    assert abs(float(a["loss"].detach()) - math.log(40)) < 0.5  # near-uniform at initialisation
    empty = masked_word_loss(full, targets, torch.zeros_like(mask))
    assert float(empty["loss"].detach()) == 0.0


def test_classification_head_pooling():
    hidden = torch.randn(2, 6, 8)
    padding = torch.tensor([[False] * 4 + [True] * 2, [True] * 6])
    head = ClassificationHead(8, 3)
    pooled = head.pool(hidden, padding)
    torch.testing.assert_close(pooled[0], hidden[0, :4].mean(0))
    assert torch.equal(pooled[1], torch.zeros(8))
    assert head(hidden, padding).shape == (2, 3)
    with pytest.raises(ValueError, match="CLS"):
        ClassificationHead(8, 3, pooling="cls")(hidden, padding)
    tokens, leads, times = make_sentences((40, 17, 0))
    for pooling in ("mean", "cls"):
        model = ECGFormerClassifier({"size": "tiny", "depth": 1}, n_outputs=5, pooling=pooling)
        logits = model(tokens, leads, times)
        assert logits.shape == (3, 5) and torch.isfinite(logits).all()
