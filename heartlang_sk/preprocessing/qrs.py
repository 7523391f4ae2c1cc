"""Vectorized QRS (R-peak) detection for single- and multi-record ECG arrays.

The detector follows the classic band-pass / slope / moving-window-integration scheme (as in the
HeartLang tokenizer and Pan & Tompkins, 1985), but every step is a whole-array operation, so a
batch of records costs a handful of passes over the data instead of a Python loop per record or
per beat:

0. **Spikes**: records whose largest sample-to-sample jump is far beyond their typical QRS
   upstroke (electrode pops, saturation, stimulation artefacts of up to tens of mV) have samples
   far from their running median replaced by it and the rest clipped at twice a robust amplitude
   (see `_remove_spikes`); other records are left untouched.
1. **Band-pass** (about 8-18 Hz): a centred moving average over 40 ms (low-pass) minus one over
   80 ms (removes baseline wander, P and T waves). Centred, so zero phase.
2. **Slope energy**: absolute difference of the band-passed signal 12.5 ms either side of each
   sample (a derivative limited to the QRS band, the same at every sampling rate), integrated over
   100 ms, about one QRS duration.
3. **Candidates**: local maxima of the energy that stand out from the energy around them (above
   1.5 times its mean over 0.75 s, about one beat), then a 250 ms refractory period: a candidate
   survives only if no larger one lies within 250 ms (non-maximum suppression). **Fast rhythms**
   (ventricular tachycardia, 1:1 flutter, infant SVT: 200-330 bpm) have RR intervals under 250 ms
   and QRS energy that stands out less from its mean; candidates that stand out 1.2 times are kept
   as well, with a 170 ms refractory period, when they and both neighbours form a fast regular run
   (RR under 300 ms, neighbouring RR within a factor 1.2, energies within a factor 1/0.7). Noise
   and the T waves of slower beats do not form such runs, so slower rhythms keep the 250 ms rule.
4. **Adaptive threshold, local in time**: a candidate is a beat if its energy exceeds 0.3 times the
   geometric mean of the candidate energies within 5 s around it. The geometric mean follows slow
   amplitude changes and is not dominated by a few large ectopic beats or artefacts. As in Pan &
   Tompkins, a beat less than 360 ms after the previous one whose steepest slope is under half of
   the previous beat's is taken for that beat's T wave.
5. **R-peak position**: the extremum, within 75 ms of the energy peak, of the input signal after a
   10 ms running median (removes pacemaker spikes; no band-pass distortion of the R wave), with the
   polarity of the record's dominant QRS deflection; then the apex of the unfiltered signal within
   the median's half-width.

All durations are in seconds and converted to samples for the given sampling rate, so the detector
works at any sampling rate (100 Hz upwards is sensible: below about 60 Hz QRS complexes are not
resolved).
"""

from __future__ import annotations

import threading

import numpy as np
from scipy import ndimage

__all__ = ["detect_qrs", "detect_qrs_batch"]

_PARAMS = {
    "lowpass": 0.04,  # s, low-pass moving average; twice as long a one is subtracted (high-pass)
    "slope_lag": 0.0125,  # s, the slope is the difference of samples this far either side
    "integration": 0.10,  # s, moving-window integration of the slope (~QRS duration)
    "context": 0.75,  # s, window of the mean energy a QRS must stand out from (~one beat)
    "context_ratio": 1.5,  # a QRS energy peak is at least this many times the mean energy around it
    "refractory": 0.25,  # s, no two beats closer than this ...
    "fast_refractory": 0.17,  # s, ... except in a fast regular run of beats (up to ~330 bpm)
    "fast_context_ratio": 1.2,  # the context ratio of the beats of such a run
    "fast_rr": 0.3,  # s, a run is fast if its RR intervals are all under this ...
    "fast_regularity": 1.2,  # ... and neighbouring RR intervals differ by at most this factor ...
    "fast_height_ratio": 0.7,  # ... and neighbouring beat energies by at most 1 / this factor
    "level_window": 5.0,  # s, half-width of the window of the local beat-energy level
    "level_ratio": 0.3,  # a beat's energy is at least this fraction of the local level
    "t_wave": 0.36,  # s, a weak beat this soon after the previous one is taken for its T wave ...
    "t_wave_ratio": 0.5,  # ... if its steepest slope is below this fraction of the previous beat's
    "search": 0.075,  # s, half-width of the R-peak search window around the energy peak
    "despike": 0.01,  # s, running median applied before locating the R peak (no-op below ~150 Hz)
    "baseline": 0.125,  # s, half-width of the window whose mean is the baseline for the polarity
    "spike_jump": 6.0,  # a record whose largest sample-to-sample jump exceeds this many times its
    #                     98th-percentile jump has spikes: see `_remove_spikes`
    "spike_wander": 0.5,  # s, moving average taken for the baseline when removing spikes
    "spike_width": 0.012,  # s, running median that spikes (not QRS complexes) are narrower than
    "spike_ratio": 1.5,  # a sample this many robust amplitudes off the running median is a spike
    "clip_ratio": 2.0,  # ... and what is left is clipped at this many robust amplitudes
}

_BLOCK_SAMPLES = 2**18  # samples per block of records detected together (~1 MB per float32 array)
_FLOAT16_MAX, _FLOAT32_MAX = float(np.finfo(np.float16).max), float(np.finfo(np.float32).max)


def _odd_width(seconds, sampling_rate):
    """Odd number of samples closest to `seconds`, so that a centred moving average has zero phase."""
    return max(2 * int(np.floor((seconds * sampling_rate - 1.0) / 2.0 + 0.5)) + 1, 1)


def _moving_average(x, width):
    if width <= 1:
        return x
    return ndimage.uniform_filter1d(x, width, axis=-1, mode="nearest")


class _Scratch(threading.local):
    """Memory for the whole-signal passes of the detector, one per thread, kept between calls.

    A call needs a few float32 arrays the size of its input. Freshly allocated, they would cost
    about as much as the passes themselves: the allocator returns large freed blocks to the
    system, and the kernel then zeroes every page of the next call's arrays again. Arrays of up to
    `limit` bytes reuse this thread's memory instead; larger ones (single records of more than
    about a million samples, whose cost amortizes that of the allocation) are fresh.
    """

    limit = 4 * 2**20

    def __init__(self):
        self.memory = np.empty(0, dtype=np.float32)

    def arrays(self, count, size):
        """`count` float32 arrays of `size` elements; their contents are left over from earlier use."""
        size = -(-size // 16) * 16  # keep every array 64-byte aligned
        memory = self.memory
        if memory.size < count * size:
            memory = np.empty(count * size, dtype=np.float32)
            if 4 * size <= self.limit:
                self.memory = memory
        return [memory[i * size : (i + 1) * size] for i in range(count)]


_scratch = _Scratch()


def _running_sum(a, width, out, spare):
    """Sums of `width` consecutive elements of `a`: ``out[j] = a[j] + ... + a[j + width - 1]``.

    Binary doubling: sums over 2, 4, 8, ... elements, each the sum of two shifted copies of the
    previous one, and the sums for the set bits of `width` added up. That is about 2 log2(width)
    vectorized passes, several times faster than a cumulative sum (sequential) or
    ``ndimage.uniform_filter1d`` (one line at a time, in float64), and each output is a short tree
    of additions with no running-sum drift: a stretch of zeros sums to exactly zero.

    Parameters
    ----------
    a : ndarray, 1-D
    width : int
    out : ndarray, 1-D
        ``a.size - width + 1`` elements, not overlapping `a`.
    spare : tuple of two ndarrays, 1-D
        Scratch space of ``a.size`` elements each, not overlapping `a` or `out`; overwritten.

    Returns
    -------
    out : ndarray
    """
    n_out = out.size
    top = width.bit_length() - 1
    total, power, offset = None, a, 0
    for bit in range(top + 1):
        if bit:
            span = 1 << (bit - 1)
            # a power of two is done with its last doubling: straight into `out`
            target = out if bit == top and total is None else spare[bit % 2][: power.size - span]
            power = np.add(power[:-span], power[span:], out=target)
        if width >> bit & 1:
            term = power[offset : offset + n_out]
            if total is not None:
                total = np.add(total, term, out=out)
            elif power is out:  # width is a power of two: done
                total = out
            elif power is a:  # `a` is never overwritten: add it in later
                total = term
            else:  # the next doublings overwrite the spare arrays
                total = out
                np.copyto(out, term)
            offset += 1 << bit
    if total is not out:  # width == 1
        np.copyto(out, total)
    return out


def _fill_edges(rows, pad, n_samples):
    """Edge padding in place: columns before `pad` and from ``pad + n_samples`` copy the nearest sample."""
    rows[:, :pad] = rows[:, pad : pad + 1]
    rows[:, pad + n_samples :] = rows[:, pad + n_samples - 1 : pad + n_samples]


def _windows(flat, centres, half):
    """``flat[c - half : c + half + 1]`` for every `c` in `centres`, as columns: (2 * half + 1, n) array.

    Gathered as contiguous rows of a sliding-window view, then transposed, so that reductions over
    a window run across all windows at once (fast) rather than window by window.
    """
    width = 2 * half + 1
    # all windows as a read-only view (sliding_window_view without its checks, which cost more
    # than the gather for a single record)
    shape, strides = (flat.size - width + 1, width), flat.strides * 2
    windows = np.lib.stride_tricks.as_strided(flat, shape, strides, writeable=False)
    return np.ascontiguousarray(windows[centres - half].T)


def _validate(signals, sampling_rate, ndim):
    x = np.asarray(signals)
    if x.ndim != ndim:
        shape = "(n_samples,)" if ndim == 1 else "(n_records, n_samples)"
        raise ValueError(f"expected a {ndim}-D signal of shape {shape}, got an array with ndim={x.ndim}")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"expected a real-valued numeric signal, got dtype {x.dtype}")
    if isinstance(sampling_rate, bool):
        raise ValueError(f"sampling_rate must be a positive number in Hz, got {sampling_rate!r}")
    try:
        fs = float(sampling_rate)
    except (TypeError, ValueError):
        raise ValueError(f"sampling_rate must be a positive number in Hz, got {sampling_rate!r}") from None
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"sampling_rate must be a positive finite number in Hz, got {sampling_rate!r}")
    return x, fs


def _to_float32(x, padded, pad):
    """Finite-checked float32 copy of `x` into `padded`, record at column `pad`, edge-padded.

    float32 halves the memory traffic of every pass. No offset needs removing for precision: the
    filters below only take differences of sums of a few samples. Returns each record's
    peak-to-peak amplitude.
    """
    n_samples = x.shape[1]
    if x.dtype == np.float16:
        # numpy casts float16 one value at a time (~1.3 ns per value); moving the bits is several
        # times faster and exact for every finite value: the sign-extended 16 bits shifted left by 13
        # put the sign at bit 31 (after clearing bits 28-30) and the exponent and mantissa in place
        # for a float32 whose exponent is 127 - 15 = 112 too small (subnormals included), so multiply
        # by 2**112. Infinity and NaN come out as finite values of magnitude 2**16 or more.
        np.copyto(padded.view(np.int32)[:, pad : pad + n_samples], x.view(np.int16))
        _fill_edges(padded, pad, n_samples)
        bits = padded.view(np.uint32).reshape(-1)
        bits <<= 13
        bits &= 0x8FFFFFFF
        padded *= np.float32(2.0**112)
        limit = _FLOAT16_MAX
    else:
        with np.errstate(over="ignore"):
            np.copyto(padded[:, pad : pad + n_samples], x, casting="unsafe")
        _fill_edges(padded, pad, n_samples)
        limit = _FLOAT32_MAX
    top, bottom = padded.max(axis=1), padded.min(axis=1)
    if not ((top <= limit).all() and (bottom >= -limit).all()):  # False for NaN too
        if not np.isfinite(x).all():
            raise ValueError("signal contains NaN or infinite values; clean or interpolate them first")
        # finite values beyond the float32 range: only the shape matters, so rescale first
        padded[:, pad : pad + n_samples] = x / np.abs(x).max()
        _fill_edges(padded, pad, n_samples)
        top, bottom = padded.max(axis=1), padded.min(axis=1)
    return top - bottom


def _remove_spikes(rows, pad, n_samples, fs, p):
    """Remove spikes and clip outliers, in place, in the records that have them; their new amplitude.

    Electrode pops, saturation and stimulation artefacts put spikes of tens of millivolts into
    some records. Their slope energy dwarfs the QRS complexes', so they would be taken for beats
    and raise the threshold of the real beats around them. Screening is cheap: a record is spiky
    if its largest sample-to-sample jump exceeds `spike_jump` times its 98th-percentile jump (QRS
    upstrokes set that percentile). In a spiky record, with the robust amplitude ``s`` the 99th
    percentile of the signal's distance from its moving average over `spike_wander` s (its
    baseline), samples more than `spike_ratio` * ``s`` from their running median over
    `spike_width` s (at least 5 samples) take the median's value (a spike is narrower than a QRS
    complex, whose apex the median keeps within ``s``), and what remains is clipped to baseline
    +- `clip_ratio` * ``s``. Returns the indices of the records changed and their new
    peak-to-peak amplitudes.
    """
    record = rows[:, pad : pad + n_samples]
    jumps = np.diff(record, axis=1)
    np.abs(jumps, out=jumps)
    # the percentile of every 4th jump (at most 2048 per record): a partition, not a sort
    step = max(jumps.shape[1] // 2048, 4)
    sample = jumps[:, ::step]
    kth = int(0.98 * (sample.shape[1] - 1))
    typical = np.partition(sample, kth, axis=1)[:, kth]
    spiky = np.flatnonzero(jumps.max(axis=1) > p["spike_jump"] * typical)
    if spiky.size == 0:
        return spiky, None
    signal = record[spiky].astype(np.float64)
    baseline = ndimage.uniform_filter1d(signal, _odd_width(p["spike_wander"], fs), axis=1, mode="nearest")
    scale = np.quantile(np.abs(signal - baseline)[:, :: max(n_samples // 4096, 1)], 0.99, axis=1)[:, None]
    median = ndimage.median_filter(signal, size=(1, max(_odd_width(p["spike_width"], fs), 5)), mode="nearest")
    spikes = np.abs(signal - median) > p["spike_ratio"] * scale
    signal[spikes] = median[spikes]
    np.clip(signal - baseline, -p["clip_ratio"] * scale, p["clip_ratio"] * scale, out=signal)
    signal += baseline
    record[spiky] = signal
    _fill_edges(rows, pad, n_samples)
    return spiky, (signal.max(axis=1) - signal.min(axis=1)).astype(np.float32)


def _suppress_non_maxima(positions, rows, heights, distance):
    """Keep the candidates that have no larger kept candidate within `distance` samples (same row).

    `positions` are sorted flat indices. Neighbours are compared at increasing offsets in the sorted
    candidate list until no pair lies within `distance`; this loops over offsets (a few), not over
    candidates. Suppression by a candidate that is itself suppressed is undone by repeating the pass
    with only surviving candidates allowed to suppress (a chain A > B > C keeps A and C).
    """
    n = positions.size
    lefts, rights = [], []
    left = np.flatnonzero((positions[1:] - positions[:-1] <= distance) & (rows[1:] == rows[:-1]))
    offset = 1
    while left.size:
        lefts.append(left)
        rights.append(left + offset)
        # a pair at the next offset is further apart: only candidates close at this one can have one
        offset += 1
        left = left[left + offset < n]
        right = left + offset
        left = left[(positions[right] - positions[left] <= distance) & (rows[right] == rows[left])]
    alive = np.ones(n, dtype=bool)
    if not lefts:
        return alive
    left, right = np.concatenate(lefts), np.concatenate(rights)
    left_wins = heights[left] >= heights[right]  # ties go to the earlier candidate
    winner, loser = np.where(left_wins, left, right), np.where(left_wins, right, left)
    alive[loser] = False  # first pass: every candidate suppresses
    for _ in range(3):  # then only the surviving ones
        kept = np.ones(n, dtype=bool)
        kept[loser[alive[winner]]] = False
        if np.array_equal(kept, alive):
            break
        alive = kept
    return alive


def _fast_run(candidates, rows, heights, fs, p):
    """Candidates that are beats of a fast, regular rhythm (ventricular tachycardia, flutter, SVT).

    Above about 240 bpm the standard refractory period hides every other beat, and the QRS
    energy, nearly continuous, stands out less from its mean. A candidate is taken for a beat
    whatever its contrast when, among the candidates that survive the short `fast_refractory`, it
    and its two neighbours form a run: both RR intervals shorter than `fast_rr`, within a factor
    `fast_regularity` of each other, and all three energies within a factor 1 / `fast_height_ratio`
    of each other. Noise and T waves between slower beats give irregular intervals or energies.
    """
    selected = np.zeros(candidates.size, dtype=bool)
    short = max(int(round(p["fast_refractory"] * fs)), 1)
    alive = np.flatnonzero(_suppress_non_maxima(candidates, rows, heights, short))
    if alive.size < 3:
        return selected
    position, row, height = candidates[alive], rows[alive], heights[alive]
    rr = np.diff(position).astype(np.float64)
    prev_rr, next_rr = rr[:-1], rr[1:]
    prev_h, h, next_h = height[:-2], height[1:-1], height[2:]
    low = np.minimum(np.minimum(prev_h, h), next_h)
    high = np.maximum(np.maximum(prev_h, h), next_h)
    run = (
        (row[:-2] == row[1:-1])
        & (row[1:-1] == row[2:])
        & (np.maximum(prev_rr, next_rr) < p["fast_rr"] * fs)
        & (np.maximum(prev_rr, next_rr) <= p["fast_regularity"] * np.minimum(prev_rr, next_rr))
        & (low >= p["fast_height_ratio"] * high)
    )
    # the middle candidate of every run, and its neighbours (the run's first and last beats)
    middle = np.flatnonzero(run) + 1
    selected[alive[np.unique(np.concatenate([middle - 1, middle, middle + 1]))]] = True
    return selected


def _detect(signals, fs, params):
    """Core detector on a validated array of shape (n_records, n_samples)."""
    n_records, n_samples = signals.shape
    p = params
    width = max(_odd_width(p["lowpass"], fs), 3)  # short moving average; the long one is 2 * width - 1
    h = width // 2
    lag = max(int(round(p["slope_lag"] * fs)), 1)
    integration = _odd_width(p["integration"], fs)
    k = integration // 2
    step = max(k, 1)  # block of samples sharing one context value (see step 3)
    search = max(int(round(p["search"] * fs)), 1)
    reach = max(int(round(p["baseline"] * fs)), search + _odd_width(p["despike"], fs) // 2)

    # Layout: every record in a row of `row` samples, starting at column `pad`, edge-padded. Each
    # filter is then a few whole-array operations on the flattened rows (shifted slices: much
    # faster than row-by-row 2-D slicing); the padding is wide enough that no output inside a
    # record reads across rows. `pad` and `row` are multiples of `step` for the block thresholds.
    pad = -(-max(2 * h, k, reach) // step) * step
    row = -(-(n_samples + 2 * pad) // step) * step
    n_flat = n_records * row
    # five arrays: the signal, the slope (k extra elements either side), the energy, and two spare
    x, slope_buffer, energy, spare_a, spare_b = _scratch.arrays(5, n_flat + 2 * k)
    x, energy = x[:n_flat], energy[:n_flat]
    amplitude = _to_float32(signals, x.reshape(n_records, row), pad)
    spiky, spiky_amplitude = _remove_spikes(x.reshape(n_records, row), pad, n_samples, fs, p)
    amplitude[spiky] = spiky_amplitude

    # 1-2. band-pass and slope. The band-pass is a moving average over w = 2h + 1 samples (low-pass)
    # minus one over 2w - 1 (high-pass), and the slope its difference `lag` samples either side. All
    # are linear: a box sum differenced over +-lag equals a sum over 2 * lag samples differenced over
    # the box's width, so with `two_lag[j]` = x[j] + ... + x[j + 2 lag - 1],
    #   w * slope[i] = two_lag[i - lag + h + 1] - two_lag[i - lag - h]
    #                  - w / (2w - 1) * (two_lag[i - lag + 2h + 1] - two_lag[i - lag - 2h]).
    # A lag fixed in seconds (not one sample) keeps the same frequency response at every sampling
    # rate. The slope is computed for record columns lag .. n_samples - lag - 1 and repeated outwards
    # from there (k samples into the padding, for the integration below). The slope buffer starts
    # k elements before the layout, so that its integration comes out aligned with the layout.
    two_lag = _running_sum(x, 2 * lag, spare_a[: n_flat - 2 * lag + 1], (slope_buffer, energy))
    slope_buffer = slope_buffer[: n_flat + 2 * k]
    slope = slope_buffer[k : k + n_flat]
    begin, end = 2 * h + lag, n_flat - 2 * h - lag  # the flat range where all four terms exist
    slope_buffer[: k + begin] = 0.0
    slope_buffer[k + end :] = 0.0
    part = slope[begin:end]
    np.subtract(
        two_lag[begin - lag + h + 1 : end - lag + h + 1], two_lag[begin - lag - h : end - lag - h], out=part
    )
    long = np.subtract(
        two_lag[begin - lag + 2 * h + 1 : end - lag + 2 * h + 1],
        two_lag[begin - lag - 2 * h : end - lag - 2 * h],
        out=spare_b[: end - begin],
    )
    long *= width / (2 * width - 1)
    part -= long
    np.abs(part, out=part)
    slope_rows = slope.reshape(n_records, row)
    slope_rows[:, pad - k : pad + lag] = slope_rows[:, pad + lag : pad + lag + 1]
    last = pad + n_samples - lag - 1
    slope_rows[:, last + 1 : pad + n_samples + k] = slope_rows[:, last : last + 1]
    # energy: the slope integrated over about one QRS duration, as a sum of w * slope: `energy_scale`
    # times the mean of the slope over the window. Only the amplitude check in step 3 depends on it.
    _running_sum(slope_buffer, integration, energy, (spare_a, spare_b))
    energy_scale = width * integration
    energy_rows = energy.reshape(n_records, row)

    # 3. candidates: strict local maxima of the energy, away from the record edges, that stand out
    # from the mean energy around them. That mean varies slowly: it is computed on every `step`-th
    # sample only (block centres), and each block of `step` samples is compared with its centre's
    # value; the last, partial block with the last centre's.
    centres = energy_rows[:, pad + step // 2 : pad + n_samples : step]
    context = _moving_average(centres, _odd_width(p["context"], fs / step))
    first, n_centres = pad // step, centres.shape[1]
    blocks = np.empty((n_records, row // step), dtype=np.float32)
    blocks[:, first : first + n_centres] = context
    _fill_edges(blocks, first, n_centres)  # values for the padding do not matter: it is masked out
    flags = spare_a.view(np.bool_)  # spare_a is free again: room for 4 * n_flat flags
    is_peak, above = flags[:n_flat], flags[n_flat : 2 * n_flat]
    np.greater(energy[1:-1], energy[:-2], out=is_peak[1:-1])
    np.greater_equal(energy[1:-1], energy[2:], out=above[1:-1])
    is_peak[1:-1] &= above[1:-1]
    peak_rows = is_peak.reshape(n_records, row)
    peak_rows[:, : pad + 1] = False
    peak_rows[:, pad + n_samples - 1 :] = False
    candidates = np.flatnonzero(is_peak)
    # how far each local maximum stands out from the mean energy around it (its block's context)
    contrast = energy[candidates] / np.maximum(blocks.reshape(-1)[candidates // step], np.finfo(np.float32).tiny)
    keep = contrast > min(p["context_ratio"], p["fast_context_ratio"])
    candidates, contrast = candidates[keep], contrast[keep]
    rows = candidates // row
    heights = energy[candidates]
    # ... and from rounding noise (all-zero and constant records have zero amplitude)
    amplitude = amplitude[rows]
    keep = (heights > 1e-4 * energy_scale * amplitude) & (amplitude > 0)
    candidates, rows, heights, contrast = candidates[keep], rows[keep], heights[keep], contrast[keep]

    refractory = max(int(round(p["refractory"] * fs)), 1)
    strong = contrast > p["context_ratio"]
    alive = np.zeros(candidates.size, dtype=bool)
    alive[strong] = _suppress_non_maxima(candidates[strong], rows[strong], heights[strong], refractory)
    alive |= _fast_run(candidates, rows, heights, fs, p)
    candidates, rows, heights = candidates[alive], rows[alive], heights[alive]

    # 4. local level: geometric mean of the candidate energies within +-level_window (same record),
    # from a cumulative sum over the sorted candidates and two searchsorted window bounds
    half = int(round(p["level_window"] * fs))
    record_start = rows * row + pad
    lo = np.searchsorted(candidates, np.maximum(candidates - half, record_start), side="left")
    hi = np.searchsorted(candidates, np.minimum(candidates + half, record_start + n_samples - 1), side="right")
    cumulative = np.concatenate(([0.0], np.cumsum(np.log(heights, dtype=np.float64))))
    level = np.exp((cumulative[hi] - cumulative[lo]) / (hi - lo))
    is_beat = heights > p["level_ratio"] * level
    if p["t_wave"] > p["refractory"]:
        # T-wave check (Pan & Tompkins): a beat less than `t_wave` s after the previous beat whose
        # steepest slope is under half of the previous beat's is that beat's T wave. A few passes,
        # as dropping one beat gives its successor a new predecessor.
        beat_idx = np.flatnonzero(is_beat)
        steepest = np.zeros(heights.size, dtype=slope.dtype)  # filled for beats only
        steepest[beat_idx] = _windows(slope, candidates[beat_idx], k).max(axis=0)
        for _ in range(3):
            prev, cur = beat_idx[:-1], beat_idx[1:]
            t_wave = (
                (candidates[cur] - candidates[prev] < p["t_wave"] * fs)
                & (rows[cur] == rows[prev])
                & (steepest[cur] < p["t_wave_ratio"] * steepest[prev])
            )
            if not t_wave.any():
                break
            is_beat[cur[t_wave]] = False
            beat_idx = np.flatnonzero(is_beat)
    candidates, rows = candidates[is_beat], rows[is_beat]
    cols = candidates - (rows * row + pad)

    # 5. R peak: extremum of the despiked signal near the energy peak, with the record's polarity.
    # Windows are gathered as columns, (window length, n_peaks), so that the reductions below run
    # across peaks; the padding (edge values) keeps every window inside its record's row.
    half_median = _odd_width(p["despike"], fs) // 2
    window = _windows(x, candidates, reach)
    # polarity: sign of (max - baseline) - (baseline - min) near the peak, summed over the record,
    # the baseline being the mean over +-`baseline` s (mostly the isoelectric segments around)
    baseline = window.mean(axis=0)
    if half_median:
        # A running median over ~10 ms removes pacemaker spikes and single-sample glitches but
        # keeps R waves (20-40 ms wide at half height). Only the gathered windows are filtered.
        near = window[reach - search - half_median : reach + search + half_median + 1]
        near = np.median(np.lib.stride_tricks.sliding_window_view(near, 2 * half_median + 1, axis=0), axis=-1)
    else:
        near = window[reach - search : reach + search + 1]
    dominance = near.max(axis=0) + near.min(axis=0) - 2.0 * baseline
    polarity = np.where(np.bincount(rows, dominance, minlength=n_records) >= 0, 1, -1).astype(near.dtype)
    offset = np.argmax(near * polarity[rows], axis=0) - search  # relative to the energy peak
    if half_median:
        # the running median flattens the R apex into a short plateau: take the apex itself from the
        # unfiltered signal within the median's half-width
        apex_rows = reach + offset + np.arange(-half_median, half_median + 1)[:, None]
        apex = window[apex_rows, np.arange(offset.size)] * polarity[rows]
        offset += np.argmax(apex, axis=0) - half_median
    r_peaks = cols + offset

    # Two energy peaks may lead to the same R peak; an R peak on the record's first or last sample
    # is not a verified extremum (the QRS is cut by the record edge).
    keep = (r_peaks > 0) & (r_peaks < n_samples - 1)
    keep[1:] &= (r_peaks[1:] != r_peaks[:-1]) | (rows[1:] != rows[:-1])
    r_peaks, rows = r_peaks[keep], rows[keep]
    indptr = np.zeros(n_records + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_records), out=indptr[1:])
    return r_peaks.astype(np.int64), indptr


def detect_qrs_batch(signals, sampling_rate):
    """Detect R peaks in every row of a 2-D array of single-lead ECG records.

    Records are processed together, in blocks of about 250,000 samples, with whole-array
    operations (no Python loop over records or beats). See the module docstring for the method.

    Parameters
    ----------
    signals : array-like of shape (n_records, n_samples)
        One single-lead ECG record per row, any real dtype (float16/32/64, integers); computed in
        float32. Units and offset do not matter.
    sampling_rate : float
        Sampling rate in Hz, shared by all records.

    Returns
    -------
    peaks : ndarray of int64 of shape (n_peaks,)
        R-peak sample indices of all records concatenated, sorted within each record.
    indptr : ndarray of int64 of shape (n_records + 1,)
        Record ``i``'s peaks are ``peaks[indptr[i]:indptr[i + 1]]`` (CSR layout).

    Raises
    ------
    ValueError
        If ``signals`` is not 2-D or not real-valued, contains NaN or infinite values, or if
        ``sampling_rate`` is not a positive finite number.

    Notes
    -----
    Flat, all-zero or constant records and records shorter than one refractory period yield no
    peaks. A record that contains no heartbeat at all (pure noise) may still yield peaks; the
    detector has no notion of a minimum signal quality.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk import detect_qrs_batch
    >>> fs = 100.0
    >>> t = np.arange(1000) / fs
    >>> beats = np.arange(0.5, 10, 0.8)  # 75 beats per minute
    >>> ecg = np.exp(-0.5 * ((t[:, None] - beats) / 0.012) ** 2).sum(axis=1)
    >>> signals = np.stack([ecg, -ecg, np.zeros(1000)])  # upright, inverted, flat
    >>> peaks, indptr = detect_qrs_batch(signals, fs)
    >>> indptr.tolist()
    [0, 12, 24, 24]
    >>> peaks[indptr[0]:indptr[1]][:4].tolist()
    [50, 130, 210, 290]
    >>> bool(np.array_equal(peaks[indptr[0]:indptr[1]], peaks[indptr[1]:indptr[2]]))
    True
    """
    x, fs = _validate(signals, sampling_rate, 2)
    return _detect_batch(x, fs)


def _detect_batch(x, fs):
    """`detect_qrs_batch` on a validated 2-D array."""
    n_records, n_samples = x.shape
    if n_records == 0 or n_samples < 2 * max(int(round(_PARAMS["refractory"] * fs)), 1) + 1:
        if not np.isfinite(x).all():
            raise ValueError("signal contains NaN or infinite values; clean or interpolate them first")
        return np.zeros(0, dtype=np.int64), np.zeros(n_records + 1, dtype=np.int64)
    # Records are independent: a large batch goes in blocks whose arrays stay in the CPU caches
    # (and in the reused scratch memory, see `_Scratch`).
    block = max(_BLOCK_SAMPLES // n_samples, 1)
    if n_records <= block:
        return _detect(x, fs, _PARAMS)
    parts = [_detect(x[start : start + block], fs, _PARAMS) for start in range(0, n_records, block)]
    indptr = np.zeros(n_records + 1, dtype=np.int64)
    np.cumsum(np.concatenate([np.diff(part_indptr) for _, part_indptr in parts]), out=indptr[1:])
    return np.concatenate([peaks for peaks, _ in parts]), indptr


def detect_qrs(signal, sampling_rate):
    """Detect R peaks in a single-lead ECG record.

    Same detector as :func:`detect_qrs_batch` (which it calls with one record).

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        Single-lead ECG, any real dtype (float16/32/64, integers). Units and offset do not matter.
    sampling_rate : float
        Sampling rate in Hz.

    Returns
    -------
    ndarray of int64
        Sorted R-peak sample indices, in the input's sampling rate.

    Raises
    ------
    ValueError
        If ``signal`` is not 1-D or not real-valued, contains NaN or infinite values, or if
        ``sampling_rate`` is not a positive finite number.

    Examples
    --------
    >>> import numpy as np
    >>> from heartlang_sk import detect_qrs
    >>> fs = 360.0
    >>> t = np.arange(int(10 * fs)) / fs
    >>> beats = np.arange(0.4, 10, 0.75)  # 80 beats per minute
    >>> ecg = np.exp(-0.5 * ((t[:, None] - beats) / 0.01) ** 2).sum(axis=1)
    >>> ecg += 0.5 * np.sin(2 * np.pi * 0.3 * t)  # baseline wander
    >>> peaks = detect_qrs(ecg, fs)
    >>> np.round(peaks[:3] / fs, 2).tolist()
    [0.4, 1.15, 1.9]
    >>> detect_qrs(np.zeros(3600), fs)
    array([], dtype=int64)
    """
    x, fs = _validate(signal, sampling_rate, 1)
    peaks, _ = _detect_batch(x[None, :], fs)
    return peaks
