"""Decoding inside the graph: a `tf.while_loop` over steps for the whole batch.

A strategy sees the model only through one step callback,
`step_fn(token_ids (batch,), state) -> (logits (batch, vocab), state)`, so it can be
tested with a fake step and used with any model that provides `decode_step`. The state
is any nested structure of tensors whose first dimension is the batch (an LSTM's
[h, c] per layer): beam search reorders it along that dimension.

Every strategy starts from BOS, stops each sequence at its own EOS (padding after it),
ends the loop once every sequence has ended or after `max_len` steps, and returns int32
(batch, max_len) token ids, EOS included. Each also takes the token rules of
`token_rules.py` as one value (`TokenRules`: the minimum length, the n-gram size; sampling
`top_p` too), Python numbers that shape the graph, applied to the step's scores before it
chooses.

keras_hub's samplers were tried on this state cache (benchmarks/decoding.py); they keep
extending a sequence after its EOS until every sequence has one, and their beam search
has no length penalty and keeps scoring finished beams, so the strategies here are the
framework's own.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import tensorflow as tf

from seq2seq.config.command_schema import STRATEGY_KEYS, DecodingConfig
from seq2seq.config.constraints import choices, dispatch_table
from seq2seq.decoding import token_rules
from seq2seq.decoding.beam_search import beam_search, beam_search_n_best, repeat_beams
from seq2seq.decoding.search_loop import StepFn
from seq2seq.decoding.token_rules import NO_RULES, RULE_KEYS, TokenRules
from seq2seq.text.vocabulary import BOS_ID, EOS_ID, PAD_ID


def _token_by_token(choose, step_fn, state, batch_size, max_len, rules=NO_RULES) -> tf.Tensor:
    """The loop shared by greedy search and sampling: one token per sequence per step.

    Args:
        choose: `(logits, t) -> token ids (batch,)`, after `token_rules` forbade what
            `rules` forbid.
    """
    tokens = tf.fill([batch_size], tf.constant(BOS_ID, tf.int32))
    finished = tf.zeros([batch_size], tf.bool)
    # The output at its full size from the start, PAD where no step writes: no shape
    # depends on how many steps ran, so XLA compiles the loop (jit_compile), and it
    # measured faster than a growing TensorArray without XLA too (41 against 45 ms for
    # 1,000 sequences of 11 steps, benchmarks/decoding.py). It is also each row's
    # history, which the n-gram rule reads.
    emitted = tf.fill([batch_size, max_len], tf.constant(PAD_ID, tf.int32))
    positions = tf.range(max_len)

    def not_done(t, tokens, finished, state, emitted):
        return tf.logical_and(t < max_len, tf.logical_not(tf.reduce_all(finished)))

    def step(t, tokens, finished, state, emitted):
        logits, state = step_fn(tokens, state)
        logits = token_rules.apply_rules(logits, emitted, t, rules)
        next_tokens = tf.where(finished, PAD_ID, choose(logits, t))
        finished = tf.logical_or(finished, tf.equal(next_tokens, EOS_ID))
        emitted = tf.where(tf.equal(positions, t)[None, :], next_tokens[:, None], emitted)
        return t + 1, next_tokens, finished, state, emitted

    return tf.while_loop(not_done, step, (tf.constant(0), tokens, finished, state, emitted))[-1]


def greedy_search(
    step_fn: StepFn, state, batch_size, max_len, rules: TokenRules = NO_RULES
) -> tf.Tensor:
    """Feeds back the most likely token at each step.

    Args:
        step_fn: the step callback (see the module docstring).
        state: the initial state for `step_fn`.
        batch_size: int or int32 scalar tensor.
        max_len: int or int32 scalar tensor: the most tokens to emit, EOS included.
        rules: the fewest tokens before EOS may be emitted (its logit is -inf before),
            and the n-gram size no sequence repeats (`token_rules.TokenRules`).

    Returns:
        int32 (batch, max_len): decoded ids, EOS included, PAD after it.
    """

    def most_likely(logits, t):
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    return _token_by_token(most_likely, step_fn, state, batch_size, max_len, rules)


def sample(
    step_fn: StepFn,
    state,
    batch_size,
    max_len,
    temperature=1.0,
    top_k=0,
    seed=0,
    top_p=1.0,
    rules: TokenRules = NO_RULES,
):
    """Draws each token from the softmax of `logits / temperature`.

    In this order: the token rules forbid tokens, the logits are
    divided by the temperature, cut to the `top_k` most likely, then to the nucleus of
    `top_p` (of the distribution left after the temperature and top_k), and the token
    is drawn from what remains, renormalized.

    Args:
        temperature: > 0; below 1 sharpens the distribution, above 1 flattens it.
        top_k: draw among the k most likely tokens only; 0 draws among all.
        seed: with the step index, seeds a stateless draw: the same seed gives the same
            sequences.
        top_p: draw among the smallest set of most likely tokens whose probability
            reaches it (`token_rules.nucleus`); 1 draws among all.
        Others as `greedy_search`.

    Returns:
        int32 (batch, max_len): decoded ids, EOS included, PAD after it.
    """

    def draw(logits, t):
        logits = logits / temperature
        if top_k:
            kth = tf.math.top_k(logits, k=top_k).values[:, -1:]
            logits = tf.where(logits < kth, tf.constant(-1e9, logits.dtype), logits)
        logits = token_rules.nucleus(logits, top_p)
        seeds = tf.stack([tf.cast(seed, tf.int32), t])
        drawn = tf.random.stateless_categorical(logits, 1, seed=seeds, dtype=tf.int32)
        return drawn[:, 0]

    return _token_by_token(draw, step_fn, state, batch_size, max_len, rules)


@dataclass(frozen=True)
class Strategy:
    """A decoding strategy, and how the `decoding` config group reaches it.

    Attributes:
        search: `search(step_fn, state, batch_size, max_len, **options)`.
        options: each keyword of `search` and the `decoding.*` key that sets it, but the
            token rules, which every search takes as one value (`rules`).
        tag: the options in a few characters, for file names and TensorBoard tags.
        copies: how many hypotheses each source keeps (the beam), from the options.
    """

    search: Callable
    options: dict[str, str] = field(default_factory=dict)
    tag: Callable[[dict], str] = lambda options: ""
    copies: Callable[[dict], int] = lambda options: 1


def rules_tag(options: dict) -> str:
    """The token rules' part of a decoding tag: empty at their defaults, so that the tags
    of settings without them stay what they were."""
    rules = options.get("rules", NO_RULES)
    tag = f"-min{rules.min_len}" if rules.min_len else ""
    if rules.no_repeat_ngram_size:
        tag += f"-norep{rules.no_repeat_ngram_size}"
    return tag


def _sample_tag(options: dict) -> str:
    top_p = options.get("top_p", 1.0)
    nucleus = f"-p{top_p:g}" if top_p < 1.0 else ""
    return f"-t{options['temperature']:g}-k{options['top_k']}-s{options['seed']}{nucleus}"


#: Every `decoding.strategy`, by name.
#: The search functions' keyword for a `decoding` key, where the two differ.
KEYWORDS = {"length_penalty": "alpha"}


def strategy_options(strategy: str) -> dict:
    """The search function's keywords for a strategy and the `decoding` keys they are read
    from: the keys whose schema field names it (`STRATEGY_KEYS`, which validation refuses
    under other strategies); the token rules every strategy reads come as one value
    (`decoding_options`)."""
    keys = [key for key, readers in STRATEGY_KEYS.items() if strategy in readers]
    return {KEYWORDS.get(key, key): key for key in keys}


DECODING_STRATEGIES: dict[str, Strategy] = dispatch_table(
    "decoding.strategy",
    choices(DecodingConfig, "strategy"),
    {
        "greedy": Strategy(greedy_search, options=strategy_options("greedy")),
        "beam": Strategy(
            beam_search,
            options=strategy_options("beam"),
            tag=lambda o: f"{o['beam_size']}-lp{o['alpha']:g}",
            copies=lambda o: o["beam_size"],
        ),
        "sample": Strategy(
            sample,
            options=strategy_options("sample"),
            tag=_sample_tag,
        ),
    },
)


def default_max_len(source_len):
    """Twice the source plus two tokens, EOS included: the bound of runs saved before length
    bounds were fitted to the training data (`length_bound.DEFAULT`, which the commands
    use); benchmarks decode an untrained model to it."""
    return 2 * source_len + 2


def decoding_options(decoding_cfg) -> dict[str, object]:
    """The `decode` options a `decoding` config group sets for its strategy: its own
    keywords, and `rules`, the token rules every strategy takes."""
    strategy = DECODING_STRATEGIES[decoding_cfg.strategy]
    options = {keyword: decoding_cfg[key] for keyword, key in strategy.options.items()}
    rules = TokenRules(**{field: decoding_cfg[key] for field, key in RULE_KEYS.items()})
    return {**options, "rules": rules}


def decoding_tag(decoding_cfg) -> str:
    """A short name of the decoding settings, for file names and TensorBoard tags:
    `greedy`, `beam5-lp0`, `sample-t1-k0-s0`; settings away from their defaults add
    `-p0.9` (top_p), `-min3` (min_tokens), `-norep2` (no_repeat_ngram_size)."""
    strategy = DECODING_STRATEGIES[decoding_cfg.strategy]
    options = decoding_options(decoding_cfg)
    return decoding_cfg.strategy + strategy.tag(options) + rules_tag(options)


def decode(model, encoder_token_ids, max_len, strategy="greedy", **options) -> tf.Tensor:
    """Decodes a batch of sources with a Seq2Seq model.

    Args:
        model: a model with `encode`, `initial_decoder_state` and `decode_step`.
        encoder_token_ids: int32 (batch, source_len), padded with PAD.
        max_len: the most tokens to emit per sequence, EOS included.
        strategy: a name in `DECODING_STRATEGIES`: `greedy`, `beam` or `sample`.
        **options: the strategy's options: `beam_size` and `alpha` for beam;
            `temperature`, `top_k`, `seed` and `top_p` for sample; `rules`
            (`token_rules.TokenRules`) for each of them.

    Returns:
        int32 (batch, max_len) token ids, EOS included, PAD after it.

    Raises:
        ValueError: for a strategy that does not exist.
    """
    if strategy not in DECODING_STRATEGIES:
        raise ValueError(
            f"`strategy` must be one of {list(DECODING_STRATEGIES)}. Received: strategy={strategy!r}"
        )
    chosen = DECODING_STRATEGIES[strategy]
    encoded = model.encode(encoder_token_ids, training=False)
    state = model.initial_decoder_state(encoded)
    batch_size = tf.shape(encoder_token_ids)[0]
    copies = chosen.copies(options)
    if copies > 1:  # what the step closes over (attention memory) follows the beams
        encoded = repeat_beams(encoded, copies)

    def step_fn(token_ids, state):
        return model.decode_step(token_ids, state, encoded)

    return chosen.search(step_fn, state, batch_size, max_len, **options)


def decode_n_best(
    model,
    encoder_token_ids,
    max_len,
    beam_size: int,
    alpha: float,
    n_best: int,
    rules: TokenRules = NO_RULES,
) -> tuple:
    """The `n_best` best hypotheses of beam search for each source, with their log-probabilities.

    Args:
        model, encoder_token_ids, max_len: as `decode`.
        beam_size, alpha, n_best, rules: as `beam_search_n_best`.

    Returns:
        `(ids, log_probs)`: int32 (batch, n_best, max_len) and float32 (batch, n_best).
    """
    encoded = model.encode(encoder_token_ids, training=False)
    state = model.initial_decoder_state(encoded)
    encoded = repeat_beams(encoded, beam_size)  # what each step reads follows the beams

    def step_fn(token_ids, state):
        return model.decode_step(token_ids, state, encoded)

    batch_size = tf.shape(encoder_token_ids)[0]
    return beam_search_n_best(step_fn, state, batch_size, max_len, beam_size, alpha, n_best, rules)


def greedy_decode(model, encoder_token_ids, max_len) -> tf.Tensor:
    """Greedy decoding of a batch of sources: `decode(..., strategy="greedy")`."""
    return decode(model, encoder_token_ids, max_len, "greedy")
